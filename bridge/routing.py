"""What the bridge does, in one table: (event type, version) → handler.

None: a known event with nothing to hand off (its timeline row was written where it happened).
"""

from bridge import handlers

ROUTES = {
    ("ContactFormSubmitted", 2): handlers.start_processing,
    ("ContactFormSubmitted", 1): handlers.start_processing,  # written by an older release
    ("EmailDispatched", 2): None,
    ("EmailDispatched", 1): None,
    ("EmailFailed", 2): None,
    ("EmailFailed", 1): None,
    ("WorkflowStepCompleted", 1): None,
    ("WorkflowStepFailed", 1): None,
    ("WorkflowStepCompensated", 1): None,
    ("WorkflowCompleted", 1): None,
    ("WorkflowCompensated", 1): None,
    ("WorkflowCompensationFailed", 1): None,
}
