import { describe, expect, it, vi } from "vitest";
import { createApi, parseValidationErrors } from "./api";
import { watchSubmission, type WatchHandlers } from "./watch";
import { FakeEventSource } from "./test/fakeEventSource";
import { ACCESS_TOKEN, createdBody, inFlightRun, jsonResponse } from "./test/fixtures";

const INPUT = { name: "A", email: "a@b.co", company: "", message: "m", demo_fail_at: "" as const, website: "" };

function handlers() {
  return {
    onState: vi.fn<WatchHandlers["onState"]>(),
    onNotFound: vi.fn<WatchHandlers["onNotFound"]>(),
    onNoAccess: vi.fn<WatchHandlers["onNoAccess"]>(),
    onConnection: vi.fn<WatchHandlers["onConnection"]>(),
    onProblem: vi.fn<WatchHandlers["onProblem"]>(),
  } satisfies WatchHandlers;
}

/** The headers of one fetch call, whatever form they were given in. */
function headersOf(call: unknown[]): Headers {
  return new Headers((call[1] as RequestInit | undefined)?.headers);
}

describe("parseValidationErrors", () => {
  it("puts known fields at their fields and the rest on the form", () => {
    expect(
      parseValidationErrors({
        name: ["This field may not be blank."],
        email: ["Enter a valid email address.", "Second problem."],
        non_field_errors: ["Whole form."],
        surprise: ["Odd."],
      }),
    ).toEqual({
      fieldErrors: { name: ["This field may not be blank."], email: ["Enter a valid email address.", "Second problem."] },
      formErrors: ["Whole form.", "surprise: Odd."],
    });
  });

  it("puts a refused honeypot on the form, in words a person understands", () => {
    const { fieldErrors, formErrors } = parseValidationErrors({ website: ["Leave this field empty."] });
    expect(fieldErrors).toEqual({});
    expect(formErrors).toHaveLength(1);
    expect(formErrors[0]).toMatch(/hidden field that must stay empty was filled in/);
    expect(formErrors[0]).not.toMatch(/^website:/);
  });

  it("never comes back empty", () => {
    expect(parseValidationErrors(null).formErrors).toHaveLength(1);
  });
});

