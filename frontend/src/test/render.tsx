import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { createApi, type ApiOptions } from "../api";
import { ApiProvider } from "../ApiContext";
import { App } from "../App";

export const API_BASE = "http://api.test";

/** Renders the whole app at `path`, talking to a fake API through `fetchMock`. */
export function renderApp(path: string, fetchMock: ReturnType<typeof vi.fn>, options: Partial<ApiOptions> = {}) {
  const api = createApi(API_BASE, {
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
