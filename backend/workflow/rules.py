"""The lead rules: which tags a lead gets and which owner it is assigned to (pure functions)."""

import hashlib
import re

from intake.models import Submission

FREE_EMAIL_DOMAINS = frozenset(
    {"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "gmx.de"}
)
URGENT = re.compile(r"\b(urgent|asap|immediately)\b", re.IGNORECASE)


def lead_tags_for(submission: Submission) -> list[str]:
    """Tags: where the lead came from, what kind of sender, and whether it sounds urgent."""
    domain = submission.email.rpartition("@")[2].lower()
    tags = ["web-form", "company" if submission.company else "individual"]
    if domain in FREE_EMAIL_DOMAINS:
        tags.append("free-email")
    if URGENT.search(submission.message):
        tags.append("urgent")
    return tags


def lead_owner_for(email: str, owners: list[str]) -> str:
    """The owner of a lead: chosen by the sender's email domain, so one company always gets one owner."""
    domain = email.rpartition("@")[2].lower()
    index = int.from_bytes(hashlib.sha256(domain.encode()).digest()[:8], "big") % len(owners)
    return owners[index]
