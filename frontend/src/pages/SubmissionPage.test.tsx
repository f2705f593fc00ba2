import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useNavigate } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApi } from "../api";
import { ApiProvider } from "../ApiContext";
import { App } from "../App";
import { FakeEventSource } from "../test/fakeEventSource";
import {
  ACCESS_TOKEN,
  compensatedRun,
  completedRun,
  inFlightRun,
  jsonResponse,
  SUBMISSION_ID,
} from "../test/fixtures";
import { API_BASE, renderApp } from "../test/render";
import type { SubmissionState } from "../types";

const BARE_PATH = `/submissions/${SUBMISSION_ID}`;
/** The private link the form leads to: the token in the fragment. */
const PATH = `${BARE_PATH}#token=${ACCESS_TOKEN}`;
const STORAGE_KEY = `submission-token:${SUBMISSION_ID}`;

/** What the API answers to a read with these headers: 401 without a token, 403 with another one. */
function refusal(init: RequestInit | undefined): Response | null {
  const authorization = new Headers(init?.headers).get("Authorization");
  if (!authorization) return jsonResponse(401, { detail: "This submission's details need its access token." });
  if (authorization !== `Bearer ${ACCESS_TOKEN}`) return jsonResponse(403, { detail: "This access token has expired." });
  return null;
}

/** A fetch that answers GET /api/submissions/{id}/ with each state in turn (the last one repeats). */
function stateFetch(...states: SubmissionState[]) {
  let call = 0;
  return vi.fn(async (url: string, init?: RequestInit) => {
    if (url !== `${API_BASE}/api/submissions/${SUBMISSION_ID}/`) return jsonResponse(404, { detail: "Not found." });
    const refused = refusal(init);
    if (refused) return refused;
    const state = states[Math.min(call, states.length - 1)];
    call += 1;
    return jsonResponse(200, state);
  });
}

const step = (key: string) => screen.getByTestId(`step-${key}`);
const stepOrder = () =>
  Array.from(document.querySelectorAll<HTMLElement>("[data-testid^='step-']")).map((el) => el.dataset.testid);

beforeEach(() => {
  FakeEventSource.reset();
  sessionStorage.clear();
});
afterEach(() => vi.useRealTimers());

