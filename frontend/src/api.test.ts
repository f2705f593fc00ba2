import { describe, expect, it, vi } from "vitest";
import { createApi, parseValidationErrors } from "./api";
import { jsonResponse } from "./test/fixtures";

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
    const fetchMock = vi.fn(async () => jsonResponse(201, { id: "abc", status: "RECEIVED", status_url: "u" }));
    const api = createApi(base, { fetch: fetchMock as unknown as typeof fetch });
    const pending = api.createSubmission({ name: "A", email: "a@b.co", company: "", message: "m", demo_fail_at: "" });
    await Promise.resolve();
    expect(fetchMock).not.toHaveBeenCalled();
    resolveBase("http://configured:5000");
    await expect(pending).resolves.toEqual({ kind: "created", id: "abc", status: "RECEIVED", statusUrl: "u" });
    expect(fetchMock).toHaveBeenCalledWith("http://configured:5000/api/submissions/", expect.objectContaining({ method: "POST" }));
  });

  it("follows the live stream on its own server and calls the API on the API's", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(404, {}));
    const config = Promise.resolve({ apiBase: "http://api:5000", streamBase: "http://live:5001" });
    const api = createApi(config, { fetch: fetchMock as unknown as typeof fetch });
    await expect(api.eventsUrl("a b")).resolves.toBe("http://live:5001/api/submissions/a%20b/events");
    await api.getSubmission("x");
    expect(fetchMock).toHaveBeenCalledWith("http://api:5000/api/submissions/x/", expect.anything());
    // A plain address serves both (one origin behind a proxy).
    await expect(createApi("http://one").eventsUrl("x")).resolves.toBe("http://one/api/submissions/x/events");
  });

  it("maps answers to outcomes", async () => {
    const answers = [
      jsonResponse(429, { detail: "Request was throttled. Expected available in 42 seconds." }, { "Retry-After": "42" }),
      jsonResponse(502, undefined),
      jsonResponse(403, { detail: "CSRF" }),
    ];
    const fetchMock = vi.fn(async () => answers.shift() as Response);
    const api = createApi("http://x", { fetch: fetchMock as unknown as typeof fetch });
    const input = { name: "A", email: "a@b.co", company: "", message: "m", demo_fail_at: "" as const };
    await expect(api.createSubmission(input)).resolves.toEqual({ kind: "rate-limited", retryAfterSeconds: 42 });
    await expect(api.createSubmission(input)).resolves.toEqual({ kind: "server-error", status: 502 });
    await expect(api.createSubmission(input)).resolves.toEqual({ kind: "unexpected", status: 403 });
  });
});
