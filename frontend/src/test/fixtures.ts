/** Submission states as the API sends them, for tests. Times are UTC, with microseconds like Django's. */
import type { SubmissionState, TimelineEntry } from "../types";

export const SUBMISSION_ID = "5b3c1f0e-8a51-4c57-9a39-0f6a2b7c9d10";
/** Shaped like the API's tokens (secrets.token_urlsafe(32)): letters, digits, "-" and "_". */
export const ACCESS_TOKEN = "q3Xv-7Lk_2mZ9pR4tW8yB1nC6dF0gH5jK3sE7uA9oI2";

/** The 201 body of POST /api/submissions/. */
export function createdBody(id: string = SUBMISSION_ID, token: string = ACCESS_TOKEN) {
  return {
    id,
    status: "RECEIVED",
    status_url: `http://api.test/api/submissions/${id}/`,
    access_token: token,
    access_expires_at: "2025-03-02T10:00:00.000100Z",
  };
}

let counter = 0;
function entry(type: string, time: string, data: Record<string, unknown>, delivered_at: string | null = null): TimelineEntry {
  counter += 1;
  return {
    event_id: `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`,
    type,
    version: 1,
    time,
    published_at: time,
    delivered_at,
    data,
  };
}

const submitted = () =>
  entry(
    "ContactFormSubmitted",
    "2025-03-01T10:00:00.000100Z",
    { submission_id: SUBMISSION_ID },
    "2025-03-01T10:00:00.350000Z",
  );

function base(overrides: Partial<SubmissionState>): SubmissionState {
  return {
    id: SUBMISSION_ID,
    correlation_id: "9f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8",
    name: "Ada Lovelace",
    email: "ada@example.com",
    company: "Engines Ltd",
    message: "Hello",
    demo_fail_at: "",
    created_at: "2025-03-01T10:00:00.000100Z",
    published_at: "2025-03-01T10:00:00.120400Z",
    status: "PROCESSING",
    email_status: "PENDING",
    workflow_status: "PENDING",
    timeline: [],
    ...overrides,
  };
}

/** Just stored: not even in Kafka yet. */
export function receivedRun(): SubmissionState {
  return base({ status: "RECEIVED", published_at: null, timeline: [] });
}

/** Mid-flight: handed to Celery, the lead tagged, nothing else yet. */
export function inFlightRun(): SubmissionState {
  return base({
    status: "PROCESSING",
    workflow_status: "RUNNING",
    timeline: [
      submitted(),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.500000Z", { step: "tag_lead", result: { tags: ["web-form", "company"] } }),
    ],
  });
}

/** Every step done. */
export function completedRun(): SubmissionState {
  return base({
    status: "COMPLETED",
    email_status: "SENT",
    workflow_status: "COMPLETED",
    timeline: [
      submitted(),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.500000Z", { step: "tag_lead", result: { tags: ["web-form", "company"] } }),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.650000Z", { step: "assign_owner", result: { owner: "grace" } }),
      entry("EmailDispatched", "2025-03-01T10:00:00.900000Z", { message_id: "<m1@example.com>" }),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:02.100000Z", { step: "create_crm_lead", result: { crm_lead_id: "CRM-0042" } }),
      entry("WorkflowCompleted", "2025-03-01T10:00:02.250000Z", { owner: "grace", crm_lead_id: "CRM-0042", tags: ["web-form", "company"] }),
    ],
  });
}

/** The CRM step failed (503); the saga undid the remote step first, then the earlier ones in reverse. */
export function compensatedRun(): SubmissionState {
  return base({
    demo_fail_at: "create_crm_lead",
    status: "COMPENSATED",
    email_status: "SENT",
    workflow_status: "COMPENSATED",
    timeline: [
      submitted(),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.500000Z", { step: "tag_lead", result: { tags: ["web-form"] } }),
      entry("EmailDispatched", "2025-03-01T10:00:00.600000Z", { message_id: "<m2@example.com>" }),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.650000Z", { step: "assign_owner", result: { owner: "grace" } }),
      entry("WorkflowStepFailed", "2025-03-01T10:00:03.000000Z", { step: "create_crm_lead", reason: "CRM answered 503 Service Unavailable" }),
      entry("WorkflowStepCompensated", "2025-03-01T10:00:03.100000Z", { step: "create_crm_lead" }),
      entry("WorkflowStepCompensated", "2025-03-01T10:00:03.200000Z", { step: "assign_owner" }),
      entry("WorkflowStepCompensated", "2025-03-01T10:00:03.300000Z", { step: "tag_lead" }),
      entry("WorkflowCompensated", "2025-03-01T10:00:03.400000Z", {
        failed_step: "create_crm_lead",
        reason: "CRM answered 503 Service Unavailable",
        compensated_steps: ["create_crm_lead", "assign_owner", "tag_lead"],
      }),
    ],
  });
}

/** The workflow failed at its first step and is still being rolled back. */
export function compensatingRun(): SubmissionState {
  return base({
    demo_fail_at: "tag_lead",
    status: "PROCESSING",
    workflow_status: "COMPENSATING",
    timeline: [
      submitted(),
      entry("WorkflowStepFailed", "2025-03-01T10:00:00.700000Z", { step: "tag_lead", reason: "Demo: tag_lead fails" }),
    ],
  });
}

/** The confirmation email could not be sent; the workflow completed. */
export function emailFailedRun(): SubmissionState {
  const run = completedRun();
  return {
    ...run,
    status: "FAILED",
    email_status: "FAILED",
    timeline: run.timeline.map((item) =>
      item.type === "EmailDispatched"
        ? { ...item, type: "EmailFailed", data: { reason: "SMTPConnectError: refused" } }
        : item,
    ),
  };
}

/** The CRM refused the lead, and its delete failed too: the local undos ran, the remote one did not. */
export function compensationFailedRun(): SubmissionState {
  return base({
    demo_fail_at: "create_crm_lead",
    status: "COMPENSATION_FAILED",
    email_status: "SENT",
    workflow_status: "COMPENSATION_FAILED",
    timeline: [
      submitted(),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.500000Z", { step: "tag_lead", result: { tags: ["web-form"] } }),
      entry("EmailDispatched", "2025-03-01T10:00:00.600000Z", { message_id: "<m4@example.com>" }),
      entry("WorkflowStepCompleted", "2025-03-01T10:00:00.650000Z", { step: "assign_owner", result: { owner: "grace" } }),
      entry("WorkflowStepFailed", "2025-03-01T10:00:03.000000Z", { step: "create_crm_lead", reason: "CRM answered 422" }),
      entry("WorkflowStepCompensated", "2025-03-01T10:00:03.200000Z", { step: "assign_owner" }),
      entry("WorkflowStepCompensated", "2025-03-01T10:00:03.300000Z", { step: "tag_lead" }),
      entry("WorkflowCompensationFailed", "2025-03-01T10:00:03.400000Z", {
        failed_step: "create_crm_lead",
        reason: "undo_create_crm_lead: CrmError: CRM answered 422 to a lead search",
        compensated_steps: ["assign_owner", "tag_lead"],
        failed_undos: ["create_crm_lead"],
      }),
    ],
  });
}

/** The SMTP server is down: the email waits for its next attempt. */
export function emailRetryingRun(): SubmissionState {
  return base({
    status: "PROCESSING",
    email_status: "PENDING",
    workflow_status: "RUNNING",
    email_delivery: {
      status: "RETRYING",
      attempts: 3,
      next_attempt_at: "2025-03-01T10:00:09.000000Z",
      last_error: "ConnectionRefusedError: [Errno 111] Connection refused",
    },
    timeline: [submitted()],
  });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}
