"""Visitor text inside the confirmation, made unclickable.

The confirmation goes to whatever address the form was given, so it must carry nothing a stranger
could use: no visitor text in any header (the subject is fixed), and no link in the body. Mail
clients turn anything that looks like a URL, a domain or an address into a link, even in plain
text, so those are written "defanged", the way security reports quote them: `hxxp[://]phish[.]example`.
A reader still sees what was typed; nothing is one click away.
"""

import re

# A word followed by ":" or "://"; only the schemes below are touched ("Note: hi" stays).
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]{1,20})(://|:)", re.IGNORECASE)
# Something dotted that ends in a label of two or more letters: a domain, or an address's domain.
_DOMAIN = re.compile(r"\b((?:[\w-]+\.)+)([^\W\d_]{2,63})\b")
_LINKABLE_SCHEMES = {"http", "https", "ftp", "ftps", "mailto", "javascript", "data", "file", "tel", "sms", "ws", "wss"}


def _scheme(match: re.Match) -> str:
    scheme, separator = match.group(1), match.group(2)
    if scheme.lower() not in _LINKABLE_SCHEMES:
        return match.group(0)  # "Ratio 1:2", "Note: ..."
    if scheme.lower().startswith("http"):
        scheme = "hxxp" + scheme[4:]
    return f"{scheme}[{separator}]"


# Spellings a mail client (or IDNA) reads as a plain dot, and invisible characters that split a word for
# the eye but not for a link detector: made plain, or dropped, before looking for links. ZWJ and ZWNJ
# stay (names and emoji need them) and split nothing a link detector joins.
_AS_DOT = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": ".", "\u2024": "."})
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\u180e]")


def defang(text: str) -> str:
    """`text` with every URL scheme and dotted domain broken for link detection, otherwise unchanged."""
    text = _INVISIBLE.sub("", text.translate(_AS_DOT))
    text = _SCHEME.sub(_scheme, text)
    return _DOMAIN.sub(lambda m: m.group(1).replace(".", "[.]") + m.group(2), text)
