"""Messages that a machine sent back: bounces (RFC 3464 delivery status notifications, and
the plain-text ones mailer daemons still write) and automatic answers (RFC 3834
``Auto-Submitted``, the ``X-Autoreply`` family, out-of-office subjects). Pure: a parsed
message in, what it reports out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

from arpolicy.mail.mime import (
    clean,
    header_names,
    message_ids,
    payload_text,
    raw_header,
    text_of,
)

DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response|antwort)"
    r"|abwesenheitsnotiz|abwesenheit|r[ée]ponse automatique|absence|autosvar"
    r"|respuesta autom[aá]tica|risposta automatica|fuori sede|afwezigheidsbericht)",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|returned mail|delivery status notification \(failure\)|delivery failure"
    r"|mail delivery (failed|subsystem)|unzustellbar|non remis|failure notice)",
    re.IGNORECASE,
)
FIELD_LINE = re.compile(r"^(Final-Recipient|Original-Recipient):\s*(.+)$", re.I | re.M)
ORIGINAL_ID_LINE = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
NOT_FAILED = ("delayed", "delivered", "relayed", "expanded")
"""DSN actions that report no failure: a delay notice is an automatic answer."""


@dataclass
class Bounce:
    """What a delivery report says."""

    failed: bool
    """False for a report of delay or delivery only (every action in :data:`NOT_FAILED`)."""
    why: str
    """What made it a report (``multipart/report delivery-status``, ``from mailer-daemon``,
    or the action reported)."""
    failed_recipients: list[str] = field(default_factory=list)
    original_message_id: str | None = None
    """The Message-ID of the message that could not be delivered."""
    diagnostic: str | None = None


def bounce(msg: Message, sender: str | None, subject: str | None) -> Bounce | None:
    """The delivery report ``msg`` is, or None when it is none. ``sender`` is its From
    address and ``subject`` its decoded subject."""
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )
    local = (sender or "").split("@")[0]
    daemon = local in DAEMONS or raw_header(msg, "from").lower().startswith(DAEMONS)
    status = _delivery_status(msg)
    text = text_of(msg) if (daemon and status is None) else ""
    has_dsn = status is not None or bool(FIELD_LINE.search(text))
    has_dsn = has_dsn or bool(raw_header(msg, "x-failed-recipients"))
    daemon_bounce = daemon and (has_dsn or bool(BOUNCE_SUBJECT.search(subject or "")))
    if not (is_report and status is not None) and not daemon_bounce:
        return None
    recipients, actions, diagnostic = status or ([], [], None)
    if not recipients:
        recipients = [_after_type(v) for _, v in FIELD_LINE.findall(text)]
    recipients += [a.strip().lower() for a in raw_header(msg, "x-failed-recipients").split(",")]
    found = Bounce(
        failed=True,
        why="multipart/report delivery-status" if is_report else f"from {local}",
        failed_recipients=sorted({r for r in recipients if "@" in r}),
        original_message_id=_original_id(msg, text),
        diagnostic=clean(diagnostic, 500),
    )
    if actions and all(a in NOT_FAILED for a in actions):
        found.failed = False
        found.why = f"delivery status notification ({actions[0]})"
    return found


def automatic(msg: Message, subject: str | None) -> str | None:
    """Why ``msg`` is an automatic answer (the header or subject that says so), or None."""
    auto = raw_header(msg, "auto-submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponse", "x-autoreply-from"):
        if name in header_names(msg):
            return f"{name} header"
    precedence = raw_header(msg, "precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    if subject and AUTO_SUBJECT.search(subject):
        return f"subject {subject[:60]!r}"
    return None


def _delivery_status(msg: Message) -> tuple[list[str], list[str], str | None] | None:
    """(failed recipients, actions, diagnostic) of the message/delivery-status part."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks: list[Message] = (
            [b for b in payload if isinstance(b, Message)]
            if isinstance(payload, list)
            else _field_blocks(str(payload))  # not split into field blocks: read the text
        )
        recipients: list[str] = []
        actions: list[str] = []
        diagnostic = None
        for block in blocks[1:] or blocks:
            action = str(block.get("Action", "failed")).strip().lower()
            actions.append(action)
            target = block.get("Final-Recipient") or block.get("Original-Recipient")
            if target and action == "failed":
                recipients.append(_after_type(str(target)))
            if diagnostic is None and block.get("Diagnostic-Code"):
                diagnostic = _after_type(str(block.get("Diagnostic-Code")))
        return recipients, actions, diagnostic
    return None


def _field_blocks(text: str) -> list[Message]:
    chunks = [c for c in re.split(r"\r?\n\s*\r?\n", text) if c.strip()]
    return [HeaderParser().parsestr(c) for c in chunks]


def _after_type(value: str) -> str:
    """``rfc822; ann@example.com`` -> ``ann@example.com`` (lower case for addresses)."""
    value = " ".join(value.split())
    value = value.split(";", 1)[1].strip() if ";" in value else value
    return value.strip("<>").lower() if "@" in value and " " not in value else value


def _original_id(msg: Message, text: str) -> str | None:
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                ids = message_ids(raw_header(inner, "message-id"))
                if ids:
                    return ids[0]
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(payload_text(part))
            ids = message_ids(" ".join(str(headers.get("Message-ID", "")).split()))
            if ids:
                return ids[0]
    found = ORIGINAL_ID_LINE.search(text or text_of(msg))
    return found.group(1) if found else None


__all__ = ["AUTO_SUBJECT", "BOUNCE_SUBJECT", "DAEMONS", "Bounce", "automatic", "bounce"]
