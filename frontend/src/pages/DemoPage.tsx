import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { rememberToken, submissionPagePath } from "../access";
import { useApi } from "../ApiContext";
import type { CreateResult, ServerFieldErrors } from "../api";
import { DemoControl, Field, Honeypot } from "../components/FormFields";
import { useDocumentTitle } from "../useDocumentTitle";
import {
  FIELD_NAMES,
  LIMITS,
  charCount,
  normalizeSubmission,
  validateField,
  validateSubmission,
  type FieldErrors,
  type FieldName,
  type SubmissionInput,
} from "../validation";

const EMPTY: SubmissionInput = { name: "", email: "", company: "", message: "", demo_fail_at: "", website: "" };

const NETWORK_ERROR =
  "Could not reach the server. Check your connection and try again; what you typed is still here.";

function formErrorFor(result: Exclude<CreateResult, { kind: "created" } | { kind: "invalid" }>): string {
  switch (result.kind) {
    case "network-error":
      return NETWORK_ERROR;
    case "rate-limited":
      return result.retryAfterSeconds
        ? `Too many submissions in a short time. Please wait ${result.retryAfterSeconds} seconds and try again.`
        : "Too many submissions in a short time. Please wait a minute and try again.";
    case "server-error":
      return `The server had a problem (HTTP ${result.status}) and did not take your message. Please try again in a moment.`;
    case "unexpected":
      return `The server gave an unexpected answer (HTTP ${result.status}). Please try again.`;
  }
}

/**
 * The server's field errors for the form: messages per shown field, and the rest for the form as a
 * whole (a refused demo_fail_at when the demo control is hidden must still be read somewhere).
 */
function serverErrors(
  result: Extract<CreateResult, { kind: "invalid" }>,
  demoControls: boolean,
): { errors: FieldErrors; formError: string | null } {
  const { demo_fail_at: demoErrors, ...others } = result.fieldErrors;
  const shown: ServerFieldErrors = demoControls ? result.fieldErrors : others;
  const errors: FieldErrors = {};
  for (const [field, messages] of Object.entries(shown)) {
    if (messages && messages.length) errors[field as FieldName] = messages.join(" ");
  }
  const formErrors = [...(demoControls ? [] : (demoErrors ?? [])), ...result.formErrors];
  return { errors, formError: formErrors.length ? formErrors.join(" ") : null };
}

/** Whether this server has the demo controls on (/config.json); null until that is known. */
function useDemoControls(): boolean | null {
  const api = useApi();
  const [demoControls, setDemoControls] = useState<boolean | null>(null);
  useEffect(() => {
    let current = true;
    api.config().then(
      (config) => current && setDemoControls(config.demoControls),
      () => current && setDemoControls(false),
    );
    return () => {
      current = false;
    };
  }, [api]);
  return demoControls;
}

