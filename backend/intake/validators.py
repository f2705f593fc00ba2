"""Rules a submission's text fields obey; shared by the API serializer and the admin."""

import unicodedata

from django.core.exceptions import ValidationError

# Line breaks and tabs are ordinary in a message; no other control or format character is.
MESSAGE_WHITESPACE = frozenset("\n\r\t")


def _has_control(value: str, allowed: frozenset[str]) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf") and char not in allowed for char in value)


def no_control_characters(value: str) -> None:
    """Single-line fields: no control characters at all (not even line breaks)."""
    if _has_control(value, frozenset()):
        raise ValidationError("Must not contain control characters.", code="control_characters")


def no_control_characters_multiline(value: str) -> None:
    """Multi-line fields: line breaks and tabs only."""
    if _has_control(value, MESSAGE_WHITESPACE):
        raise ValidationError("Must not contain control characters.", code="control_characters")
