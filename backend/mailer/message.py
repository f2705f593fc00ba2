"""The confirmation email itself: its Message-ID, its content (django-templated-mail, the visitor's text
defanged), and the addresses: the mailbox an address reaches, and text with the address taken out."""

import re

from django.conf import settings
from templated_mail.mail import BaseEmailMessage

from intake.models import Submission
from mailer.defang import defang

TEMPLATE = "mailer/confirmation.html"


def confirmation_message_id(submission: Submission) -> str:
    """A stable Message-ID, so that a mail system can also recognise a repeat."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<confirmation.{submission.id}@{domain}>"


ECHO_CHARACTERS = 500  # of the visitor's message quoted back: enough to recognise it, too little to carry a payload


def _echo(message: str) -> str:
    """The start of the visitor's message, defanged, as the confirmation quotes it."""
    if len(message) > ECHO_CHARACTERS:
        message = message[:ECHO_CHARACTERS].rstrip() + " […]"
    return defang(message)


def confirmation_build(*, submission: Submission) -> BaseEmailMessage:
    """The rendered-on-send confirmation for a submission (HTML and text; the template escapes input).

    Its subject is fixed and the visitor's text in its body is defanged (mailer/defang.py)."""
    return BaseEmailMessage(
        template_name=TEMPLATE,
        context={
            "name": defang(submission.name),
            "company": defang(submission.company),
            "message": _echo(submission.message),
            "submission_id": str(submission.id),
        },
        headers={"Message-ID": confirmation_message_id(submission)},
    )


_QUOTED_PAIR = re.compile(r"\\(.)")


def recipient_key(address: str) -> str:
    """The mailbox an address reaches, for the per-recipient limit. Other spellings of one mailbox make
    no other key: case, a "+tag", a quoted local part and its quoted pairs ("a\\da" is ada), and a
    domain written in Unicode or in punycode (bücher.example is xn--bcher-kva.example)."""
    local, _, domain = address.strip().rpartition("@")
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    domain = domain.rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a name IDNA can write: keep it as typed (it is compared lower-cased)
        pass
    return f"{local.lower().split('+', 1)[0]}@{domain.lower()}"


def without_address(text: str, address: str) -> str:
    """`text` (an SMTP server's answer, say) with the recipient's address taken out: what goes to logs
    and events names the submission, never the person (see the README's "Erasure")."""
    if not address:
        return text
    return re.sub(re.escape(address), "<recipient>", text, flags=re.IGNORECASE)
