import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ACCESS_TOKEN, createdBody, jsonResponse, SUBMISSION_ID, receivedRun } from "../test/fixtures";
import { API_BASE, renderApp } from "../test/render";

const DEMO_ON = { config: { demoControls: true } };

function field(label: RegExp) {
  return screen.getByLabelText(label);
}

async function fillValid(user: ReturnType<typeof userEvent.setup>) {
  await user.type(field(/^name/i), "Ada Lovelace");
  await user.type(field(/^email/i), "ada@example.com");
  await user.type(field(/^company/i), "Engines Ltd");
  await user.type(field(/^message/i), "Hello there");
}

function expectErrorAt(input: HTMLElement, text: RegExp) {
  expect(input).toHaveAttribute("aria-invalid", "true");
  const describedBy = input.getAttribute("aria-describedby") ?? "";
  const error = describedBy
    .split(" ")
    .map((id) => document.getElementById(id))
    .find((element) => element?.classList.contains("field__error"));
  expect(error, "aria-describedby points to the error").toBeTruthy();
  expect(error).toHaveTextContent(text);
  expect(input).toHaveAccessibleDescription(text);
}

/** A fetch that creates the submission, then answers its reads. */
function createFetch() {
  return vi.fn(async (url: string, _init?: RequestInit) =>
    url.endsWith("/api/submissions/") ? jsonResponse(201, createdBody()) : jsonResponse(200, receivedRun()),
  );
}

function sentBody(fetchMock: ReturnType<typeof vi.fn>): Record<string, unknown> {
  const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
  expect(url).toBe(`${API_BASE}/api/submissions/`);
  expect(init.method).toBe("POST");
  return JSON.parse(String(init.body)) as Record<string, unknown>;
}

function honeypot(): HTMLInputElement {
  const input = document.querySelector<HTMLInputElement>('input[name="website"]');
  if (!input) throw new Error("no honeypot");
  return input;
}

beforeEach(() => sessionStorage.clear());

/** A fetch whose answer the test releases when it wants. */
function deferredFetch() {
  let release: (response: Response) => void = () => {};
  const fetchMock = vi.fn(
    () =>
      new Promise<Response>((resolve) => {
        release = resolve;
      }),
  );
  return { fetchMock, release: (response: Response) => release(response) };
}

