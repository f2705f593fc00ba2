import { describe, expect, it, vi } from "vitest";
import { DEFAULT_API_BASE, loadApiBase } from "./config";
import { jsonResponse } from "./test/fixtures";

describe("loadApiBase", () => {
  it("reads apiBase from /config.json (a relative URL)", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, { apiBase: "https://api.example.org/" }));
    await expect(loadApiBase(fetchMock as unknown as typeof fetch)).resolves.toBe("https://api.example.org");
    expect(fetchMock).toHaveBeenCalledWith("/config.json", expect.anything());
  });

  it("falls back to the default when the fetch fails, answers an error, or has no apiBase", async () => {
    const failing = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(loadApiBase(failing as unknown as typeof fetch)).resolves.toBe(DEFAULT_API_BASE);
    const notFound = vi.fn(async () => jsonResponse(404, {}));
    await expect(loadApiBase(notFound as unknown as typeof fetch)).resolves.toBe(DEFAULT_API_BASE);
    const empty = vi.fn(async () => jsonResponse(200, { apiBase: "" }));
    await expect(loadApiBase(empty as unknown as typeof fetch)).resolves.toBe(DEFAULT_API_BASE);
    const html = vi.fn(async () => new Response("<!doctype html>", { status: 200 }));
    await expect(loadApiBase(html as unknown as typeof fetch)).resolves.toBe(DEFAULT_API_BASE);
    expect(DEFAULT_API_BASE).toBe("http://localhost:5000");
  });

  it("gives up on a config request that hangs", async () => {
    const hanging = vi.fn(
      (_url: string, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    await expect(loadApiBase(hanging as unknown as typeof fetch, 20)).resolves.toBe(DEFAULT_API_BASE);
  });
});
