import { describe, expect, it } from "vitest";
import { deriveProgress, formatClock, formatDelay, parseTime, type ProgressStep } from "./progress";
import {
  compensatedRun,
  compensationFailedRun,
  compensatingRun,
  completedRun,
  emailFailedRun,
  emailRetryingRun,
  inFlightRun,
  receivedRun,
} from "./test/fixtures";

const byKey = (steps: ProgressStep[]) => Object.fromEntries(steps.map((step) => [step.key, step]));

describe("time helpers", () => {
  it("reads the server's microsecond timestamps to the millisecond", () => {
    expect(parseTime("2025-03-01T10:00:00.120400Z")).toBe(Date.UTC(2025, 2, 1, 10, 0, 0, 120));
    expect(parseTime("2025-03-01T12:00:00.5+02:00")).toBe(Date.UTC(2025, 2, 1, 10, 0, 0, 500));
    expect(parseTime(null)).toBeNull();
    expect(parseTime("not a time")).toBeNull();
  });

  it("formats a clock time as HH:MM:SS.mmm in local time", () => {
    expect(formatClock(new Date(2025, 0, 2, 9, 5, 7, 45).getTime())).toBe("09:05:07.045");
    expect(formatClock(new Date(2025, 0, 2, 23, 59, 59, 999).getTime())).toBe("23:59:59.999");
  });

  it("formats delays in ms below a second, then in seconds, then minutes", () => {
    expect(formatDelay(0)).toBe("+0 ms");
    expect(formatDelay(123.4)).toBe("+123 ms");
    expect(formatDelay(999.4)).toBe("+999 ms");
    expect(formatDelay(1200)).toBe("+1.2 s");
    expect(formatDelay(12_345)).toBe("+12.3 s");
    expect(formatDelay(125_000)).toBe("+2 min 5 s");
  });
});

