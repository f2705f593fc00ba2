// Generated from backend/events/saga.py by `cd backend && python -m events.saga`: do not edit.
// A unit test fails when this file and the saga's steps differ.
export const WORKFLOW_STEPS = ["tag_lead", "assign_owner", "create_crm_lead"] as const;
export type WorkflowStep = (typeof WORKFLOW_STEPS)[number];
export const STEP_LABELS: Record<WorkflowStep, string> = {
  tag_lead: "Lead tagged",
  assign_owner: "Owner assigned",
  create_crm_lead: "CRM lead created",
};
export const DEMO_FAILURE_NOTES: Partial<Record<WorkflowStep, string>> = {
  create_crm_lead: "CRM answers 503",
};
