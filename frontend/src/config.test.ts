import { describe, expect, it, vi } from "vitest";
import { DEFAULT_API_BASE, DEFAULT_CONFIG, DEFAULT_STREAM_BASE, loadConfig } from "./config";
import { jsonResponse } from "./test/fixtures";

describe("loadConfig", () => {
  it("reads apiBase and streamBase from /config.json (a relative URL)", async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse(200, { apiBase: "https://api.example.org/", streamBase: "https://live.example.org/" }),
    );
    await expect(loadConfig(fetchMock as unknown as typeof fetch)).resolves.toEqual({
      apiBase: "https://api.example.org",
      streamBase: "https://live.example.org",
      demoControls: false,
    });
    expect(fetchMock).toHaveBeenCalledWith("/config.json", expect.anything());
  });

  it("turns the demo controls on for a JSON true only", async () => {
    const demoControlsOf = async (body: Record<string, unknown>) => {
      const fetchMock = vi.fn(async () => jsonResponse(200, { apiBase: "https://api.example.org", ...body }));
      return (await loadConfig(fetchMock as unknown as typeof fetch)).demoControls;
    };
    await expect(demoControlsOf({ demoControls: true })).resolves.toBe(true);
    await expect(demoControlsOf({})).resolves.toBe(false);
    await expect(demoControlsOf({ demoControls: false })).resolves.toBe(false);
    for (const odd of ["true", "yes", 1, null, [true], { on: true }]) {
      await expect(demoControlsOf({ demoControls: odd }), JSON.stringify(odd)).resolves.toBe(false);
    }
  });

  it("lets the API's address serve the stream when the config names no streamBase", async () => {
    const older = vi.fn(async () => jsonResponse(200, { apiBase: "https://api.example.org" }));
    await expect(loadConfig(older as unknown as typeof fetch)).resolves.toEqual({
      apiBase: "https://api.example.org",
      streamBase: "https://api.example.org",
      demoControls: false,
    });
    const blank = vi.fn(async () => jsonResponse(200, { apiBase: "https://api.example.org", streamBase: " " }));
    await expect(loadConfig(blank as unknown as typeof fetch)).resolves.toEqual({
      apiBase: "https://api.example.org",
      streamBase: "https://api.example.org",
      demoControls: false,
    });
  });

  it("falls back to the defaults (no demo controls) when the fetch fails, answers an error, or has no addresses", async () => {
    const failing = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(loadConfig(failing as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    const notFound = vi.fn(async () => jsonResponse(404, {}));
    await expect(loadConfig(notFound as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    const empty = vi.fn(async () => jsonResponse(200, { apiBase: "" }));
    await expect(loadConfig(empty as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    const html = vi.fn(async () => new Response("<!doctype html>", { status: 200 }));
    await expect(loadConfig(html as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toEqual({ apiBase: DEFAULT_API_BASE, streamBase: DEFAULT_STREAM_BASE, demoControls: false });
    expect(DEFAULT_API_BASE).toBe("http://localhost:5000");
    expect(DEFAULT_STREAM_BASE).toBe("http://localhost:5001");
  });

  it("gives up on a config request that hangs", async () => {
    const hanging = vi.fn(
      (_url: string, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    await expect(loadConfig(hanging as unknown as typeof fetch, 20)).resolves.toEqual(DEFAULT_CONFIG);
  });
});