describe("the progress view", () => {
  it("a completed run: every step done, with its time and the delay since the step before", async () => {
    renderApp(PATH, stateFetch(completedRun()));

    const badge = await screen.findByTestId("final-status");
    expect(badge).toHaveTextContent(/completed/);
    expect(screen.getByText("Ada Lovelace")).toBeInTheDocument();
    expect(screen.getByText(SUBMISSION_ID)).toBeInTheDocument();

    const keys = ["accepted", "published", "handed", "email", "tag_lead", "assign_owner", "create_crm_lead", "completed"];
    expect(stepOrder()).toEqual(keys.map((key) => `step-${key}`));
    for (const key of keys) expect(step(key)).toHaveAttribute("data-state", "done");

    // Times are HH:MM:SS.mmm in local time (UTC in the tests).
    expect(within(step("accepted")).getByText("10:00:00.000")).toBeInTheDocument();
    expect(within(step("published")).getByText("10:00:00.120")).toBeInTheDocument();
    expect(within(step("published")).getByText("+120 ms")).toBeInTheDocument();
    expect(within(step("handed")).getByText("10:00:00.350")).toBeInTheDocument();
    expect(within(step("handed")).getByText("+230 ms")).toBeInTheDocument();
    expect(within(step("email")).getByText("10:00:00.900")).toBeInTheDocument();
    expect(within(step("create_crm_lead")).getByText("10:00:02.100")).toBeInTheDocument();
    expect(within(step("create_crm_lead")).getByText("+1.2 s")).toBeInTheDocument();
    expect(within(step("completed")).getByText("+150 ms")).toBeInTheDocument();

    // Details of each step's result.
    expect(step("tag_lead")).toHaveTextContent("Tags: web-form, company");
    expect(step("assign_owner")).toHaveTextContent("Owner: grace");
    expect(step("create_crm_lead")).toHaveTextContent("CRM id: CRM-0042");
    expect(screen.getByTestId("connection")).toHaveTextContent(/final/i);
  });

  it("a compensated run: the failure, the compensations in the order they ran, and the reason", async () => {
    renderApp(PATH, stateFetch(compensatedRun()));

    const badge = await screen.findByTestId("final-status");
    expect(badge).toHaveTextContent(/compensated/);

    expect(step("failed")).toHaveAttribute("data-state", "failed");
    expect(step("failed")).toHaveTextContent("Step failed: create_crm_lead");
    expect(step("failed")).toHaveTextContent("CRM answered 503 Service Unavailable");
    expect(within(step("failed")).getByText("10:00:03.000")).toBeInTheDocument();

    expect(stepOrder().slice(-5)).toEqual([
      "step-failed",
      "step-compensated-create_crm_lead",
      "step-compensated-assign_owner",
      "step-compensated-tag_lead",
      "step-compensated-final",
    ]);
    for (const key of ["compensated-create_crm_lead", "compensated-assign_owner", "compensated-tag_lead"]) {
      expect(step(key)).toHaveAttribute("data-state", "done");
    }
    expect(step("compensated-assign_owner")).toHaveTextContent("Compensated: assign_owner");
    expect(within(step("compensated-assign_owner")).getByText("+100 ms")).toBeInTheDocument();

    const final = step("compensated-final");
    expect(final).toHaveAttribute("data-state", "done");
    expect(final).toHaveTextContent("Compensated");
    expect(final).toHaveTextContent("CRM answered 503 Service Unavailable");

    expect(step("tag_lead")).toHaveAttribute("data-state", "done");
    expect(step("create_crm_lead")).toHaveAttribute("data-state", "failed");
    expect(step("completed")).toHaveAttribute("data-state", "skipped");
    expect(step("completed")).toHaveTextContent(/not reached/i);
  });

  it("an in-flight run shows the steps still to come as pending, then follows the run to its end", async () => {
    // The server reports the run in flight until the test says it has finished, however slowly
    // the assertions below run.
    let finished = false;
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      if (url !== `${API_BASE}/api/submissions/${SUBMISSION_ID}/`) return jsonResponse(404, { detail: "Not found." });
      return refusal(init) ?? jsonResponse(200, finished ? completedRun() : inFlightRun());
    });
    renderApp(PATH, fetchMock);

    await waitFor(() => expect(step("tag_lead")).toHaveAttribute("data-state", "done"));
    for (const key of ["email", "assign_owner", "create_crm_lead", "completed"]) {
      expect(step(key)).toHaveAttribute("data-state", "pending");
    }
    expect(screen.queryByTestId("final-status")).not.toBeInTheDocument();
    expect(screen.getByTestId("live-status")).toHaveTextContent(/processing/i);

    // No EventSource here: it polls until the state is final, then stops.
    finished = true;
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    for (const key of ["email", "assign_owner", "create_crm_lead", "completed"]) {
      expect(step(key)).toHaveAttribute("data-state", "done");
    }
    const calls = fetchMock.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fetchMock.mock.calls.length).toBe(calls);
  });

  it("follows the server-sent events stream and announces each new step", async () => {
    renderApp(PATH, stateFetch(inFlightRun()), { EventSource: FakeEventSource as unknown as typeof EventSource });

    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.last;
    expect(source.url).toBe(`${API_BASE}/api/submissions/${SUBMISSION_ID}/events?access_token=${ACCESS_TOKEN}`);
    expect(screen.getByTestId("connection")).toHaveTextContent(/connecting/i);

    act(() => source.open());
    expect(screen.getByTestId("connection")).toHaveTextContent(/live/i);

    const next = inFlightRun();
    next.timeline = completedRun().timeline.filter((item) => item.type !== "WorkflowCompleted");
    act(() => source.sendState(next));
    expect(step("email")).toHaveAttribute("data-state", "done");
    const announcer = screen.getByTestId("announcer");
    expect(announcer).toHaveAttribute("aria-live", "polite");
    expect(announcer).toHaveTextContent("Email sent at 10:00:00.900");
    expect(announcer).toHaveTextContent("CRM lead created at 10:00:02.100");
    expect(announcer).not.toHaveTextContent("Lead tagged"); // already shown before: not announced again

    act(() => source.sendState(completedRun()));
    expect(screen.getByTestId("final-status")).toHaveTextContent(/completed/);
    expect(announcer).toHaveTextContent("Workflow completed");
    expect(source.closed).toBe(true);
  });

  it("falls back to polling when the stream fails before a final state", async () => {
    const fetchMock = stateFetch(inFlightRun(), compensatedRun());
    renderApp(PATH, fetchMock, { EventSource: FakeEventSource as unknown as typeof EventSource });

    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    act(() => FakeEventSource.last.fail());
    expect(FakeEventSource.last.closed).toBe(true);

    expect(await screen.findByTestId("final-status")).toHaveTextContent(/compensated/);
    expect(fetchMock.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("does not wait forever on a stream that never opens", async () => {
    renderApp(PATH, stateFetch(inFlightRun(), completedRun()), {
      EventSource: FakeEventSource as unknown as typeof EventSource,
      streamStallMs: 30,
    });
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(FakeEventSource.last.closed).toBe(true);
  });

  it("does not open a stream for a run that is already final", async () => {
    renderApp(PATH, stateFetch(completedRun()), { EventSource: FakeEventSource as unknown as typeof EventSource });
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(FakeEventSource.instances).toHaveLength(0);
  });

  it("says so when there is no such submission", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(404, { detail: "No Submission matches the given query." }));
    renderApp(`/submissions/00000000-0000-4000-8000-000000000000#token=${ACCESS_TOKEN}`, fetchMock);
    expect(await screen.findByRole("heading", { name: "No such submission" })).toBeInTheDocument();
    expect(screen.queryByTestId("step-accepted")).not.toBeInTheDocument();
  });

  it("keeps trying, and says so, while the server cannot be reached", async () => {
    let reachable = false;
    const fetchMock = vi.fn(async () => {
      if (!reachable) throw new TypeError("Failed to fetch");
      return jsonResponse(200, completedRun());
    });
    renderApp(PATH, fetchMock);
    expect(await screen.findByText(/could not reach the server/i)).toBeInTheDocument();
    reachable = true;
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(screen.queryByText(/could not reach the server/i)).not.toBeInTheDocument();
  });
});

