from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """An event written in the same transaction as the state change it reports, until Kafka has it."""

    id = models.UUIDField(primary_key=True, help_text="The event id (the envelope's id).")
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200, help_text="Kafka key: the submission id, so its events stay in order.")
    event_type = models.CharField(max_length=100)
    payload = models.TextField(help_text="The encoded envelope, exactly as it goes to Kafka.")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # Only unsent rows are ever claimed: a partial index keeps that scan small forever.
            models.Index(fields=["created_at"], condition=Q(published_at__isnull=True), name="outbox_unsent_idx"),
            models.Index(fields=["key"], name="outbox_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
