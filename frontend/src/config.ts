/**
 * Runtime configuration: the server that serves this app answers GET /config.json with
 * {"apiBase": "..."}; the same build can therefore talk to any API without being rebuilt.
 */

export const DEFAULT_API_BASE = "http://localhost:5000";
const CONFIG_TIMEOUT_MS = 3000;

function cleanBase(value: string): string {
  return value.trim().replace(/\/+$/, "");
}

/** The API's base address from /config.json, or the default when that cannot be had. */
export async function loadApiBase(
  fetchImpl: typeof fetch = (...args) => fetch(...args),
  timeoutMs: number = CONFIG_TIMEOUT_MS,
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchImpl("/config.json", {
      cache: "no-store",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    });
    if (!response.ok) return DEFAULT_API_BASE;
    const body: unknown = await response.json();
    const apiBase = (body as { apiBase?: unknown } | null)?.apiBase;
    if (typeof apiBase === "string" && cleanBase(apiBase) !== "") return cleanBase(apiBase);
    return DEFAULT_API_BASE;
  } catch {
    return DEFAULT_API_BASE;
  } finally {
    clearTimeout(timer);
  }
}
