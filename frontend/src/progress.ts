/**
 * From a submission's state (GET /api/submissions/{id}/) to the list of steps the progress view
 * shows. Pure functions only: no React, no clock.
 */

import { isFinalStatus, type SubmissionState, type TimelineEntry } from "./types";
import { STEP_LABELS, WORKFLOW_STEPS } from "./saga.generated";

export type StepState = "done" | "pending" | "skipped" | "failed";

export interface ProgressStep {
  /** Stable key, also the data-testid without its "step-" prefix. */
  key: string;
  testId: string;
  label: string;
  state: StepState;
  /** When it happened (ISO, as the server sent it), if it did. */
  time: string | null;
  /** The same instant in ms since the epoch; null when unknown. */
  at: number | null;
  /** A short detail: tags, owner, CRM id, a reason… */
  detail: string | null;
  /** Time since the step that happened just before this one (ms); null for the first. */
  delayMs: number | null;
  /** Label of that previous step. */
  delayFrom: string | null;
}

export type Outcome = "completed" | "compensated" | "failed";

export interface Progress {
  steps: ProgressStep[];
  final: boolean;
  outcome: Outcome | null;
  /** One line on where the submission is now. */
  summary: string;
}

/** ISO 8601 → ms since the epoch; the server sends microseconds, which Date may not read. */
export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const trimmed = iso.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : ms;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** HH:MM:SS.mmm in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "+123 ms", "+1.2 s", "+2 min 5 s". */
export function formatDelay(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole < 1000) return `+${whole} ms`;
  if (whole < 60_000) {
    const seconds = Math.round(whole / 100) / 10;
    return seconds < 60 ? `+${seconds.toFixed(1)} s` : "+1 min 0 s";
  }
  const totalSeconds = Math.round(whole / 1000);
  return `+${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s`;
}

const text = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : null;

const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => String(item)) : [];

function stepResultDetail(step: string, result: unknown): string | null {
  const r = result && typeof result === "object" ? (result as Record<string, unknown>) : {};
  if (step === "tag_lead") {
    const tags = list(r.tags);
    return tags.length ? `Tags: ${tags.join(", ")}` : null;
  }
  if (step === "assign_owner") return text(r.owner) ? `Owner: ${text(r.owner)}` : null;
  if (step === "create_crm_lead") return text(r.crm_lead_id) ? `CRM id: ${text(r.crm_lead_id)}` : null;
  return null;
}

function makeStep(
  key: string,
  label: string,
  state: StepState,
  time: string | null = null,
  detail: string | null = null,
): ProgressStep {
  return {
    key,
    testId: `step-${key}`,
    label,
    state,
    time: state === "done" || state === "failed" ? time : null,
    at: state === "done" || state === "failed" ? parseTime(time) : null,
    detail,
    delayMs: null,
    delayFrom: null,
  };
}

/** Each step that happened gets the time since the step that happened just before it. */
function withDelays(steps: ProgressStep[]): ProgressStep[] {
  const timed = steps
    .map((step, index) => ({ step, index }))
    .filter(({ step }) => step.at !== null)
    .sort((a, b) => (a.step.at as number) - (b.step.at as number) || a.index - b.index);
  const delays = new Map<number, { delayMs: number; delayFrom: string }>();
  for (let i = 1; i < timed.length; i += 1) {
    const previous = timed[i - 1];
    const current = timed[i];
    if (!previous || !current) continue;
    delays.set(current.index, {
      delayMs: (current.step.at as number) - (previous.step.at as number),
      delayFrom: previous.step.label,
    });
  }
  return steps.map((step, index) => {
    const delay = delays.get(index);
    return delay ? { ...step, ...delay } : step;
  });
}

