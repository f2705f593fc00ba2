from django.db import models


class SagaRun(models.Model):
    """The lead workflow of one submission: where it stands and why it stopped."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        COMPENSATING = "COMPENSATING"
        COMPENSATED = "COMPENSATED"
        COMPENSATION_FAILED = "COMPENSATION_FAILED"

    # Nothing more will happen to the run (retention and the benchmark ask the stage, not its statuses).
    FINAL_STATUSES = (Status.COMPLETED, Status.COMPENSATED, Status.COMPENSATION_FAILED)

    submission = models.OneToOneField("intake.Submission", on_delete=models.CASCADE, related_name="saga_run")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RUNNING)
    failed_step = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    causation_id = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"saga {self.submission_id}: {self.status}"


class SagaStep(models.Model):
    """One step of a saga run that finished (and, if it was undone, when)."""

    class Status(models.TextChoices):
        DONE = "DONE"
        COMPENSATED = "COMPENSATED"
        UNDO_FAILED = "UNDO_FAILED"

    run = models.ForeignKey(SagaRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    result = models.JSONField(default=dict)
    undo_error = models.TextField(blank=True, default="")
    done_at = models.DateTimeField(auto_now_add=True)
    compensated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["done_at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="saga_step_once")]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class Lead(models.Model):
    """Our side of the lead: its tags, its owner and the CRM's id for it."""

    submission = models.OneToOneField("intake.Submission", on_delete=models.CASCADE, related_name="lead")
    tags = models.JSONField(default=list)
    owner = models.CharField(max_length=254, blank=True, default="")
    crm_lead_id = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"lead {self.submission_id}"
