"""Inbound messages as they arrive (a reply, RFC 3464 bounces, automatic answers) and
``create_*`` helpers for the emails and contacts they refer to."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.models import Contact, Customer, Email, EmailMode, EmailStatus, Tenant

SENT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


def create_contact(session: Session, customer: Customer, email: str, **kw: Any) -> Contact:
    kw.setdefault("external_id", f"K{next(_seq)}")
    kw.setdefault("is_billing", True)
    contact = Contact(tenant_id=customer.tenant_id, customer_id=customer.id, email=email, **kw)
    session.add(contact)
    session.flush()
    return contact


def create_email(
    session: Session, tenant: Tenant, customer: Customer, message_id: str, **kw: Any
) -> Email:
    n = next(_seq)
    kw.setdefault("key", f"1:first:{customer.id}:{n}")
    kw.setdefault("mode", EmailMode.LIVE)
    kw.setdefault("status", EmailStatus.SENT)
    kw.setdefault("decided_at", SENT)
    kw.setdefault("sent_at", SENT)
    kw.setdefault("from_address", "ar@shop.example")
    kw.setdefault("to", ["ann@acme.example"])
    kw.setdefault("subject", f"Invoice INV-{n} is overdue")
    kw.setdefault("text_body", "Please pay.")
    kw.setdefault("cycle", "Standard")
    kw.setdefault("reminder", "first")
    email = Email(tenant_id=tenant.id, customer_id=customer.id, message_id=message_id, **kw)
    session.add(email)
    session.flush()
    return email


def reply(
    *,
    message_id: str | None = "<reply-1@acme.example>",
    in_reply_to: str | None = None,
    references: str | None = None,
    sender: str = "Ann Example <Ann@Acme.example>",
    subject: str = "Re: Invoice INV-1 is overdue",
    extra: str = "",
    body: str = "We paid this yesterday, see the remittance advice.",
) -> bytes:
    headers = [
        f"From: {sender}",
        "To: Shop AR <ar@shop.example>",
        f"Subject: {subject}",
        "Date: Mon, 23 Nov 2026 11:58:00 +0100",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
    ]
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if extra:
        headers.append(extra)
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def postfix_dsn(
    original_id: str = "<reminder-1@shop.example>",
    recipient: str = "ann@acme.example",
    action: str = "failed",
) -> bytes:
    """A bounce as Postfix writes it (RFC 3464): the notice, the delivery report and the
    returned message's headers (text/rfc822-headers)."""
    status = "5.1.1" if action == "failed" else "4.4.1"
    return f"""Return-Path: <>
Received: by mx.example.net (Postfix) id 9B095B5A; Mon, 23 Nov 2026 12:05:00 +0000 (UTC)
Date: Mon, 23 Nov 2026 12:05:00 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: ar@shop.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="9B095B5A.1763899500/mx.example.net"
Content-Transfer-Encoding: 7bit
Message-Id: <20261123120500.9B095B5A@mx.example.net>

This is a MIME-encapsulated message.

--9B095B5A.1763899500/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mx.acme.example[203.0.113.5] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--9B095B5A.1763899500/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 9B095B5A
X-Postfix-Sender: rfc822; ar@shop.example
Arrival-Date: Mon, 23 Nov 2026 12:04:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.acme.example
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User
    unknown in virtual mailbox table

--9B095B5A.1763899500/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 7bit

Return-Path: <ar@shop.example>
Received: from app.shop.example (app.shop.example [198.51.100.7])
\tby mx.example.net (Postfix) with ESMTPS id 9B095B5A
\tfor <{recipient}>; Mon, 23 Nov 2026 12:04:58 +0000 (UTC)
From: Shop AR <ar@shop.example>
To: {recipient}
Subject: Invoice INV-1 is overdue
Message-ID: {original_id}
Date: Mon, 23 Nov 2026 12:04:58 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

--9B095B5A.1763899500/mx.example.net--
""".replace("\n", "\r\n").encode()


def exchange_dsn(original_id: str, recipient: str) -> bytes:
    """A bounce with the whole returned message attached (message/rfc822)."""
    return f"""From: postmaster@outlook.example
To: ar@shop.example
Subject: Undeliverable: Invoice INV-2 is overdue
Date: Mon, 23 Nov 2026 12:06:00 +0000
Message-ID: <dsn-7781@outlook.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="b1"

--b1
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups: {recipient}

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns;outlook.example

Final-Recipient: rfc822;{recipient.upper()}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found

--b1
Content-Type: message/rfc822

From: Shop AR <ar@shop.example>
To: {recipient}
Subject: Invoice INV-2 is overdue
Message-ID: {original_id}

Please pay.

--b1--
""".encode()