describe("createApi", () => {
  it("waits for the configured base address before calling", async () => {
    let resolveBase: (base: string) => void = () => {};
    const base = new Promise<string>((resolve) => {
      resolveBase = resolve;
    });
    const fetchMock = vi.fn(async () => jsonResponse(201, createdBody("abc")));
    const api = createApi(base, { fetch: fetchMock as unknown as typeof fetch });
    const pending = api.createSubmission(INPUT);
    await Promise.resolve();
    expect(fetchMock).not.toHaveBeenCalled();
    resolveBase("http://configured:5000");
    await expect(pending).resolves.toEqual({
      kind: "created",
      id: "abc",
      status: "RECEIVED",
      statusUrl: "http://api.test/api/submissions/abc/",
      accessToken: ACCESS_TOKEN,
      accessExpiresAt: "2025-03-02T10:00:00.000100Z",
    });
    expect(fetchMock).toHaveBeenCalledWith("http://configured:5000/api/submissions/", expect.objectContaining({ method: "POST" }));
  });

  it("follows the live stream on its own server and calls the API on the API's", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(404, {}));
    const config = Promise.resolve({ apiBase: "http://api:5000", streamBase: "http://live:5001", demoControls: true });
    const api = createApi(config, { fetch: fetchMock as unknown as typeof fetch });
    await expect(api.eventsUrl("a b", "t")).resolves.toBe("http://live:5001/api/submissions/a%20b/events?access_token=t");
    await api.getSubmission("x", "t");
    expect(fetchMock).toHaveBeenCalledWith("http://api:5000/api/submissions/x/", expect.anything());
    await expect(api.config()).resolves.toEqual({ apiBase: "http://api:5000", streamBase: "http://live:5001", demoControls: true });
    // A plain address serves both (one origin behind a proxy), without demo controls.
    const plain = createApi("http://one");
    await expect(plain.eventsUrl("x", "t")).resolves.toBe("http://one/api/submissions/x/events?access_token=t");
    await expect(plain.config()).resolves.toEqual({ apiBase: "http://one", streamBase: "http://one", demoControls: false });
  });

  it("sends the access token as a Bearer header when reading, and only there", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, inFlightRun()));
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch });
    await expect(api.getSubmission("abc", ACCESS_TOKEN)).resolves.toMatchObject({ kind: "ok" });
    const [url] = fetchMock.mock.calls[0] as unknown as [string];
    expect(url).toBe("http://x/api/submissions/abc/");
    expect(url).not.toContain(ACCESS_TOKEN);
    expect(headersOf(fetchMock.mock.calls[0] as unknown[]).get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
    // Creating sends no token: there is none yet.
    fetchMock.mockResolvedValueOnce(jsonResponse(201, createdBody()));
    await api.createSubmission(INPUT);
    expect(headersOf(fetchMock.mock.calls[1] as unknown[]).has("Authorization")).toBe(false);
  });

  it("puts the token, URL-encoded, in the stream's query (an EventSource sends no headers)", async () => {
    const api = createApi("http://x");
    await expect(api.eventsUrl("abc", "a+b/c=d&e")).resolves.toBe(
      "http://x/api/submissions/abc/events?access_token=a%2Bb%2Fc%3Dd%26e",
    );
  });

  it("tells a refused token (401, 403) from other failures", async () => {
    const answers = [
      jsonResponse(401, { detail: "This submission's details need its access token." }),
      jsonResponse(403, { detail: "This access token has expired." }),
      jsonResponse(500, undefined),
    ];
    const fetchMock = vi.fn(async () => answers.shift() as Response);
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch });
    await expect(api.getSubmission("abc", "")).resolves.toEqual({ kind: "no-access", status: 401 });
    expect(headersOf(fetchMock.mock.calls[0] as unknown[]).has("Authorization")).toBe(false);
    await expect(api.getSubmission("abc", "old")).resolves.toEqual({ kind: "no-access", status: 403 });
    await expect(api.getSubmission("abc", "t")).resolves.toMatchObject({ kind: "error" });
  });

  it("maps answers to outcomes", async () => {
    const answers = [
      jsonResponse(429, { detail: "Request was throttled. Expected available in 42 seconds." }, { "Retry-After": "42" }),
      jsonResponse(502, undefined),
      jsonResponse(403, { detail: "CSRF" }),
    ];
    const fetchMock = vi.fn(async () => answers.shift() as Response);
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch });
    await expect(api.createSubmission(INPUT)).resolves.toEqual({ kind: "rate-limited", retryAfterSeconds: 42 });
    await expect(api.createSubmission(INPUT)).resolves.toEqual({ kind: "server-error", status: 502 });
    await expect(api.createSubmission(INPUT)).resolves.toEqual({ kind: "unexpected", status: 403 });
  });
});

describe("watchSubmission", () => {
  it("reads nothing without a token, and says why", () => {
    const fetchMock = vi.fn();
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch, EventSource: null });
    const watching = handlers();
    watchSubmission(api, "abc", "", watching);
    expect(watching.onNoAccess).toHaveBeenCalledWith(401);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("stops polling once the server refuses the token", async () => {
    const answers = [jsonResponse(200, inFlightRun()), jsonResponse(403, { detail: "This access token has expired." })];
    const fetchMock = vi.fn(async () => answers.shift() ?? jsonResponse(200, inFlightRun()));
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch, EventSource: null, pollIntervalMs: 5 });
    const watching = handlers();
    watchSubmission(api, "abc", ACCESS_TOKEN, watching);
    await vi.waitFor(() => expect(watching.onNoAccess).toHaveBeenCalledWith(403));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(watching.onProblem).not.toHaveBeenCalledWith(expect.any(String));
  });

  it("opens the stream with the token, and polls (with the header) when the stream fails", async () => {
    FakeEventSource.reset();
    const fetchMock = vi.fn(async () => jsonResponse(200, inFlightRun()));
    const api = createApi("http://x", {
      fetch: fetchMock as unknown as typeof fetch,
      EventSource: FakeEventSource as unknown as typeof EventSource,
      pollIntervalMs: 5,
    });
    const stop = watchSubmission(api, "abc", ACCESS_TOKEN, handlers());
    await vi.waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(FakeEventSource.last.url).toBe(`http://x/api/submissions/abc/events?access_token=${ACCESS_TOKEN}`);
    // A 401, 403 or 429 on the stream reaches an EventSource only as an error.
    FakeEventSource.last.fail();
    await vi.waitFor(() => expect(fetchMock.mock.calls.length).toBeGreaterThanOrEqual(2));
    stop();
    for (const call of fetchMock.mock.calls) {
      expect(headersOf(call as unknown[]).get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
    }
  });
});
