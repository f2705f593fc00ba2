"""Rules a submission's text fields obey; shared by the API serializer and the admin.

They refuse what can deceive or break whoever reads the text later (a mail client, the admin, a
terminal): control characters, and the bidirectional embeddings, overrides and isolates that make
text display in another order than it is stored ("Trojan Source"). They accept every character real
names need: the zero-width non-joiner of Persian and other scripts, the zero-width joiner and tag
characters inside emoji sequences, and the left-to-right and right-to-left marks of mixed-script text.
"""

import unicodedata

from django.core.exceptions import ValidationError

# Line breaks and tabs are ordinary in a message.
MESSAGE_WHITESPACE = frozenset("\n\r\t")
# Format characters (category Cf) that real text uses and that reorder nothing.
ZWNJ, ZWJ = "\u200c", "\u200d"
TEXT_FORMAT = frozenset({ZWNJ, ZWJ, "\u200e", "\u200f", "\u061c", "\u00ad"})  # + LRM, RLM, ALM, soft hyphen
EMOJI_TAGS = range(0xE0020, 0xE0080)  # subdivision flags: 🏴 + tag letters + cancel tag
# Embeddings, overrides and isolates: text after them displays in another order than it is stored.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused(char: str, allowed: frozenset[str]) -> str | None:
    if char in allowed:
        return None
    if char in BIDI_CONTROLS:
        return "bidi"
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Zl", "Zp"):  # controls, lone surrogates, line/paragraph separators
        return "control"
    if category == "Cf" and char not in TEXT_FORMAT and ord(char) not in EMOJI_TAGS:
        return "control"  # e.g. zero-width space, word joiner, byte-order mark
    return None


def _check(value: str, allowed: frozenset[str]) -> None:
    reasons = {_refused(char, allowed) for char in value} - {None}
    if "bidi" in reasons:
        raise ValidationError(
            "Must not contain bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069).",
            code="bidi_control",
        )
    if reasons:
        raise ValidationError("Must not contain control characters.", code="control_characters")


def no_control_characters(value: str) -> None:
    """Single-line fields: no control characters at all (not even line breaks)."""
    _check(value, frozenset())


def no_control_characters_multiline(value: str) -> None:
    """Multi-line fields: line breaks and tabs only."""
    _check(value, MESSAGE_WHITESPACE)
