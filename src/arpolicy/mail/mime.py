"""Reading a received MIME message: headers as written, decoded subjects, addresses,
Message-IDs, text parts. Pure: bytes or a parsed message in, plain values out.

Parsed with the standard library (``email.policy.default``). Headers are read from their
raw text where only the addresses and ids matter, so a malformed header elsewhere cannot
stop a message from being read; every value is :func:`clean` (storable in any database).
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from contextlib import suppress
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

MAX_BYTES = 10 * 1024 * 1024
"""Largest message read (10 MB): replies and bounces are small."""

KNOWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "content-type",
        "received",
        "return-path",
        "mime-version",
        "in-reply-to",
        "references",
        "delivered-to",
        "sender",
        "reply-to",
    }
)
"""Headers every email has some of: a text with none of them is not an email."""
MSG_ID = re.compile(r"<([^<>\s]{1,250})>")


def parse_bytes(raw: bytes) -> Message:
    """``raw`` parsed with ``email.policy.default`` (never raises for a malformed message:
    the standard parser records defects instead)."""
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def clean(text: str | None, limit: int) -> str | None:
    """``text`` storable in any database: no NUL, valid UTF-8, at most ``limit`` chars
    (white space collapsed when ``limit`` is under 1000: a header, not a body)."""
    if text is None:
        return None
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    text = " ".join(text.split()) if limit < 1000 else text
    return text[:limit] or None


def header_names(msg: Message) -> set[str]:
    """The names of the headers of ``msg``, lower case."""
    return {str(k).lower() for k, _ in msg.raw_items()}


def raw_header(msg: Message, name: str) -> str:
    """The raw text of the first header ``name`` (lower case), unfolded, or ''."""
    for key, value in msg.raw_items():
        if key.lower() == name:
            return " ".join(str(value).split())
    return ""


def first_address(value: str) -> str | None:
    """The first address in the header text ``value``, lower case, or None."""
    try:
        found = [a for _, a in getaddresses([value]) if "@" in a]
    except Exception:  # a header bad enough to break the address parser
        return None
    return clean(found[0].lower(), 320) if found else None


def subject(msg: Message) -> str | None:
    """The decoded subject (the raw text when an encoded word cannot be decoded)."""
    value = raw_header(msg, "subject")
    with suppress(Exception):
        value = str(make_header(decode_header(value)))
    return clean(value, 998)


def message_ids(value: str) -> list[str]:
    """The ``<id>`` of the header text ``value`` (In-Reply-To, References), as written;
    bare ``id@host`` words when it has no brackets."""
    found = [f"<{m}>" for m in MSG_ID.findall(value)]
    if not found and value.strip():
        found = [f"<{w.strip('<>')}>" for w in value.split() if "@" in w and len(w) <= 250]
    return found


def own_message_id(msg: Message, raw: bytes) -> str:
    """The message's Message-ID, or ``<sha256-of-the-bytes@inbound.arpolicy>`` when it has
    none (so the same message received twice has the same id)."""
    ids = message_ids(raw_header(msg, "message-id"))
    if ids and len(ids[0]) <= 255:
        return clean(ids[0], 255) or ids[0]
    return f"<{hashlib.sha256(raw).hexdigest()}@inbound.arpolicy>"


def payload_text(part: Message) -> str:
    """The decoded text of one part (its charset, else UTF-8; bad bytes replaced)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def text_of(msg: Message) -> str:
    """Every text part of ``msg``, joined (at most :data:`MAX_BYTES` characters)."""
    parts = (payload_text(p) for p in msg.walk() if p.get_content_maintype() == "text")
    return "\n".join(parts)[:MAX_BYTES]


__all__ = [
    "KNOWN_HEADERS",
    "MAX_BYTES",
    "clean",
    "first_address",
    "header_names",
    "message_ids",
    "own_message_id",
    "parse_bytes",
    "payload_text",
    "raw_header",
    "subject",
    "text_of",
]