describe("the private link", () => {
  const noAccessMessage = /needs the private link you got when you sent the form; links expire after a while/i;

  it("reads the token from the URL fragment and keeps it for this tab", async () => {
    renderApp(PATH, stateFetch(completedRun()));
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(sessionStorage.getItem(STORAGE_KEY)).toBe(ACCESS_TOKEN);
  });

  it("uses the token this tab kept when the address has no fragment", async () => {
    sessionStorage.setItem(STORAGE_KEY, ACCESS_TOKEN);
    const fetchMock = stateFetch(completedRun());
    renderApp(BARE_PATH, fetchMock);
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(new Headers(init.headers).get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
  });

  it("prefers the fragment's token to an older one kept in the tab", async () => {
    sessionStorage.setItem(STORAGE_KEY, "an-older-token");
    renderApp(PATH, stateFetch(completedRun()));
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(sessionStorage.getItem(STORAGE_KEY)).toBe(ACCESS_TOKEN);
  });

  it("keeps its token when an in-page link replaces the fragment, even without storage", async () => {
    vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    });
    let finished = false;
    const fetchMock = vi.fn(async (_url: string, init?: RequestInit) =>
      refusal(init) ?? jsonResponse(200, finished ? completedRun() : inFlightRun()),
    );
    // What the skip link ("#main") does in a browser: the same page, another fragment.
    function SkipLink() {
      const navigate = useNavigate();
      return <button onClick={() => navigate({ hash: "#main" })}>skip</button>;
    }
    const api = createApi(API_BASE, { fetch: fetchMock as unknown as typeof fetch, EventSource: null, pollIntervalMs: 10 });
    render(
      <ApiProvider api={api}>
        <MemoryRouter initialEntries={[PATH]}>
          <App />
          <SkipLink />
        </MemoryRouter>
      </ApiProvider>,
    );
    await waitFor(() => expect(step("tag_lead")).toHaveAttribute("data-state", "done"));
    await userEvent.setup().click(screen.getByRole("button", { name: "skip" }));
    finished = true;
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(screen.queryByTestId("no-access")).not.toBeInTheDocument();
  });

  it("without any token, says what is needed and asks the server nothing", async () => {
    const fetchMock = stateFetch(completedRun());
    renderApp(BARE_PATH, fetchMock, { EventSource: FakeEventSource as unknown as typeof EventSource });
    expect(screen.getByRole("heading", { name: "Private link needed" })).toBeInTheDocument();
    expect(screen.getByTestId("no-access")).toHaveTextContent(noAccessMessage);
    expect(screen.getByTestId("no-access")).not.toHaveTextContent(/does not open this submission/i);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fetchMock).not.toHaveBeenCalled();
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(screen.getByRole("link", { name: /send a new message/i })).toHaveAttribute("href", "/demo");
  });

  it("a refused (wrong or expired) token: says so once and stops asking", async () => {
    const fetchMock = stateFetch(completedRun());
    renderApp(`${BARE_PATH}#token=expired-token`, fetchMock);
    expect(await screen.findByRole("heading", { name: "Private link needed" })).toBeInTheDocument();
    expect(screen.getByTestId("no-access")).toHaveTextContent(/does not open this submission, or it has expired/i);
    expect(screen.getByTestId("no-access")).toHaveTextContent(noAccessMessage);
    expect(screen.queryByText(/trying again/i)).not.toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("stops polling when the token expires while the page is open", async () => {
    let expired = false;
    const fetchMock = vi.fn(async (_url: string, init?: RequestInit) =>
      expired
        ? jsonResponse(403, { detail: "This access token has expired." })
        : (refusal(init) ?? jsonResponse(200, inFlightRun())),
    );
    renderApp(PATH, fetchMock);
    await waitFor(() => expect(step("tag_lead")).toHaveAttribute("data-state", "done"));
    expired = true;
    expect(await screen.findByTestId("no-access")).toHaveTextContent(noAccessMessage);
    const calls = fetchMock.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fetchMock.mock.calls.length).toBe(calls);
  });

  it("when the stream refuses (401, 403 or 429 reach an EventSource as an error), polling takes over", async () => {
    const fetchMock = stateFetch(inFlightRun(), completedRun());
    renderApp(PATH, fetchMock, { EventSource: FakeEventSource as unknown as typeof EventSource });
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    act(() => FakeEventSource.last.fail());
    expect(await screen.findByTestId("final-status")).toHaveTextContent(/completed/);
    expect(screen.queryByTestId("no-access")).not.toBeInTheDocument();
  });
});

describe("what visitors typed", () => {
  it("is shown as plain text, never as markup or links", async () => {
    const run = completedRun();
    run.name = '<a href="https://evil.example">Ada</a> https://evil.example';
    run.company = "www.evil.example <img src=x onerror=alert(1)>";
    renderApp(PATH, stateFetch(run));
    await screen.findByTestId("final-status");
    expect(screen.getByText(run.name, { exact: false })).toBeInTheDocument();
    expect(screen.getByText(/www\.evil\.example <img src=x onerror=alert\(1\)>/)).toBeInTheDocument();
    expect(document.querySelector('a[href*="evil.example"]')).toBeNull();
    expect(document.querySelector("main img")).toBeNull();
  });
});
