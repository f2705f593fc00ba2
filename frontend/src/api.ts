/**
 * The submissions API's HTTP client: create a submission, read its state, and the live stream's URL.
 * Reading needs the access token that creating handed over: as `Authorization: Bearer <token>` on the
 * API, and as the `access_token` query parameter on the live stream (an EventSource sends no headers).
 * Following a submission live is in watch.ts.
 */

import type { RuntimeConfig } from "./config";
import { isSubmissionState, type SubmissionState } from "./types";
import { FIELD_NAMES, type FieldName, type SubmissionInput } from "./validation";

export type ServerFieldErrors = Partial<Record<FieldName, string[]>>;

export type CreateResult =
  | {
      kind: "created";
      id: string;
      status: string;
      statusUrl: string;
      accessToken: string;
      accessExpiresAt: string | null;
    }
  | { kind: "invalid"; fieldErrors: ServerFieldErrors; formErrors: string[] }
  | { kind: "rate-limited"; retryAfterSeconds: number | null }
  | { kind: "server-error"; status: number }
  | { kind: "unexpected"; status: number }
  | { kind: "network-error" };

export type GetResult =
  | { kind: "ok"; state: SubmissionState }
  | { kind: "not-found" }
  /** 401: no token was sent; 403: the token is wrong or has expired. */
  | { kind: "no-access"; status: 401 | 403 }
  | { kind: "error"; message: string };

export interface ApiOptions {
  /** fetch to use (tests pass their own). */
  fetch?: typeof fetch;
  /** EventSource constructor; null to never use server-sent events. */
  EventSource?: typeof EventSource | null;
  /** Time between two reads when polling (ms). */
  pollIntervalMs?: number;
  /** Give up on one request after this long (ms). */
  requestTimeoutMs?: number;
  /** Fall back to polling when the live stream has shown nothing for this long (ms). */
  streamStallMs?: number;
}

export interface Api {
  /** The runtime configuration (a plain address: that address for both, and no demo controls). */
  config(): Promise<RuntimeConfig>;
  createSubmission(input: SubmissionInput): Promise<CreateResult>;
  getSubmission(id: string, token: string): Promise<GetResult>;
  eventsUrl(id: string, token: string): Promise<string>;
  readonly EventSource: typeof EventSource | null;
  readonly pollIntervalMs: number;
  readonly streamStallMs: number;
}

// The API's own words for a filled honeypot ("Leave this field empty.") point at a field nobody can see.
const HONEYPOT_FILLED =
  "The form was refused as automated: a hidden field that must stay empty was filled in (some autofill tools do " +
  "this). Reload the page and send it again.";

function asMessages(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((item) => String(item));
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(asMessages);
  return [];
}

/** A 400 body → messages per known field, and the rest for the form as a whole. */
export function parseValidationErrors(body: unknown): { fieldErrors: ServerFieldErrors; formErrors: string[] } {
  const fieldErrors: ServerFieldErrors = {};
  const formErrors: string[] = [];
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const [key, value] of Object.entries(body)) {
      const messages = asMessages(value);
      if (messages.length === 0) continue;
      if ((FIELD_NAMES as readonly string[]).includes(key)) {
        fieldErrors[key as FieldName] = messages;
      } else if (key === "non_field_errors" || key === "detail") {
        formErrors.push(...messages);
      } else if (key === "website") {
        formErrors.push(HONEYPOT_FILLED);
      } else {
        formErrors.push(...messages.map((message) => `${key}: ${message}`));
      }
    }
  } else {
    formErrors.push(...asMessages(body));
  }
  if (Object.keys(fieldErrors).length === 0 && formErrors.length === 0) {
    formErrors.push("The server did not accept the submission.");
  }
  return { fieldErrors, formErrors };
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * The API at `config` (its /config.json, possibly still loading). A plain address serves both the
 * API and the live stream.
 */
export function createApi(
  config: string | RuntimeConfig | Promise<string | RuntimeConfig>,
  options: ApiOptions = {},
): Api {
  const doFetch: typeof fetch = options.fetch ?? ((...args) => fetch(...args));
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const bases: Promise<RuntimeConfig> = Promise.resolve(config).then((value) =>
    typeof value === "string" ? { apiBase: value, streamBase: value, demoControls: false } : value,
  );
  const url = async (path: string) => `${(await bases).apiBase}${path}`;
  const submissionPath = (id: string) => `/api/submissions/${encodeURIComponent(id)}/`;

  async function withTimeout<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
    try {
      return await run(controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    EventSource:
      options.EventSource === undefined
        ? typeof globalThis.EventSource === "function"
          ? globalThis.EventSource
          : null
        : options.EventSource,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    streamStallMs: options.streamStallMs ?? 5000,

    config: () => bases,

    async createSubmission(input) {
      let response: Response;
      try {
        response = await withTimeout(async (signal) =>
          doFetch(await url("/api/submissions/"), {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify(input),
            signal,
          }),
        );
      } catch {
        return { kind: "network-error" };
      }
      if (response.status === 201 || response.status === 200) {
        const body = (await readJson(response)) as Record<string, unknown> | null;
        if (body && typeof body.id === "string") {
          return {
            kind: "created",
            id: body.id,
            status: typeof body.status === "string" ? body.status : "RECEIVED",
            statusUrl: typeof body.status_url === "string" ? body.status_url : "",
            accessToken: typeof body.access_token === "string" ? body.access_token : "",
            accessExpiresAt: typeof body.access_expires_at === "string" ? body.access_expires_at : null,
          };
        }
        return { kind: "unexpected", status: response.status };
      }
      if (response.status === 400) {
        return { kind: "invalid", ...parseValidationErrors(await readJson(response)) };
      }
      if (response.status === 429) {
        const header = Number(response.headers.get("Retry-After"));
        return { kind: "rate-limited", retryAfterSeconds: Number.isFinite(header) && header > 0 ? header : null };
      }
      if (response.status >= 500) return { kind: "server-error", status: response.status };
      return { kind: "unexpected", status: response.status };
    },

    async getSubmission(id, token) {
      const headers: Record<string, string> = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      let response: Response;
      try {
        response = await withTimeout(async (signal) => doFetch(await url(submissionPath(id)), { headers, signal }));
      } catch {
        return { kind: "error", message: "Could not reach the server." };
      }
      if (response.status === 404) return { kind: "not-found" };
      if (response.status === 401 || response.status === 403) return { kind: "no-access", status: response.status };
      if (!response.ok) return { kind: "error", message: `The server answered with HTTP ${response.status}.` };
      const body = await readJson(response);
      if (!isSubmissionState(body)) return { kind: "error", message: "The server sent an unreadable answer." };
      return { kind: "ok", state: body };
    },

    async eventsUrl(id, token) {
      // The live stream has its own server (config.streamBase), not the API's.
      const address = `${(await bases).streamBase}/api/submissions/${encodeURIComponent(id)}/events`;
      return token ? `${address}?access_token=${encodeURIComponent(token)}` : address;
    },
  };
}