export function DemoPage() {
  useDocumentTitle("Live demo");
  const api = useApi();
  const navigate = useNavigate();
  const demoControls = useDemoControls();
  const [values, setValues] = useState<SubmissionInput>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [attempted, setAttempted] = useState(false);
  const [focusRequest, setFocusRequest] = useState(0);
  // The guard against a second send: a ref changes at once, state only on the next render.
  const sendingRef = useRef(false);
  const formRef = useRef<HTMLFormElement>(null);
  const formErrorRef = useRef<HTMLDivElement>(null);

  // After a failed submit, focus goes to the first field in error (once it is marked invalid).
  useEffect(() => {
    if (focusRequest === 0) return;
    const form = formRef.current;
    if (!form) return;
    const firstInvalid = FIELD_NAMES.map((field) => form.querySelector<HTMLElement>(`#field-${field}`)).find(
      (element) => element?.getAttribute("aria-invalid") === "true",
    );
    if (firstInvalid) firstInvalid.focus();
    else formErrorRef.current?.focus();
  }, [focusRequest]);

  const update =
    (field: FieldName) => (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
      const value = event.target.value;
      setValues((current) => ({ ...current, [field]: value }) as SubmissionInput);
      // Once a send was tried, each field is checked again as it changes; before that it is left alone.
      setErrors((current) => ({ ...current, [field]: attempted ? validateField(field, value) : undefined }));
    };

  const updateWebsite = (event: ChangeEvent<HTMLInputElement>) => {
    const website = event.target.value;
    setValues((current) => ({ ...current, website }));
  };

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (sendingRef.current) return;
    setAttempted(true);
    setFormError(null);

    // Without the demo controls nothing can have chosen a step; send none whatever the state says.
    const input: SubmissionInput = { ...values, demo_fail_at: demoControls ? values.demo_fail_at : "" };
    const clientErrors = validateSubmission(input);
    if (Object.keys(clientErrors).length > 0) {
      setErrors(clientErrors);
      setFocusRequest((n) => n + 1);
      return;
    }

    sendingRef.current = true;
    setBusy(true);
    let result: CreateResult;
    try {
      result = await api.createSubmission(normalizeSubmission(input));
    } catch {
      result = { kind: "network-error" };
    }

    if (result.kind === "created") {
      // The token goes in the fragment (never sent to a server) and in this tab's storage.
      rememberToken(result.id, result.accessToken);
      navigate(submissionPagePath(result.id, result.accessToken));
      return;
    }
    sendingRef.current = false;
    setBusy(false);
    if (result.kind === "invalid") {
      const server = serverErrors(result, demoControls === true);
      setErrors(server.errors);
      setFormError(server.formError);
    } else {
      setFormError(formErrorFor(result));
    }
    setFocusRequest((n) => n + 1);
  }

  const messageCount = charCount(values.message);
  const errorCount = Object.values(errors).filter(Boolean).length;

  return (
    <div className="demo">
      <header className="page-header">
        <h1>Send a message</h1>
        <p className="lead">
          Fill in the form and send it; you will then see your submission travel through the pipeline, live.
        </p>
        {demoControls === false ? (
          <p className="muted" data-testid="demo-controls-off">
            Making a workflow step fail on purpose (to watch compensation) is switched off on this server.
          </p>
        ) : null}
      </header>

      <form ref={formRef} className="card form" noValidate onSubmit={handleSubmit}>
        <div className="form__row">
          <Field name="name" label="Name" required error={errors.name}>
            {(a11y) => (
              <input {...a11y} type="text" autoComplete="name" value={values.name} onChange={update("name")} />
            )}
          </Field>
          <Field name="email" label="Email" required error={errors.email}>
            {(a11y) => (
              <input
                {...a11y}
                type="email"
                inputMode="email"
                autoComplete="email"
                spellCheck={false}
                value={values.email}
                onChange={update("email")}
              />
            )}
          </Field>
        </div>

        <Field name="company" label="Company" error={errors.company}>
          {(a11y) => (
            <input
              {...a11y}
              type="text"
              autoComplete="organization"
              value={values.company}
              onChange={update("company")}
            />
          )}
        </Field>

        <Field
          name="message"
          label="Message"
          required
          error={errors.message}
          hint={`${messageCount} of ${LIMITS.message} characters`}
        >
          {(a11y) => <textarea {...a11y} rows={6} value={values.message} onChange={update("message")} />}
        </Field>

        <Honeypot value={values.website} onChange={updateWebsite} />

        {demoControls ? (
          <DemoControl value={values.demo_fail_at} error={errors.demo_fail_at} onChange={update("demo_fail_at")} />
        ) : null}

        <div className="form__actions">
          <button type="submit" className="button button--primary" disabled={busy} aria-busy={busy}>
            {busy ? "Sending…" : "Send message"}
          </button>
          <div ref={formErrorRef} id="form-status" className="form__alert" role="alert" tabIndex={-1}>
            {formError ??
              (attempted && errorCount > 0
                ? `Please correct the ${errorCount === 1 ? "field" : `${errorCount} fields`} marked above.`
                : "")}
          </div>
        </div>
      </form>
    </div>
  );
}
