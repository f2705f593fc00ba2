"""What the bridge does, in one table: (event type, version) → handler."""

from bridge import handlers

ROUTES = {
    ("ContactFormSubmitted", 1): handlers.start_processing,
    ("EmailDispatched", 1): handlers.record_only,
    ("EmailFailed", 1): handlers.record_only,
    ("WorkflowStepCompleted", 1): handlers.record_only,
    ("WorkflowStepFailed", 1): handlers.record_only,
    ("WorkflowStepCompensated", 1): handlers.record_only,
    ("WorkflowCompleted", 1): handlers.record_only,
    ("WorkflowCompensated", 1): handlers.record_only,
    ("WorkflowCompensationFailed", 1): handlers.record_only,
}
