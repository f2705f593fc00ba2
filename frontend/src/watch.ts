/**
 * Following one submission live: the first read, then the server-sent event stream, falling back to
 * polling while the stream is away, until the submission's status is final.
 */

import type { Api } from "./api";
import { isFinalStatus, isSubmissionState, type SubmissionState } from "./types";

export type Connection = "connecting" | "live" | "polling" | "final";

export interface WatchHandlers {
  onState(state: SubmissionState): void;
  onNotFound(): void;
  /** No token, or the server refused it (401: none sent; 403: wrong or expired): nothing more is read. */
  onNoAccess(status: 401 | 403): void;
  onConnection(connection: Connection): void;
  /** A problem reaching the server (null once it is answering again). */
  onProblem(message: string | null): void;
}

/**
 * Follows one submission, with its access token, until its status is final: a first read, then the
 * server-sent event stream; when the stream fails (or EventSource is missing) it polls the state
 * every interval. Returns a function that stops everything.
 */
export function watchSubmission(api: Api, id: string, token: string, handlers: WatchHandlers): () => void {
  let stopped = false;
  let finished = false;
  let source: EventSource | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let stallTimer: ReturnType<typeof setTimeout> | null = null;

  const closeStream = () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = null;
    if (source) source.close();
    source = null;
  };

  const stop = () => {
    stopped = true;
    closeStream();
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  };

  const deliver = (state: SubmissionState) => {
    if (stopped || finished) return;
    handlers.onState(state);
    if (isFinalStatus(state.status)) {
      finished = true;
      handlers.onConnection("final");
      stop();
    }
  };

  /** One read; false when there is nothing more to do (gone, or stopped). */
  const readOnce = async (): Promise<boolean> => {
    const result = await api.getSubmission(id, token);
    if (stopped) return false;
    if (result.kind === "not-found") {
      handlers.onNotFound();
      stop();
      return false;
    }
    if (result.kind === "no-access") {
      // Asking again with the same token cannot go better: stop rather than retry forever.
      handlers.onNoAccess(result.status);
      stop();
      return false;
    }
    if (result.kind === "error") {
      handlers.onProblem(result.message);
      return true;
    }
    handlers.onProblem(null);
    deliver(result.state);
    return !stopped;
  };

  const poll = async () => {
    pollTimer = null;
    if (stopped) return;
    if (await readOnce()) pollTimer = setTimeout(poll, api.pollIntervalMs);
  };

  const fallBackToPolling = () => {
    closeStream();
    if (stopped || pollTimer) return;
    handlers.onConnection("polling");
    void poll();
  };

  const armStallTimer = () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      // Neither opened nor said anything: do not wait on it any longer.
      if (!stopped) fallBackToPolling();
    }, api.streamStallMs);
  };

  const openStream = async () => {
    const EventSourceImpl = api.EventSource;
    if (!EventSourceImpl) {
      fallBackToPolling();
      return;
    }
    const streamUrl = await api.eventsUrl(id, token);
    if (stopped) return;
    try {
      source = new EventSourceImpl(streamUrl);
    } catch {
      fallBackToPolling();
      return;
    }
    armStallTimer();
    source.addEventListener("open", () => {
      if (stallTimer) clearTimeout(stallTimer);
      stallTimer = null;
      if (!stopped) handlers.onConnection("live");
    });
    source.addEventListener("state", (event) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse((event as MessageEvent<string>).data);
      } catch {
        parsed = null;
      }
      if (!isSubmissionState(parsed)) {
        fallBackToPolling();
        return;
      }
      if (stallTimer) clearTimeout(stallTimer);
      stallTimer = null;
      handlers.onConnection("live");
      handlers.onProblem(null);
      deliver(parsed);
    });
    source.addEventListener("error", () => {
      // Before a final state an error means the stream is gone or never worked: poll instead.
      if (!stopped) fallBackToPolling();
    });
  };

  if (!token) {
    handlers.onNoAccess(401);
    stop();
    return stop;
  }
  handlers.onConnection("connecting");
  void (async () => {
    const goOn = await readOnce();
    if (!goOn || stopped) return;
    await openStream();
  })();

  return stop;
}