function summaryFor(state: SubmissionState, workflowFailed: boolean): string {
  switch (state.status) {
    case "RECEIVED":
      return "Received: waiting to be published to Kafka";
    case "PUBLISHED":
      return "In Kafka: waiting for the bridge to hand it to Celery";
    case "PROCESSING":
      return workflowFailed ? "Processing: a workflow step failed, rolling back" : "Processing";
    case "COMPLETED":
      return "Done: all steps completed";
    case "COMPENSATED":
      return "Rolled back: the workflow failed and was compensated";
    case "COMPENSATION_FAILED":
      return "Needs an operator: the workflow failed and undoing it failed too";
    case "FAILED":
      // The email failed; say how the workflow (which runs on its own) ended too.
      return state.workflow_status === "COMPLETED" || state.workflow_status === "COMPENSATED"
        ? `Failed: the confirmation email could not be sent (workflow ${state.workflow_status.toLowerCase()})`
        : "Failed: the confirmation email could not be sent";
    default:
      return String(state.status);
  }
}

/** "Retrying: next attempt at 12:00:05.000 (attempt 3; last error …)" for an email that is waiting. */
function retryDetail(delivery: { attempts: number; next_attempt_at: string | null; last_error: string }): string {
  const next = parseTime(delivery.next_attempt_at);
  const when = next !== null ? `next attempt at ${formatClock(next)}` : "next attempt soon";
  const error = delivery.last_error ? `; last error: ${delivery.last_error}` : "";
  return `Retrying: ${when} (attempt ${delivery.attempts}${error})`;
}

