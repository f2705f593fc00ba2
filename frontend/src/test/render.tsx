import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { createApi, type ApiOptions } from "../api";
import { ApiProvider } from "../ApiContext";
import { App } from "../App";
import type { RuntimeConfig } from "../config";

export const API_BASE = "http://api.test";

export interface RenderOptions extends Partial<ApiOptions> {
  /** What /config.json would say; by default one address for both and no demo controls. */
  config?: Partial<RuntimeConfig>;
}

/** Renders the whole app at `path`, talking to a fake API through `fetchMock`. */
export function renderApp(path: string, fetchMock: ReturnType<typeof vi.fn>, { config, ...options }: RenderOptions = {}) {
  const runtime: RuntimeConfig = { apiBase: API_BASE, streamBase: API_BASE, demoControls: false, ...config };
  const api = createApi(runtime, {
    fetch: fetchMock as unknown as typeof fetch,
    EventSource: null,
    pollIntervalMs: 10,
    ...options,
  });
  return render(
    <ApiProvider api={api}>
      <MemoryRouter initialEntries={[path]}>
        <App />
      </MemoryRouter>
    </ApiProvider>,
  );
}
