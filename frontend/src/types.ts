/** The shapes the API answers with (see GET /api/submissions/{id}/). */

export type SubmissionStatus =
  | "RECEIVED"
  | "PUBLISHED"
  | "PROCESSING"
  | "COMPLETED"
  | "COMPENSATED"
  | "COMPENSATION_FAILED"
  | "FAILED";
export type EmailStatus = "PENDING" | "SENT" | "FAILED";
export type WorkflowStatus =
  | "PENDING"
  | "RUNNING"
  | "COMPENSATING"
  | "COMPLETED"
  | "COMPENSATED"
  | "COMPENSATION_FAILED";

export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  "COMPLETED",
  "COMPENSATED",
  "COMPENSATION_FAILED",
  "FAILED",
]);

/** Where the confirmation email stands now (null before the first attempt). */
export interface EmailDelivery {
  status: "PENDING" | "SENDING" | "RETRYING" | "SENT" | "FAILED";
  attempts: number;
  next_attempt_at: string | null;
  last_error: string;
}

export function isFinalStatus(status: string): boolean {
  return FINAL_STATUSES.has(status);
}

export interface TimelineEntry {
  event_id: string;
  type: string;
  version: number;
  /** The event's own time (ISO 8601). */
  time: string;
  published_at: string | null;
  delivered_at: string | null;
  data: Record<string, unknown>;
}

export interface SubmissionState {
  id: string;
  correlation_id: string;
  name: string;
  email: string;
  company: string;
  message: string;
  demo_fail_at: string;
  created_at: string;
  published_at: string | null;
  status: SubmissionStatus;
  email_status: EmailStatus;
  workflow_status: WorkflowStatus;
  email_delivery?: EmailDelivery | null;
  timeline: TimelineEntry[];
}

/** Loose check that a parsed JSON value is a submission state (enough to render it safely). */
export function isSubmissionState(value: unknown): value is SubmissionState {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === "string" &&
    typeof v.status === "string" &&
    typeof v.created_at === "string" &&
    Array.isArray(v.timeline)
  );
}