describe("deriveProgress", () => {
  it("a completed run: every step done, in order, with its time and the delay since the step before", () => {
    const progress = deriveProgress(completedRun());
    expect(progress.final).toBe(true);
    expect(progress.outcome).toBe("completed");
    expect(progress.summary).toMatch(/completed/);
    expect(progress.steps.map((step) => step.key)).toEqual([
      "accepted",
      "published",
      "handed",
      "email",
      "tag_lead",
      "assign_owner",
      "create_crm_lead",
      "completed",
    ]);
    expect(progress.steps.every((step) => step.state === "done")).toBe(true);

    const steps = byKey(progress.steps);
    expect(steps.accepted?.time).toBe("2025-03-01T10:00:00.000100Z");
    expect(steps.accepted?.delayMs).toBeNull();
    expect(steps.published?.delayMs).toBe(120);
    expect(steps.handed?.time).toBe("2025-03-01T10:00:00.350000Z"); // the hand-over's delivered_at
    expect(steps.handed?.delayMs).toBe(230);
    expect(steps.tag_lead?.delayMs).toBe(150);
    expect(steps.tag_lead?.delayFrom).toBe("Handed to Celery");
    expect(steps.tag_lead?.detail).toBe("Tags: web-form, company");
    expect(steps.assign_owner?.detail).toBe("Owner: grace");
    // The mailer runs beside the workflow: its delay counts from whatever happened just before it.
    expect(steps.email?.delayMs).toBe(250);
    expect(steps.email?.delayFrom).toBe("Owner assigned");
    expect(steps.create_crm_lead?.delayMs).toBe(1200);
    expect(steps.create_crm_lead?.detail).toBe("CRM id: CRM-0042");
    expect(steps.completed?.delayMs).toBe(150);
    expect(steps.completed?.detail).toContain("CRM-0042");
  });

  it("a compensated run: the failure, the undo steps in the order they ran, then the reason", () => {
    const progress = deriveProgress(compensatedRun());
    expect(progress.final).toBe(true);
    expect(progress.outcome).toBe("compensated");
    expect(progress.summary).toMatch(/compensated/);
    const keys = progress.steps.map((step) => step.key);
    expect(keys.slice(-5)).toEqual([
      "failed",
      "compensated-create_crm_lead",
      "compensated-assign_owner",
      "compensated-tag_lead",
      "compensated-final",
    ]);

    const steps = byKey(progress.steps);
    expect(steps.failed).toMatchObject({
      label: "Step failed: create_crm_lead",
      state: "failed",
      detail: "CRM answered 503 Service Unavailable",
    });
    expect(steps["compensated-create_crm_lead"]).toMatchObject({ label: "Compensated: create_crm_lead", state: "done" });
    expect(steps["compensated-assign_owner"]?.delayMs).toBe(100);
    expect(steps["compensated-final"]?.state).toBe("done");
    expect(steps["compensated-final"]?.detail).toContain("CRM answered 503 Service Unavailable");

    // What ran before the failure stays done; the failed step is marked; what follows was never reached.
    expect(steps.tag_lead?.state).toBe("done");
    expect(steps.assign_owner?.state).toBe("done");
    expect(steps.create_crm_lead?.state).toBe("failed");
    expect(steps.completed?.state).toBe("skipped");
    expect(steps.email?.state).toBe("done");
  });

  it("keeps the timeline's order of compensations, whatever it is", () => {
    const run = compensatedRun();
    const undo = run.timeline.filter((item) => item.type === "WorkflowStepCompensated");
    const others = run.timeline.filter((item) => item.type !== "WorkflowStepCompensated");
    const reordered = [undo[2], undo[0], undo[1]].filter((item) => item !== undefined);
    const at = others.findIndex((item) => item.type === "WorkflowCompensated");
    run.timeline = [...others.slice(0, at), ...reordered, ...others.slice(at)];
    const keys = deriveProgress(run)
      .steps.map((step) => step.key)
      .filter((key) => key.startsWith("compensated-") && key !== "compensated-final");
    expect(keys).toEqual(["compensated-tag_lead", "compensated-create_crm_lead", "compensated-assign_owner"]);
  });

  it("an in-flight run shows what is still to come as pending", () => {
    const progress = deriveProgress(inFlightRun());
    expect(progress.final).toBe(false);
    expect(progress.outcome).toBeNull();
    const steps = byKey(progress.steps);
    expect(steps.accepted?.state).toBe("done");
    expect(steps.published?.state).toBe("done");
    expect(steps.handed?.state).toBe("done");
    expect(steps.tag_lead?.state).toBe("done");
    for (const key of ["email", "assign_owner", "create_crm_lead", "completed"]) {
      expect(steps[key]?.state, key).toBe("pending");
      expect(steps[key]?.time, key).toBeNull();
      expect(steps[key]?.delayMs, key).toBeNull();
    }
    expect(steps.failed).toBeUndefined();
  });

  it("a just-received run has only its first step done", () => {
    const progress = deriveProgress(receivedRun());
    expect(progress.steps.filter((step) => step.state === "done").map((step) => step.key)).toEqual(["accepted"]);
    expect(progress.summary).toMatch(/waiting/i);
  });

  it("while compensating: the failure is shown, the final compensation is pending, later steps are not reached", () => {
    const steps = byKey(deriveProgress(compensatingRun()).steps);
    expect(steps.tag_lead?.state).toBe("failed");
    expect(steps.assign_owner?.state).toBe("skipped");
    expect(steps.failed).toMatchObject({ state: "failed", detail: "Demo: tag_lead fails" });
    expect(steps["compensated-final"]?.state).toBe("pending");
    expect(steps.email?.state).toBe("pending");
  });

  it("a failed email is shown as such, with its reason", () => {
    const progress = deriveProgress(emailFailedRun());
    expect(progress.outcome).toBe("failed");
    expect(progress.summary).toBe("Failed: the confirmation email could not be sent (workflow completed)");
    const steps = byKey(progress.steps);
    expect(steps.email).toMatchObject({ label: "Email failed", state: "failed", detail: "SMTPConnectError: refused" });
    expect(steps.completed?.state).toBe("done");
  });

  it("a compensation that failed: final, marked failed, naming the undo that could not run", () => {
    const progress = deriveProgress(compensationFailedRun());
    expect(progress.final).toBe(true);
    expect(progress.outcome).toBe("failed");
    expect(progress.summary).toMatch(/operator/);
    const last = progress.steps[progress.steps.length - 1];
    expect(last?.label).toBe("Compensation failed");
    expect(last?.state).toBe("failed");
    expect(last?.detail).toMatch(/Could not undo: create_crm_lead/);
    expect(progress.steps.map((s) => s.key)).toContain("compensated-tag_lead");
  });

  it("an email waiting for its next attempt says when and why", () => {
    const progress = deriveProgress(emailRetryingRun());
    const email = progress.steps.find((s) => s.key === "email");
    expect(email?.state).toBe("pending");
    expect(email?.detail).toMatch(/^Retrying: next attempt at \d\d:\d\d:09\.000 \(attempt 3; last error: Connection/);
    expect(progress.final).toBe(false);
  });
});
