import uuid

from django.db import models

from events.saga import STEPS


class Submission(models.Model):
    """One contact-form submission, as accepted by the API."""

    # The demo's failure control: no failure, or one of the saga's steps (events/saga.py). The API
    # checks the value against these; the column has no choices, so a new step needs no migration.
    DEMO_FAIL_CHOICES = [("", "no failure"), *((step.name, step.name) for step in STEPS)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    correlation_id = models.UUIDField(default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254)
    company = models.CharField(max_length=100, blank=True, default="")
    message = models.TextField(max_length=5000)
    demo_fail_at = models.CharField(
        max_length=32, blank=True, default="", help_text="Demo control: fail this step (one of DEMO_FAIL_CHOICES)."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    access_token_hash = models.CharField(
        max_length=64, blank=True, default="", editable=False, help_text="SHA-256 of the visitor's access token."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class TimelineEntry(models.Model):
    """The read model: one row per event about a submission, as the bridge read it from Kafka."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="timeline")
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    event_version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField(help_text="The event's own time.")
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="When the bridge read it from Kafka.")
    recorded_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["submission", "occurred_at"], name="timeline_submission_idx")]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.event_type} @ {self.occurred_at:%H:%M:%S.%f}"
