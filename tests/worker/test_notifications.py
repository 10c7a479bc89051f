"""The worker sends queued notifications to the user, exactly once: to a real SMTP server
and to a maildir, suppressed when the user was deactivated, retried or failed as the
server answers, flagged in doubt when a hand-over was never recorded (both databases)."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy

from sqlalchemy import select, update

from arpolicy.audit import Actor
from arpolicy.kit.db import transaction
from arpolicy.mail import open_transport
from arpolicy.models import (
    Notification,
    NotificationStatus,
    OutboxMessage,
    OutboxStatus,
    User,
)
from arpolicy.notifications import notify
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.worker import run_once
from arpolicy.worker.notifications import dispatch_notifications
from tests.engagement.helpers import clock, mail_engine, mdb, sink
from tests.fixtures.factories import create_tenant, create_user

__all__ = ["clock", "mail_engine", "mdb", "sink"]  # fixtures
SENDER = "AR Team <ar-noreply@shop.example>"


def _queue(engine, now, *, email="ann@shop.example", key="credit:7:hold"):
    with transaction(engine) as s:
        tenant = create_tenant(s)
        scope_tenant(s, tenant.id)
        ann = create_user(s, tenant, name="Ann Müller", email=email)
        result = notify(
            s,
            tenant,
            [ann.id],
            topic="credit.hold",
            key=key,
            subject="Order {{ data.order }} is on credit hold",
            body="Hello {{ user.name }}, order {{ data.order }} waits.\n",
            data={"order": "SO-1"},
            at=now,
            actor=Actor(tenant.id, "system:test"),
        )
        return tenant.id, ann.id, result.queued[0].id


def _state(engine, tenant_id, notification_id):
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        n = s.get(Notification, notification_id)
        row = s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "notification"
            )
        )
        return n, row


def test_a_notification_is_sent_once_over_smtp(mdb, clock, sink):
    tenant_id, _, nid = _queue(mdb, clock.now())
    first = run_once(mdb, clock, mail=open_transport(sink.url()), notify_from=SENDER)
    again = run_once(mdb, clock, mail=open_transport(sink.url()), notify_from=SENDER)
    assert (first.notifications.claimed, first.notifications.sent) == (1, 1)
    assert again.notifications.claimed == 0 and len(sink.received) == 1
    n, row = _state(mdb, tenant_id, nid)
    assert n.status == NotificationStatus.SENT and n.sent_at == clock.now()
    assert (n.attempts, n.in_doubt, n.from_address) == (1, False, SENDER)
    assert row.status == OutboxStatus.DELIVERED
    got = sink.received[0]
    assert got.mail_from == "ar-noreply@shop.example" and got.rcpt_tos == ["ann@shop.example"]
    assert str(got.message["Subject"]) == "Order SO-1 is on credit hold"
    assert got.message["Message-ID"] == n.message_id
    assert (
        got.message.get_content().replace("\r\n", "\n") == "Hello Ann Müller, order SO-1 waits.\n"
    )


def test_a_notification_lands_in_the_maildir(mdb, clock, tmp_path):
    tenant_id, _, nid = _queue(mdb, clock.now())
    report = dispatch_notifications(mdb, open_transport(f"maildir://{tmp_path}/mail"), clock, 10)
    assert report.sent == 1
    [raw] = [m.as_bytes() for m in mailbox.Maildir(tmp_path / "mail", create=False)]
    message = message_from_bytes(raw, policy=policy.default)
    n, _ = _state(mdb, tenant_id, nid)
    assert message["Message-ID"] == n.message_id and message["To"] == "ann@shop.example"
    assert message["From"] == "arpolicy <arpolicy@localhost>" and message["X-Arpolicy-Key"] == n.key


def test_a_user_deactivated_before_dispatch_gets_nothing(mdb, clock, sink):
    tenant_id, user_id, nid = _queue(mdb, clock.now())
    with transaction(mdb) as s:
        scope_tenant(s, tenant_id)
        s.execute(update(User).where(User.id == user_id).values(active=False))
    report = dispatch_notifications(mdb, open_transport(sink.url()), clock, 10)
    assert (report.claimed, report.suppressed, report.sent) == (1, 1, 0) and sink.received == []
    n, row = _state(mdb, tenant_id, nid)
    assert n.status == NotificationStatus.SUPPRESSED and n.last_error == "the user is inactive"
    assert row.status == OutboxStatus.DELIVERED


def test_a_refusal_is_retried_then_a_permanent_one_fails(mdb, clock, sink):
    tenant_id, _, nid = _queue(mdb, clock.now())
    sink.data_replies.append("451 4.3.0 try again later")
    transport = open_transport(sink.url())
    report = dispatch_notifications(mdb, transport, clock, 10, rand=lambda: 0.5)
    n, row = _state(mdb, tenant_id, nid)
    assert report.retried == 1 and n.status == NotificationStatus.QUEUED
    assert "451" in n.last_error and row.next_attempt_at > clock.now()
    clock.advance(row.next_attempt_at - clock.now())
    sink.data_replies.append("554 5.6.0 rejected")
    report = dispatch_notifications(mdb, transport, clock, 10)
    n, row = _state(mdb, tenant_id, nid)
    assert report.failed == 1 and n.status == NotificationStatus.FAILED and n.attempts == 2
    assert row.status == OutboxStatus.FAILED and sink.received == []


def test_a_hand_over_never_recorded_goes_again_in_doubt(mdb, clock, sink):
    tenant_id, _, nid = _queue(mdb, clock.now())
    with transaction(mdb) as s:  # as a worker killed between hand-over and record leaves it
        scope_tenant(s, tenant_id)
        s.execute(
            update(Notification)
            .where(Notification.id == nid)
            .values(attempts=1, from_address=SENDER)
        )
    report = dispatch_notifications(
        mdb, open_transport(sink.url()), clock, 10, sender="Other <other@shop.example>"
    )
    n, _ = _state(mdb, tenant_id, nid)
    assert (report.sent, report.in_doubt) == (1, 1) and n.in_doubt and n.attempts == 2
    assert sink.received[0].mail_from == "ar-noreply@shop.example"  # as the first went


def test_emails_to_customers_and_notifications_are_apart(mdb, clock, sink):
    _queue(mdb, clock.now())
    report = run_once(mdb, clock, mail=open_transport(sink.url()))
    assert report.mail.claimed == 0 and report.notifications.sent == 1
