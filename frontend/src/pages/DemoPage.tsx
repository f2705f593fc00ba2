import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useApi } from "../ApiContext";
import type { CreateResult } from "../api";
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

const EMPTY: SubmissionInput = { name: "", email: "", company: "", message: "", demo_fail_at: "" };

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

interface FieldProps {
  name: FieldName;
  label: string;
  hint?: string;
  required?: boolean;
  /** Show "(optional)" after the label of a field that is not required. */
  markOptional?: boolean;
  error?: string;
  children: (a11y: {
    id: string;
    name: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
    "aria-required": boolean | undefined;
  }) => React.ReactNode;
}

/** A label, the control, an optional hint and a reserved line for the error. */
function Field({ name, label, hint, required, markOptional = true, error, children }: FieldProps) {
  const id = `field-${name}`;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field--invalid" : ""}`}>
      <label htmlFor={id} className="field__label">
        {label}
        {required ? (
          <span className="field__required"> (required)</span>
        ) : markOptional ? (
          <span className="field__optional"> (optional)</span>
        ) : null}
      </label>
      {children({
        id,
        name,
        "aria-invalid": Boolean(error),
        "aria-describedby": describedBy,
        "aria-required": required || undefined,
      })}
      {hint ? (
        <p id={hintId ?? undefined} className="field__hint">
          {hint}
        </p>
      ) : null}
      <p id={errorId} className="field__error">
        {error ?? ""}
      </p>
    </div>
  );
}

export function DemoPage() {
  useDocumentTitle("Live demo");
  const api = useApi();
  const navigate = useNavigate();
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

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (sendingRef.current) return;
    setAttempted(true);
    setFormError(null);

    const clientErrors = validateSubmission(values);
    if (Object.keys(clientErrors).length > 0) {
      setErrors(clientErrors);
      setFocusRequest((n) => n + 1);
      return;
    }

    sendingRef.current = true;
    setBusy(true);
    let result: CreateResult;
    try {
      result = await api.createSubmission(normalizeSubmission(values));
    } catch {
      result = { kind: "network-error" };
    }

    if (result.kind === "created") {
      navigate(`/submissions/${encodeURIComponent(result.id)}`);
      return;
    }
    sendingRef.current = false;
    setBusy(false);
    if (result.kind === "invalid") {
      const serverErrors: FieldErrors = {};
      for (const [field, messages] of Object.entries(result.fieldErrors)) {
        if (messages && messages.length) serverErrors[field as FieldName] = messages.join(" ");
      }
      setErrors(serverErrors);
      setFormError(result.formErrors.length ? result.formErrors.join(" ") : null);
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

        <fieldset className="demo-control">
          <legend>Demo control — not part of a real form</legend>
          <p className="demo-control__note">
            Choose a workflow step to make it fail, to watch the finished steps being undone (compensation).
          </p>
          <Field name="demo_fail_at" label="Make the workflow fail at:" markOptional={false} error={errors.demo_fail_at}>
            {(a11y) => (
              <select {...a11y} value={values.demo_fail_at} onChange={update("demo_fail_at")}>
                <option value="">none</option>
                <option value="tag_lead">tag_lead</option>
                <option value="assign_owner">assign_owner</option>
                <option value="create_crm_lead">create_crm_lead (CRM answers 503)</option>
              </select>
            )}
          </Field>
        </fieldset>

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
