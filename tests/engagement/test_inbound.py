"""Replies and bounces (issue 6): matching, effects, idempotency, garbage refused; on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.engagement.inbound import receive
from arpolicy.engagement.inbound_parse import MAX_BYTES, parse
from arpolicy.exceptions import ValidationError
from arpolicy.models import (
    AuditEvent,
    EmailStatus,
    InboundEmail,
    InboundKind,
    OutboxMessage,
    WebhookEndpoint,
)
from tests.engagement.inbound_support import (
    create_contact,
    create_email,
    exchange_dsn,
    postfix_dsn,
    reply,
)
from tests.fixtures.factories import create_customer, create_document, create_tenant

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(session):
    tenant = create_tenant(session, "shop")
    customer = create_customer(session, tenant, external_id="ACME", name="Acme")
    ann = create_contact(session, customer, "ann@acme.example")
    bob = create_contact(session, customer, "bob@acme.example")
    session.add(
        WebhookEndpoint(
            tenant_id=tenant.id,
            url="https://hooks.example.com/ar",
            events=["*"],
            secret="whsec_dGVzdA==",
            active=True,
        )
    )
    session.flush()
    return tenant, customer, ann, bob


def _receive(session, tenant, raw, at=AT):
    return receive(session, tenant, raw, at=at, actor=Actor(tenant_id=tenant.id, label="test"))


def _events(session, tenant, action=None):
    stmt = select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt.order_by(AuditEvent.id)))


def _hooks(session, tenant):
    stmt = select(OutboxMessage.event_type).where(OutboxMessage.tenant_id == tenant.id)
    return list(session.scalars(stmt.order_by(OutboxMessage.id)))


def test_a_reply_is_matched_by_in_reply_to(session, shop):
    tenant, customer, _, _ = shop
    doc = create_document(session, tenant, customer, "100.00")
    email = create_email(session, tenant, customer, "<reminder-1@shop.example>", documents=[doc.id])
    result = _receive(session, tenant, reply(in_reply_to="<reminder-1@shop.example>"))
    assert (result.kind, result.matched_by, result.email_id, result.customer_id) == (
        "reply",
        "in_reply_to",
        email.id,
        customer.id,
    )
    assert result.effects == ["email.replied", "customer.replied"] and not result.duplicate
    session.refresh(email)
    session.refresh(customer)
    session.refresh(doc)
    assert email.replied_at == AT and customer.last_reply_at == AT and doc.last_reply_at == AT
    assert email.status == EmailStatus.SENT
    stored = session.get(InboundEmail, result.inbound_email_id)
    assert stored.kind == InboundKind.REPLY and stored.from_address == "ann@acme.example"
    assert stored.message_id == "<reply-1@acme.example>"
    assert _events(session, tenant) == [
        "inbound_email.received",
        "email.replied",
        "customer.replied",
    ]
    assert _hooks(session, tenant) == ["email.replied"]


def test_last_reply_date_only_moves_forward(session, shop):
    tenant, customer, _, _ = shop
    create_email(session, tenant, customer, "<reminder-1@shop.example>")
    _receive(session, tenant, reply(in_reply_to="<reminder-1@shop.example>"), at=AT)
    later = reply(message_id="<reply-0@acme.example>", in_reply_to="<reminder-1@shop.example>")
    result = _receive(session, tenant, later, at=AT - timedelta(days=1))
    assert result.kind == "reply" and result.effects == []
    session.refresh(customer)
    assert customer.last_reply_at == AT


def test_a_reply_is_matched_by_references_newest_first(session, shop):
    tenant, customer, _, _ = shop
    other = create_customer(session, tenant, external_id="OTHER")
    first = create_email(session, tenant, other, "<reminder-1@shop.example>")
    second = create_email(session, tenant, customer, "reminder-2@shop.example")  # no brackets
    raw = reply(
        in_reply_to="<unknown@mail.acme.example>",
        references="<reminder-1@shop.example>\r\n <x@elsewhere.example> <reminder-2@shop.example>",
    )
    result = _receive(session, tenant, raw)
    assert (result.matched_by, result.email_id, result.customer_id) == (
        "references",
        second.id,
        customer.id,
    )
    session.refresh(first)
    assert first.replied_at is None


def test_a_reply_without_references_is_matched_by_the_sender(session, shop):
    tenant, customer, _, _ = shop
    result = _receive(session, tenant, reply(sender="BOB@acme.example"))
    assert (result.kind, result.matched_by, result.customer_id, result.email_id) == (
        "reply",
        "from_address",
        customer.id,
        None,
    )
    session.refresh(customer)
    assert customer.last_reply_at == AT


def test_an_unknown_sender_is_unmatched(session, shop):
    tenant, customer, _, _ = shop
    result = _receive(session, tenant, reply(sender="eve@nowhere.example"))
    assert (result.kind, result.customer_id, result.matched_by) == ("unmatched", None, None)
    assert "no contact with eve@nowhere.example" in (result.detail or "")
    session.refresh(customer)
    assert customer.last_reply_at is None
    assert session.get(InboundEmail, result.inbound_email_id).kind == InboundKind.UNMATCHED
    assert _hooks(session, tenant) == []


def test_another_tenants_email_is_never_matched(session, shop):
    tenant, _, _, _ = shop
    other = create_tenant(session, "other")
    theirs = create_customer(session, other)
    create_email(session, other, theirs, "<theirs@other.example>")
    result = _receive(
        session, tenant, reply(sender="x@y.example", in_reply_to="<theirs@other.example>")
    )
    assert result.kind == "unmatched" and result.email_id is None


def test_a_dsn_bounce_marks_the_email_and_the_contact(session, shop):
    tenant, customer, ann, bob = shop
    email = create_email(
        session,
        tenant,
        customer,
        "<reminder-1@shop.example>",
        to=["ann@acme.example", "bob@acme.example"],
    )
    result = _receive(session, tenant, postfix_dsn())
    assert (result.kind, result.matched_by, result.email_id) == (
        "bounce",
        "original_message_id",
        email.id,
    )
    assert result.effects == ["email.bounced", f"contact.bounced:{ann.id}"]
    assert "ann@acme.example" in result.detail and "User unknown" in result.detail
    for row in (email, ann, bob, customer):
        session.refresh(row)
    assert email.status == EmailStatus.BOUNCED and email.bounced_at == AT
    assert (ann.bounced, bob.bounced) == (True, False)
    assert customer.last_reply_at is None
    assert _events(session, tenant)[1:] == ["email.bounced", "contact.bounced"]
    assert _hooks(session, tenant) == ["email.bounced"]


def test_a_bounce_with_the_returned_message_attached(session, shop):
    tenant, customer, _, bob = shop
    email = create_email(
        session, tenant, customer, "<reminder-9@shop.example>", to=["bob@acme.example"]
    )
    result = _receive(
        session, tenant, exchange_dsn("<reminder-9@shop.example>", "bob@acme.example")
    )
    assert (result.kind, result.email_id) == ("bounce", email.id)
    session.refresh(bob)
    assert bob.bounced is True


def test_a_bounce_of_an_unknown_email_marks_the_failed_contact(session, shop):
    tenant, customer, ann, _ = shop
    result = _receive(session, tenant, postfix_dsn("<gone@shop.example>"))
    assert (result.kind, result.matched_by, result.customer_id, result.email_id) == (
        "bounce",
        "failed_recipient",
        customer.id,
        None,
    )
    session.refresh(ann)
    assert ann.bounced is True


def test_a_delay_notice_is_not_a_bounce(session, shop):
    tenant, customer, ann, _ = shop
    email = create_email(session, tenant, customer, "<reminder-1@shop.example>")
    result = _receive(session, tenant, postfix_dsn(action="delayed"))
    assert result.kind == "auto_reply" and result.effects == []
    session.refresh(email)
    session.refresh(ann)
    assert email.status == EmailStatus.SENT and ann.bounced is False


@pytest.mark.parametrize(
    "extra, subject",
    [
        ("Auto-Submitted: auto-replied", "Re: Invoice INV-1 is overdue"),
        ("X-Autoreply: yes", "Re: Invoice"),
        ("X-Autorespond: Out of office", "Re: Invoice"),
        ("Precedence: auto_reply", "Re: Invoice"),
        ("", "Out of Office: Invoice INV-1 is overdue"),
        ("", "Automatic reply: Invoice INV-1"),
        ("", "Abwesenheitsnotiz: Rechnung INV-1"),
        ("", "=?utf-8?q?R=C3=A9ponse_automatique_=3A_Facture?="),
    ],
)
def test_an_automatic_answer_is_recorded_and_does_not_pause(session, shop, extra, subject):
    tenant, customer, _, _ = shop
    email = create_email(session, tenant, customer, "<reminder-1@shop.example>")
    raw = reply(in_reply_to="<reminder-1@shop.example>", extra=extra, subject=subject)
    result = _receive(session, tenant, raw)
    assert (result.kind, result.email_id, result.effects) == ("auto_reply", email.id, [])
    session.refresh(email)
    session.refresh(customer)
    assert email.replied_at is None and customer.last_reply_at is None
    assert _hooks(session, tenant) == []


def test_auto_submitted_no_is_a_reply(session, shop):
    tenant, customer, _, _ = shop
    create_email(session, tenant, customer, "<reminder-1@shop.example>")
    raw = reply(in_reply_to="<reminder-1@shop.example>", extra="Auto-Submitted: no")
    assert _receive(session, tenant, raw).kind == "reply"


def test_a_message_received_twice_is_stored_once(session, shop):
    tenant, customer, ann, _ = shop
    create_email(session, tenant, customer, "<reminder-1@shop.example>")
    first = _receive(session, tenant, postfix_dsn())
    audit = _events(session, tenant)
    ann.bounced = False  # reset by hand: a repeat must not bounce it again
    session.flush()
    again = _receive(session, tenant, postfix_dsn(), at=AT + timedelta(hours=1))
    assert again.duplicate and again.inbound_email_id == first.inbound_email_id
    assert (again.kind, again.effects) == ("bounce", [])
    assert _events(session, tenant) == audit
    session.refresh(ann)
    assert ann.bounced is False
    count = (
        select(func.count()).select_from(InboundEmail).where(InboundEmail.tenant_id == tenant.id)
    )
    assert session.scalar(count) == 1


def test_a_message_without_message_id_gets_one_from_its_bytes(session, shop):
    tenant, _, _, _ = shop
    raw = reply(message_id=None, sender="ann@acme.example")
    first = _receive(session, tenant, raw)
    again = _receive(session, tenant, raw)
    assert first.message_id.endswith("@inbound.arpolicy>") and again.duplicate
    assert again.inbound_email_id == first.inbound_email_id
    other = _receive(session, tenant, reply(message_id=None, body="Another message"))
    assert not other.duplicate and other.message_id != first.message_id


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"just some words, no headers at all", "none of the headers"),
        (b'{"email": "not MIME"}', "none of the headers"),
        (b"From: a@b.example\r\n\r\nhi\x00there", "NUL"),
        (b"Subject: x\r\n\r\n" + b"x" * (MAX_BYTES + 1), "over the limit"),
    ],
)
def test_garbage_is_refused(session, shop, raw, why):
    tenant, _, _, _ = shop
    with pytest.raises(ValidationError) as err:
        _receive(session, tenant, raw)
    assert why in err.value.message and err.value.where == "body" and err.value.fix
    assert (
        session.scalar(
            select(func.count())
            .select_from(InboundEmail)
            .where(InboundEmail.tenant_id == tenant.id)
        )
        == 0
    )


def test_odd_headers_are_stored_safely(session, shop):
    tenant, _, _, _ = shop
    raw = (
        b"From: =?utf-8?b?/w==?= <x@y.example>\r\nSubject: =?bogus?q?=FF=00?= \xff\xfe\r\n"
        b"Message-ID: <" + b"a" * 300 + b"@x>\r\n\r\nbody"
    )
    result = _receive(session, tenant, raw)
    stored = session.get(InboundEmail, result.inbound_email_id)
    assert result.kind == "unmatched" and len(stored.message_id) <= 255
    assert "\x00" not in (stored.subject or "")


def test_parse_reads_a_dsn():
    parsed = parse(postfix_dsn())
    assert parsed.kind == "bounce"
    assert parsed.failed_recipients == ["ann@acme.example"]
    assert parsed.original_message_id == "<reminder-1@shop.example>"
    assert parsed.diagnostic and parsed.diagnostic.startswith("550 5.1.1")
