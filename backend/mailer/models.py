from django.db import models


class EmailDelivery(models.Model):
    """The confirmation email of one submission: at most one is ever sent."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SENDING = "SENDING"  # claimed by a worker until claimed_at + MAIL_LEASE_SECONDS
        RETRYING = "RETRYING"  # a transient failure; the reconciler sends it again at next_attempt_at
        SENT = "SENT"
        FAILED = "FAILED"

    # Nothing more will happen to the email (retention and the benchmark ask the stage, not its statuses).
    FINAL_STATUSES = (Status.SENT, Status.FAILED)

    submission = models.OneToOneField("intake.Submission", on_delete=models.CASCADE, related_name="email_delivery")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    recipient = models.EmailField(max_length=254)
    recipient_key = models.CharField(
        max_length=254, blank=True, default="", db_index=True, help_text="The mailbox, for the per-recipient limit."
    )
    message_id = models.CharField(max_length=255, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Start of the retry horizon.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    outcome_unknown_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a send's answer never came (the server may have delivered it): a possible second copy.",
    )

    class Meta:
        verbose_name_plural = "email deliveries"

    def __str__(self) -> str:
        return f"{self.recipient}: {self.status}"