/** The steps to show for a submission's state, in display order. */
export function deriveProgress(state: SubmissionState): Progress {
  const timeline: TimelineEntry[] = Array.isArray(state.timeline) ? state.timeline : [];
  const first = (type: string, match: (entry: TimelineEntry) => boolean = () => true) =>
    timeline.find((entry) => entry.type === type && match(entry));
  const stepOf = (entry: TimelineEntry) => text(entry.data?.step);
  const final = isFinalStatus(state.status);

  const steps: ProgressStep[] = [];

  // The pipeline: API → outbox → Kafka → bridge → Celery.
  steps.push(makeStep("accepted", "Accepted", "done", state.created_at));
  steps.push(
    state.published_at
      ? makeStep("published", "Published to Kafka", "done", state.published_at)
      : makeStep("published", "Published to Kafka", "pending"),
  );
  const submitted = first("ContactFormSubmitted");
  const workDone = timeline.some((entry) => entry.type !== "ContactFormSubmitted");
  if (submitted?.delivered_at) {
    steps.push(makeStep("handed", "Handed to Celery", "done", submitted.delivered_at));
  } else if (workDone) {
    // Work has started, so it was handed over, even if the hand-over time is not known.
    steps.push(makeStep("handed", "Handed to Celery", "done", null, "Time not recorded"));
  } else {
    steps.push(makeStep("handed", "Handed to Celery", "pending"));
  }

  // The mailer.
  const sent = first("EmailDispatched");
  const emailFailed = first("EmailFailed");
  if (sent) {
    // Version 2 of the event names no one (no personal data on Kafka); the submission has the address.
    const to = text(sent.data?.recipient) ?? text(state.email);
    steps.push(makeStep("email", "Email sent", "done", sent.time, to ? `To ${to}` : null));
  } else if (emailFailed) {
    const reason = text(emailFailed.data?.reason) ?? "No reason given";
    steps.push(makeStep("email", "Email failed", "failed", emailFailed.time, reason));
  } else if (state.email_delivery?.status === "RETRYING") {
    steps.push(makeStep("email", "Email sent", "pending", null, retryDetail(state.email_delivery)));
  } else {
    steps.push(makeStep("email", "Email sent", "pending"));
  }

  // The lead workflow (a saga: forward steps, or the undoing of them).
  const stepFailed = first("WorkflowStepFailed");
  const compensated = first("WorkflowCompensated");
  const compensationFailed = first("WorkflowCompensationFailed");
  const undone = timeline.filter((entry) => entry.type === "WorkflowStepCompensated");
  const failedStep =
    (stepFailed && stepOf(stepFailed)) ??
    text(compensated?.data?.failed_step) ??
    text(compensationFailed?.data?.failed_step);
  const workflowFailed =
    Boolean(stepFailed || compensated || compensationFailed || undone.length) ||
    ["COMPENSATING", "COMPENSATED", "COMPENSATION_FAILED"].includes(state.workflow_status);

  for (const step of WORKFLOW_STEPS) {
    const done = first("WorkflowStepCompleted", (entry) => stepOf(entry) === step);
    if (done) {
      steps.push(makeStep(step, STEP_LABELS[step], "done", done.time, stepResultDetail(step, done.data?.result)));
    } else if (workflowFailed && step === failedStep) {
      steps.push(makeStep(step, STEP_LABELS[step], "failed", null, "Did not complete: this step failed"));
    } else if (workflowFailed) {
      steps.push(makeStep(step, STEP_LABELS[step], "skipped", null, "Not reached"));
    } else {
      steps.push(makeStep(step, STEP_LABELS[step], "pending"));
    }
  }

  const completed = first("WorkflowCompleted");
  if (completed) {
    const parts = [
      text(completed.data?.owner) ? `Owner: ${text(completed.data?.owner)}` : null,
      text(completed.data?.crm_lead_id) ? `CRM id: ${text(completed.data?.crm_lead_id)}` : null,
      list(completed.data?.tags).length ? `Tags: ${list(completed.data?.tags).join(", ")}` : null,
    ].filter(Boolean);
    steps.push(makeStep("completed", "Workflow completed", "done", completed.time, parts.join(" · ") || null));
  } else if (workflowFailed) {
    steps.push(makeStep("completed", "Workflow completed", "skipped", null, "Not reached"));
  } else {
    steps.push(makeStep("completed", "Workflow completed", "pending"));
  }

  if (workflowFailed) {
    const reason = text(stepFailed?.data?.reason) ?? text(compensated?.data?.reason);
    steps.push(
      makeStep(
        "failed",
        `Step failed: ${failedStep ?? "unknown step"}`,
        "failed",
        stepFailed?.time ?? null,
        reason ?? "No reason given",
      ),
    );
    for (const entry of undone) {
      const step = stepOf(entry) ?? "unknown";
      steps.push(makeStep(`compensated-${step}`, `Compensated: ${step}`, "done", entry.time));
    }
    if (compensationFailed && !compensated) {
      const failedUndos = list(compensationFailed.data?.failed_undos);
      const reason = text(compensationFailed.data?.reason) ?? "No reason given";
      const detail = failedUndos.length ? `Could not undo: ${failedUndos.join(", ")} · ${reason}` : reason;
      steps.push(makeStep("compensated-final", "Compensation failed", "failed", compensationFailed.time, detail));
    } else if (compensated) {
      const finalReason = text(compensated.data?.reason) ?? "No reason given";
      const undoneSteps = list(compensated.data?.compensated_steps);
      const detail = undoneSteps.length ? `${finalReason} · Undone: ${undoneSteps.join(", ")}` : finalReason;
      steps.push(makeStep("compensated-final", "Compensated", "done", compensated.time, detail));
    } else {
      steps.push(makeStep("compensated-final", "Compensated", "pending", null, "Undoing the finished steps…"));
    }
  }

  // Once the status is final nothing else will happen: whatever is still pending was not reached.
  const settled = final
    ? steps.map((step) => (step.state === "pending" ? { ...step, state: "skipped" as const, detail: "Not reached" } : step))
    : steps;

  const outcome: Outcome | null =
    state.status === "COMPLETED"
      ? "completed"
      : state.status === "COMPENSATED"
        ? "compensated"
        : state.status === "FAILED" || state.status === "COMPENSATION_FAILED"
          ? "failed"
          : null;

  return { steps: withDelays(settled), final, outcome, summary: summaryFor(state, workflowFailed) };
}

/** A sentence for screen readers about one step that has just happened. */
export function announceStep(step: ProgressStep): string {
  const when = step.at !== null ? ` at ${formatClock(step.at)}` : "";
  const prefix = step.state === "failed" ? "Failed: " : "";
  const detail = step.detail ? `. ${step.detail}` : "";
  return `${prefix}${step.label}${when}${detail}.`;
}
