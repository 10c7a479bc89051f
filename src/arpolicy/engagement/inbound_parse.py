"""Reading an inbound message: what it is (reply, bounce, automatic answer) and the
Message-IDs it refers to. Pure: bytes in, a :class:`Parsed` out, no database.

Parsed with the standard library (``email.policy.default``). Headers are read from their
raw text where only the addresses and ids matter, so a malformed header elsewhere cannot
stop a message from being classified.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from contextlib import suppress
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses

from arpolicy.exceptions import ValidationError

MAX_BYTES = 10 * 1024 * 1024
"""Largest message accepted (10 MB): replies are small; a bigger one is not for us."""

KNOWN_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "content-type", "received", "return-path",
     "mime-version", "in-reply-to", "references", "delivered-to", "sender", "reply-to"}
)  # fmt: skip
MSG_ID = re.compile(r"<([^<>\s]{1,250})>")
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
    msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    if not _names(msg) & KNOWN_HEADERS:
        raise _not_mime("it has none of the headers of an email (From, To, Subject, Date...)")
    sender = _address(_raw(msg, "from"))
    parsed = Parsed(
        message_id=_own_id(_raw(msg, "message-id"), raw),
        kind="reply",
        from_address=sender,
        subject=_subject(msg),
        in_reply_to=_ids(_raw(msg, "in-reply-to")),
        references=_ids(_raw(msg, "references")),
    )
    if _bounce(msg, parsed):
        return parsed
    parsed.why = _automatic(msg, parsed.subject)
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


def clean(text: str | None, limit: int) -> str | None:
    """``text`` storable in any database: no NUL, valid UTF-8, at most ``limit`` chars."""
    if text is None:
        return None
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    text = " ".join(text.split()) if limit < 1000 else text
    return text[:limit] or None


def _names(msg: Message) -> set[str]:
    return {str(k).lower() for k, _ in msg.raw_items()}


def _raw(msg: Message, name: str) -> str:
    """The raw text of the first header ``name`` (unfolded), or ''."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return " ".join(str(value).split())
    return ""


def _address(value: str) -> str | None:
    try:
        found = [a for _, a in getaddresses([value]) if "@" in a]
    except Exception:  # a header bad enough to break the address parser
        return None
    return clean(found[0].lower(), 320) if found else None


def _subject(msg: Message) -> str | None:
    value = _raw(msg, "subject")
    with suppress(Exception):  # keeps the raw text of an undecodable encoded word
        value = str(make_header(decode_header(value)))
    return clean(value, 998)


def _ids(value: str) -> list[str]:
    found = [f"<{m}>" for m in MSG_ID.findall(value)]
    if not found and value.strip():
        found = [f"<{w.strip('<>')}>" for w in value.split() if "@" in w and len(w) <= 250]
    return found


def _own_id(value: str, raw: bytes) -> str:
    ids = _ids(value)
    if ids and len(ids[0]) <= 255:
        return clean(ids[0], 255) or ids[0]
    return f"<{hashlib.sha256(raw).hexdigest()}@inbound.arpolicy>"


# --- bounces (RFC 3464 delivery status notifications) -----------------------------------


def _bounce(msg: Message, parsed: Parsed) -> bool:
    """Fill in the bounce fields and return True when ``msg`` is a bounce."""
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )
    local = (parsed.from_address or "").split("@")[0]
    daemon = local in DAEMONS or _raw(msg, "from").lower().startswith(DAEMONS)
    status = _delivery_status(msg)
    text = _text_of(msg) if (daemon and status is None) else ""
    has_dsn = status is not None or bool(FIELD_LINE.search(text))
    has_dsn = has_dsn or bool(_raw(msg, "x-failed-recipients"))
    daemon_bounce = daemon and (has_dsn or bool(BOUNCE_SUBJECT.search(parsed.subject or "")))
    if not (is_report and status is not None) and not daemon_bounce:
        return False
    recipients, actions, diagnostic = status or ([], [], None)
    if not recipients:
        recipients = [_after_type(v) for _, v in FIELD_LINE.findall(text)]
    recipients += [a.strip().lower() for a in _raw(msg, "x-failed-recipients").split(",")]
    parsed.failed_recipients = sorted({r for r in recipients if "@" in r})
    parsed.original_message_id = _original_id(msg, text)
    parsed.diagnostic = clean(diagnostic, 500)
    if actions and all(a in ("delayed", "delivered", "relayed", "expanded") for a in actions):
        parsed.kind, parsed.why = "auto_reply", f"delivery status notification ({actions[0]})"
        return True
    parsed.kind = "bounce"
    parsed.why = "multipart/report delivery-status" if is_report else f"from {local}"
    return True


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
                ids = _ids(_raw(inner, "message-id"))
                if ids:
                    return ids[0]
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_payload_text(part))
            ids = _ids(" ".join(str(headers.get("Message-ID", "")).split()))
            if ids:
                return ids[0]
    found = ORIGINAL_ID_LINE.search(text or _text_of(msg))
    return found.group(1) if found else None


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def _text_of(msg: Message) -> str:
    """Every text part, for bounces that are not RFC 3464 reports."""
    return "\n".join(_payload_text(p) for p in msg.walk() if p.get_content_maintype() == "text")[
        :MAX_BYTES
    ]


# --- automatic answers -----------------------------------------------------------------------


def _automatic(msg: Message, subject: str | None) -> str | None:
    auto = _raw(msg, "auto-submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponse", "x-autoreply-from"):
        if name in _names(msg):
            return f"{name} header"
    precedence = _raw(msg, "precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    if subject and AUTO_SUBJECT.search(subject):
        return f"subject {subject[:60]!r}"
    return None
