"""The MIME message of a stored email (a reminder, a notification): the row mapped to
:class:`~arpolicy.mail.Outgoing` and composed (:func:`arpolicy.mail.compose`)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from arpolicy.mail import Outgoing, compose
from arpolicy.models import Email, Notification


def email_message(email: Email, *, date: datetime | None = None) -> EmailMessage:
    """The message to hand over for ``email``; ``Date`` is ``date`` (the hand-over time)
    or, without it, when the email was decided. Raises ValidationError for a header that
    would break the message (a line break in it)."""
    outgoing = Outgoing(
        from_address=email.from_address,
        to=email.to,
        cc=email.cc or (),
        reply_to=email.reply_to,
        subject=email.subject,
        text_body=email.text_body,
        html_body=email.html_body,
        message_id=email.message_id,
        key=email.key,
        where=f"emails[{email.id}]",
        fix="decide the email again with a single-line value",
    )
    return compose(outgoing, date=date or email.decided_at)


def notification_message(
    notification: Notification, *, sender: str, date: datetime
) -> EmailMessage:
    """The message to hand over for ``notification``, from ``sender``, dated ``date``."""
    outgoing = Outgoing(
        from_address=sender,
        to=[notification.to_address],
        subject=notification.subject,
        text_body=notification.text_body,
        html_body=notification.html_body,
        message_id=notification.message_id,
        key=notification.key,
        where=f"notifications[{notification.id}]",
        fix="notify again with a single-line value (the sender: ARPOLICY_NOTIFY_FROM)",
    )
    return compose(outgoing, date=date)


__all__ = ["email_message", "notification_message"]