describe("the demo form", () => {
  it("has a label for every control, and the demo control is clearly marked", async () => {
    renderApp("/demo", vi.fn(), DEMO_ON);
    expect(await screen.findByLabelText(/make the workflow fail at/i)).toBeInTheDocument();
    for (const label of [/^name/i, /^email/i, /^company/i, /^message/i, /make the workflow fail at/i]) {
      expect(field(label)).toBeInTheDocument();
    }
    const demo = screen.getByRole("group", { name: /demo control — not part of a real form/i });
    expect(demo).toContainElement(field(/make the workflow fail at/i));
    const options = screen.getAllByRole("option").map((option) => option.textContent);
    expect(options).toEqual(["none", "tag_lead", "assign_owner", "create_crm_lead (CRM answers 503)"]);
    expect(screen.queryByTestId("demo-controls-off")).not.toBeInTheDocument();
  });

  it("has no demo control at all when the server has them off, says so, and sends no step", async () => {
    const user = userEvent.setup();
    const fetchMock = createFetch();
    renderApp("/demo", fetchMock);
    expect(await screen.findByTestId("demo-controls-off")).toHaveTextContent(/switched off on this server/i);
    expect(screen.queryByLabelText(/make the workflow fail at/i)).not.toBeInTheDocument();
    expect(screen.queryByRole("group", { name: /demo control/i })).not.toBeInTheDocument();
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();

    await fillValid(user);
    await user.click(screen.getByRole("button", { name: /send message/i }));
    expect(await screen.findByRole("heading", { name: /submission progress/i })).toBeInTheDocument();
    expect(sentBody(fetchMock).demo_fail_at).toBe("");
  });

  it("shows a refused demo_fail_at for the form when the control is hidden", async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn(async () =>
      jsonResponse(400, { demo_fail_at: ["Demo controls are disabled on this server."] }),
    );
    renderApp("/demo", fetchMock);
    await screen.findByTestId("demo-controls-off");
    await fillValid(user);
    await user.click(screen.getByRole("button", { name: /send message/i }));

    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Demo controls are disabled on this server."));
    expect(screen.getByRole("alert")).toHaveFocus();
    expect(screen.getByRole("alert")).not.toHaveTextContent(/correct the/i);
  });

  it("shows client errors at their fields, focuses the first, and sends nothing", async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn();
    renderApp("/demo", fetchMock);

    await user.type(field(/^name/i), "   ");
    await user.type(field(/^email/i), "ada@");
    await user.type(field(/^company/i), "Acme\u0007");
    await user.click(screen.getByRole("button", { name: /send message/i }));

    expectErrorAt(field(/^name/i), /enter your name/i);
    expectErrorAt(field(/^email/i), /valid email/i);
    expectErrorAt(field(/^company/i), /control characters/i);
    expectErrorAt(field(/^message/i), /write a message/i);
    expect(field(/^name/i)).toHaveFocus();
    expect(fetchMock).not.toHaveBeenCalled();

    // Fixing a field clears its error; the others stay.
    await user.type(field(/^name/i), "Ada");
    expect(field(/^name/i)).toHaveAttribute("aria-invalid", "false");
    expect(field(/^email/i)).toHaveAttribute("aria-invalid", "true");
  });

  it("keeps room for each error line so that nothing shifts when errors appear", async () => {
    const user = userEvent.setup();
    renderApp("/demo", vi.fn(), DEMO_ON);
    await screen.findByLabelText(/make the workflow fail at/i);
    const errorLines = document.querySelectorAll(".field__error");
    expect(errorLines).toHaveLength(5);
    errorLines.forEach((line) => expect(line).toHaveTextContent(""));
    await user.click(screen.getByRole("button", { name: /send message/i }));
    // The same elements are still there, now with text: they were placeholders all along.
    expect(document.querySelectorAll(".field__error")).toHaveLength(5);
    expect(errorLines[0]).toHaveTextContent(/enter your name/i);
  });

  it("sends the trimmed data with demo_fail_at, then goes to the progress page with the access token", async () => {
    const user = userEvent.setup();
    const fetchMock = createFetch();
    renderApp("/demo", fetchMock, DEMO_ON);
    await fillValid(user);
    await user.type(field(/^name/i), "  ");
    await user.selectOptions(await screen.findByLabelText(/make the workflow fail at/i), "assign_owner");
    await user.click(screen.getByRole("button", { name: /send message/i }));

    expect(await screen.findByRole("heading", { name: /submission progress/i })).toBeInTheDocument();
    expect(sentBody(fetchMock)).toEqual({
      name: "Ada Lovelace",
      email: "ada@example.com",
      company: "Engines Ltd",
      message: "Hello there",
      demo_fail_at: "assign_owner",
      website: "",
    });
    // The progress page re-renders as it polls: an element found once may be replaced before a
    // second look, so the check is retried until it holds.
    await waitFor(() => expect(screen.getByText(SUBMISSION_ID)).toBeInTheDocument());
    const [readUrl, readInit] = fetchMock.mock.calls[1] as unknown as [string, RequestInit];
    expect(readUrl).toBe(`${API_BASE}/api/submissions/${SUBMISSION_ID}/`);
    expect(new Headers(readInit.headers).get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(sessionStorage.getItem(`submission-token:${SUBMISSION_ID}`)).toBe(ACCESS_TOKEN);
  });

  it("hands the token over in the URL fragment, which works without storage too", async () => {
    const user = userEvent.setup();
    vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    });
    const fetchMock = createFetch();
    renderApp("/demo", fetchMock);
    await fillValid(user);
    await user.click(screen.getByRole("button", { name: /send message/i }));

    // The progress page re-renders as it polls: an element found once may be replaced before a
    // second look, so the check is retried until it holds.
    await waitFor(() => expect(screen.getByText(SUBMISSION_ID)).toBeInTheDocument());
    expect(sessionStorage.getItem(`submission-token:${SUBMISSION_ID}`)).toBeNull();
    const [, readInit] = fetchMock.mock.calls[1] as unknown as [string, RequestInit];
    expect(new Headers(readInit.headers).get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
  });

  it("has a honeypot: off screen by a class, hidden from assistive technology, out of the tab order", async () => {
    const user = userEvent.setup();
    renderApp("/demo", vi.fn());
    await screen.findByTestId("demo-controls-off");
    const input = honeypot();
    expect(input).toHaveAttribute("type", "text");
    expect(input).toHaveAttribute("aria-hidden", "true");
    expect(input).toHaveAttribute("tabindex", "-1");
    expect(input).toHaveAttribute("autocomplete", "off");
    expect(input).toHaveValue("");
    expect(screen.getByLabelText("Leave this field empty")).toBe(input);
    const wrapper = input.closest(".honeypot");
    expect(wrapper).toHaveAttribute("aria-hidden", "true");
    // Hidden by the stylesheet: no style attribute, which the Content-Security-Policy would block.
    expect(document.querySelector("[style]")).toBeNull();
    // Not in the accessibility tree, and tabbing skips it.
    expect(screen.queryByRole("textbox", { name: /leave this field empty/i })).not.toBeInTheDocument();
    await user.click(field(/^message/i));
    await user.tab();
    expect(screen.getByRole("button", { name: /send message/i })).toHaveFocus();
  });

  it("sends what is in the honeypot, and shows the server's refusal of a filled one", async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) =>
      jsonResponse(400, { website: ["Leave this field empty."] }),
    );
    renderApp("/demo", fetchMock);
    await fillValid(user);
    fireEvent.change(honeypot(), { target: { value: "https://spam.example" } });
    await user.click(screen.getByRole("button", { name: /send message/i }));

    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(/hidden field that must stay empty/i));
    expect(sentBody(fetchMock).website).toBe("https://spam.example");
  });

  it("shows the server's 400 field messages at their fields, and its other errors for the form", async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn(async () =>
      jsonResponse(400, {
        email: ["Enter a valid email address."],
        demo_fail_at: ["Demo controls are disabled on this server."],
        non_field_errors: ["Something about the whole form."],
      }),
    );
    renderApp("/demo", fetchMock, DEMO_ON);
    await fillValid(user);
    await user.selectOptions(await screen.findByLabelText(/make the workflow fail at/i), "tag_lead");
    await user.click(screen.getByRole("button", { name: /send message/i }));

    await waitFor(() => expect(field(/^email/i)).toHaveAttribute("aria-invalid", "true"));
    expectErrorAt(field(/^email/i), /enter a valid email address\./i);
    expectErrorAt(field(/make the workflow fail at/i), /demo controls are disabled/i);
    expect(field(/^name/i)).toHaveAttribute("aria-invalid", "false");
    expect(screen.getByRole("alert")).toHaveTextContent("Something about the whole form.");
    expect(field(/^email/i)).toHaveFocus();
    // Nothing typed is lost.
    expect(field(/^name/i)).toHaveValue("Ada Lovelace");
    expect(field(/^message/i)).toHaveValue("Hello there");
  });

  it("shows that it is busy while sending, and a double click sends once", async () => {
    const user = userEvent.setup();
    const { fetchMock, release } = deferredFetch();
    renderApp("/demo", fetchMock);
    await fillValid(user);

    const button = screen.getByRole("button", { name: /send message/i });
    await user.dblClick(button);
    expect(button).toHaveTextContent("Sending…");
    expect(button).toBeDisabled();
    expect(button).toHaveAttribute("aria-busy", "true");
    expect(fetchMock).toHaveBeenCalledTimes(1);

    release(jsonResponse(503, { detail: "down" }));
    await waitFor(() => expect(button).toHaveTextContent("Send message"));
    expect(button).toBeEnabled();
    expect(button).toHaveAttribute("aria-busy", "false");
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("sends once even when the form is submitted twice before it can re-render", async () => {
    const user = userEvent.setup();
    const { fetchMock } = deferredFetch();
    renderApp("/demo", fetchMock);
    await fillValid(user);
    const form = screen.getByRole("button", { name: /send message/i }).closest("form") as HTMLFormElement;
    // Both submits land before React renders again, so only a ref (not state) can stop the second.
    act(() => {
      fireEvent.submit(form);
      fireEvent.submit(form);
    });
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("says when the server cannot be reached, and keeps what was typed", async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    renderApp("/demo", fetchMock, DEMO_ON);
    await fillValid(user);
    await user.selectOptions(await screen.findByLabelText(/make the workflow fail at/i), "create_crm_lead");
    await user.click(screen.getByRole("button", { name: /send message/i }));

    expect(await screen.findByRole("alert")).toHaveTextContent(/could not reach the server/i);
    expect(field(/^name/i)).toHaveValue("Ada Lovelace");
    expect(field(/^email/i)).toHaveValue("ada@example.com");
    expect(field(/^company/i)).toHaveValue("Engines Ltd");
    expect(field(/^message/i)).toHaveValue("Hello there");
    expect(field(/make the workflow fail at/i)).toHaveValue("create_crm_lead");
    expect(screen.getByRole("button", { name: /send message/i })).toBeEnabled();
  });

  it("says so when rate-limited (429) or when the server fails (5xx)", async () => {
    const user = userEvent.setup();
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(jsonResponse(429, { detail: "Request was throttled." }))
      .mockResolvedValueOnce(jsonResponse(500, undefined));
    renderApp("/demo", fetchMock);
    await fillValid(user);
    await user.click(screen.getByRole("button", { name: /send message/i }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/too many submissions/i);

    await user.click(screen.getByRole("button", { name: /send message/i }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(/server had a problem \(HTTP 500\)/i));
    expect(field(/^message/i)).toHaveValue("Hello there");
  });
});
