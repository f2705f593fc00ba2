/**
 * Runtime configuration: the server that serves this app answers GET /config.json with
 * {"apiBase": "...", "streamBase": "...", "demoControls": false}; the same build can therefore talk to
 * any API without being rebuilt. streamBase is the live-progress stream's own server; without it the
 * API's address serves the stream too (one origin behind a proxy). demoControls shows the form's
 * "make a step fail" control; the API refuses that field unless it is switched on there too.
 */

export const DEFAULT_API_BASE = "http://localhost:5000";
export const DEFAULT_STREAM_BASE = "http://localhost:5001";
const CONFIG_TIMEOUT_MS = 3000;

function cleanBase(value: string): string {
  return value.trim().replace(/\/+$/, "");
}

export interface RuntimeConfig {
  apiBase: string;
  streamBase: string;
  demoControls: boolean;
}

export const DEFAULT_CONFIG: RuntimeConfig = {
  apiBase: DEFAULT_API_BASE,
  streamBase: DEFAULT_STREAM_BASE,
  demoControls: false,
};

function baseOf(body: unknown, key: "apiBase" | "streamBase"): string | null {
  const value = (body as Record<string, unknown> | null)?.[key];
  return typeof value === "string" && cleanBase(value) !== "" ? cleanBase(value) : null;
}

/** The addresses and switches from /config.json, or the defaults when that cannot be had. */
export async function loadConfig(
  fetchImpl: typeof fetch = (...args) => fetch(...args),
  timeoutMs: number = CONFIG_TIMEOUT_MS,
): Promise<RuntimeConfig> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchImpl("/config.json", {
      cache: "no-store",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    });
    if (!response.ok) return DEFAULT_CONFIG;
    const body: unknown = await response.json();
    const apiBase = baseOf(body, "apiBase");
    const streamBase = baseOf(body, "streamBase");
    return {
      apiBase: apiBase ?? DEFAULT_API_BASE,
      streamBase: streamBase ?? apiBase ?? DEFAULT_STREAM_BASE,
      // Off unless the server says so plainly: a string "true" or a 1 is a mistake, not a yes.
      demoControls: (body as Record<string, unknown> | null)?.demoControls === true,
    };
  } catch {
    return DEFAULT_CONFIG;
  } finally {
    clearTimeout(timer);
  }
}
