"""Reading an inbound message: what it is (reply, bounce, automatic answer) and the
Message-IDs it refers to. Pure: bytes in, a :class:`Parsed` out, no database.

The reading itself is the platform's (:mod:`arpolicy.mail.mime` for headers, addresses and
ids, :mod:`arpolicy.mail.reports` for bounces and automatic answers); here it becomes what
engagement records: an ``InboundEmail`` of one kind, and the errors of the inbound
endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arpolicy.exceptions import ValidationError
from arpolicy.mail import mime, reports
from arpolicy.mail.mime import MAX_BYTES, clean


@dataclass
class Parsed:
    message_id: str
    """``<id>``: the message's own, or ``<sha256...@inbound.arpolicy>`` when it has none."""
    kind: str
    """reply, bounce or auto_reply (unmatched is decided by the caller)."""
    from_address: str | None
    subject: str | None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    """As written: oldest first."""
    original_message_id: str | None = None
    """Bounces: the Message-ID of the message that could not be delivered."""
    failed_recipients: list[str] = field(default_factory=list)
    diagnostic: str | None = None
    why: str | None = None
    """Why it was classified so (the header or subject that decided)."""


def parse(raw: bytes) -> Parsed:
    """The message in ``raw``, classified; ValidationError if it is not a MIME message."""
    _check(raw)
    msg = mime.parse_bytes(raw)
    if not mime.header_names(msg) & mime.KNOWN_HEADERS:
        raise _not_mime("it has none of the headers of an email (From, To, Subject, Date...)")
    subject = mime.subject(msg)
    parsed = Parsed(
        message_id=mime.own_message_id(msg, raw),
        kind="reply",
        from_address=mime.first_address(mime.raw_header(msg, "from")),
        subject=subject,
        in_reply_to=mime.message_ids(mime.raw_header(msg, "in-reply-to")),
        references=mime.message_ids(mime.raw_header(msg, "references")),
    )
    report = reports.bounce(msg, parsed.from_address, subject)
    if report is not None:
        parsed.kind = "bounce" if report.failed else "auto_reply"
        parsed.why = report.why
        parsed.failed_recipients = report.failed_recipients
        parsed.original_message_id = report.original_message_id
        parsed.diagnostic = report.diagnostic
        return parsed
    parsed.why = reports.automatic(msg, subject)
    if parsed.why:
        parsed.kind = "auto_reply"
    return parsed


def _check(raw: bytes) -> None:
    if len(raw) > MAX_BYTES:
        raise ValidationError(
            f"the message is {len(raw):,} bytes, over the limit of {MAX_BYTES:,}",
            where="body",
            fix="send the raw MIME of one reply or bounce; strip large attachments at the "
            "inbound-parse service",
        )
    if not raw.strip():
        raise _not_mime("it is empty")
    if b"\x00" in raw:
        raise _not_mime("it contains NUL bytes")


def _not_mime(why: str) -> ValidationError:
    return ValidationError(
        f"the body is not a MIME email message: {why}",
        where="body",
        fix="send the raw message (RFC 5322 headers, a blank line, the body) as "
        "message/rfc822, or in the form field 'email' (SendGrid) or 'body-mime' (Mailgun)",
    )


__all__ = ["MAX_BYTES", "Parsed", "clean", "parse"]
