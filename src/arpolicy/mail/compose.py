"""The MIME message of an outgoing email, from plain data.

:func:`compose` turns an :class:`Outgoing` (addresses, subject, bodies, Message-ID, the
idempotency key) into an RFC 5322 message: UTF-8 throughout, encoded words in headers
(:mod:`arpolicy.mail.headers` folds the subject so it reads back exactly),
quoted-printable bodies so any server takes them, ``multipart/alternative`` with the
text first when there is an HTML body. Whoever stores emails (a reminder, a
notification) maps its row to an :class:`Outgoing`; this module knows no table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from arpolicy.exceptions import ValidationError
from arpolicy.mail.headers import POLICY


@dataclass(frozen=True)
class Outgoing:
    """What an email says, and who it is from and for."""

    from_address: str
    to: Sequence[str]
    subject: str
    text_body: str
    message_id: str
    """``<id@host>``: the same on every hand-over, so receivers see one message."""
    key: str
    """The idempotency key of the stored email (``X-Arpolicy-Key``)."""
    cc: Sequence[str] = ()
    reply_to: str | None = None
    html_body: str | None = None
    where: str = "email"
    """Where the email is stored (``emails[42]``), for the error of a bad header."""
    fix: str = "store the email again with a single-line value"
    """How to repair a header with a line break, for that error."""


def compose(email: Outgoing, *, date: datetime) -> EmailMessage:
    """The message to hand over for ``email``, dated ``date`` (the hand-over time).
    Raises ValidationError for a header that would break the message (a line break in
    it)."""
    msg = EmailMessage(policy=POLICY)
    headers = {
        "From": email.from_address,
        "To": ", ".join(email.to),
        "Cc": ", ".join(email.cc),
        "Reply-To": email.reply_to or "",
        "Subject": email.subject,
        "Date": format_datetime(date),
        "Message-ID": email.message_id,
        "Auto-Submitted": "auto-generated",
        "X-Arpolicy-Key": email.key,
    }
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValidationError(
                f"the {name} header contains a line break",
                where=f"{email.where}.{name.lower()}",
                fix=email.fix,
            )
        if value:
            msg[name] = value
    msg.set_content(email.text_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if email.html_body:
        msg.add_alternative(
            email.html_body, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    return msg


__all__ = ["Outgoing", "compose"]
