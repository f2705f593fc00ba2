/**
 * The submission form's parts: a labelled field with its hint and error line, the demo's failure
 * control (one option per saga step, from saga.generated.ts), and the honeypot for bots.
 */

import type { ChangeEvent } from "react";
import { DEMO_FAILURE_NOTES, WORKFLOW_STEPS } from "../saga.generated";
import type { FieldName } from "../validation";

export interface FieldProps {
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
export function Field({ name, label, hint, required, markOptional = true, error, children }: FieldProps) {
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

interface DemoControlProps {
  value: string;
  error?: string;
  onChange: (event: ChangeEvent<HTMLSelectElement>) => void;
}

export function DemoControl({ value, error, onChange }: DemoControlProps) {
  return (
    <fieldset className="demo-control">
      <legend>Demo control — not part of a real form</legend>
      <p className="demo-control__note">
        Choose a workflow step to make it fail, to watch the finished steps being undone (compensation).
      </p>
      <Field name="demo_fail_at" label="Make the workflow fail at:" markOptional={false} error={error}>
        {(a11y) => (
          <select {...a11y} value={value} onChange={onChange}>
            <option value="">none</option>
            {WORKFLOW_STEPS.map((step) => (
              <option key={step} value={step}>
                {DEMO_FAILURE_NOTES[step] ? `${step} (${DEMO_FAILURE_NOTES[step]})` : step}
              </option>
            ))}
          </select>
        )}
      </Field>
    </fieldset>
  );
}

/**
 * A field for bots that fill in every input: moved off screen by a class (no inline style, which
 * the Content-Security-Policy forbids), out of the tab order and hidden from assistive technology,
 * so people leave it empty. The API refuses a submission that fills it.
 */
export function Honeypot({ value, onChange }: { value: string; onChange: (event: ChangeEvent<HTMLInputElement>) => void }) {
  return (
    <div className="honeypot" aria-hidden="true">
      <label htmlFor="field-website">Leave this field empty</label>
      <input
        id="field-website"
        name="website"
        type="text"
        tabIndex={-1}
        autoComplete="off"
        aria-hidden="true"
        value={value}
        onChange={onChange}
      />
    </div>
  );
}
