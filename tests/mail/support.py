"""Outgoing emails as plain data for the mail tests (German text, a non-ASCII name)."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

from arpolicy.mail import Outgoing, compose

_seq = itertools.count(1)
AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def outgoing(**kw: Any) -> Outgoing:
    """An :class:`Outgoing` with a unique Message-ID and key, as a reminder would be."""
    n = next(_seq)
    values: dict[str, Any] = {
        "from_address": "Buchhaltung Müller GmbH <ar@mueller.example>",
        "reply_to": "Forderungen <ar-replies@mueller.example>",
        "to": [f"Jürgen Groß <kunde{n}@example.com>"],
        "cc": [],
        "subject": f"Zahlungserinnerung Nr. {n}: Rechnung überfällig",
        "text_body": "Sehr geehrte Damen und Herren,\nbitte begleichen Sie 1.234,56 €.\n",
        "html_body": None,
        "message_id": f"<r{n}.{uuid.uuid4().hex[:12]}@mail.arpolicy.test>",
        "key": f"1:first:7:{n}",
        "where": "emails[42]",
    }
    values.update(kw)
    return Outgoing(**values)


def subject_read_back(subject: str) -> tuple[str, str, bytes]:
    """The subject as a reader gets it: under the default policy, and by decode_header
    on the unfolded raw header (compat32); and the raw header."""
    raw = compose(outgoing(subject=subject), date=AT).as_bytes()
    header = raw.split(b"\n\n")[0].split(b"\nSubject: ")[1].split(b"\nDate: ")[0]
    compat = message_from_bytes(raw)  # the old API: unfold, then decode_header
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", compat["Subject"])
    decoded = str(make_header(decode_header(unfolded)))
    return str(message_from_bytes(raw, policy=policy.default)["Subject"]), decoded, header
