/** A stand-in for the browser's EventSource (jsdom has none) that tests drive by hand. */
export class FakeEventSource extends EventTarget {
  static instances: FakeEventSource[] = [];
  static reset() {
    FakeEventSource.instances = [];
  }
  static get last(): FakeEventSource {
    const source = FakeEventSource.instances.at(-1);
    if (!source) throw new Error("no EventSource was opened");
    return source;
  }

  readonly url: string;
  closed = false;

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    FakeEventSource.instances.push(this);
  }

  close() {
    this.closed = true;
  }

  open() {
    this.dispatchEvent(new Event("open"));
  }

  sendState(state: unknown) {
    this.dispatchEvent(new MessageEvent("state", { data: JSON.stringify(state) }));
  }

  fail() {
    this.dispatchEvent(new Event("error"));
  }
}
