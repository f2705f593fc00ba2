import uuid

from django.db import models


class CrmLead(models.Model):
    """A lead as the (mock) CRM stores it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=64, unique=True, help_text="The caller's id: the submission id.")
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254)
    company = models.CharField(max_length=100, blank=True, default="")
    owner = models.CharField(max_length=254, blank=True, default="")
    tags = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "CRM lead"

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"
