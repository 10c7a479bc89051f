"""notify: one notification per user with its outbox row, audit event and webhook, in the
caller's transaction, exactly once per key; users of the tenant only (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.models import (
    AuditEvent,
    Notification,
    NotificationStatus,
    OutboxMessage,
    WebhookEndpoint,
)
from arpolicy.notifications import ManagerOf, notify
from tests.fixtures.factories import create_tenant, create_user

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SUBJECT = "Approval needed: {{ data.customer }}"
BODY = "Hello {{ user.name }},\n{{ data.customer }} waits for your approval ({{ data.amount }}).\n"


def _notify(session, tenant, recipients, key="approval:1:requested", **kw):
    kw.setdefault("subject", SUBJECT)
    kw.setdefault("body", BODY)
    kw.setdefault("data", {"customer": "Müller GmbH", "amount": "1,234.56 EUR"})
    return notify(
        session,
        tenant,
        recipients,
        topic="approval.requested",
        key=key,
        at=AT,
        actor=Actor(tenant.id, "system:test"),
        **kw,
    )


def _count(session, model, tenant, *where):
    return session.scalar(
        select(func.count()).select_from(model).where(model.tenant_id == tenant.id, *where)
    )


def test_a_user_is_notified_once_with_outbox_audit_and_webhook(session):
    tenant = create_tenant(session)
    ann = create_user(session, tenant, name="Ann Approver", email="ann@shop.example")
    session.add(
        WebhookEndpoint(
            tenant_id=tenant.id,
            url="https://hooks.example.com/n",
            events=["notification.created"],
            secret="whsec_x",
        )
    )
    session.flush()
    first = _notify(session, tenant, [ann.id])
    again = _notify(session, tenant, [ann.id])
    [row] = first.queued
    assert again.queued == [] and again.repeated == [ann.id]
    assert (row.user_id, row.topic, row.key) == (
        ann.id,
        "approval.requested",
        f"approval:1:requested:{ann.id}",
    )
    assert row.to_address == "ann@shop.example" and row.status == NotificationStatus.QUEUED
    assert row.subject == "Approval needed: Müller GmbH"
    assert row.text_body.startswith("Hello Ann Approver,\nMüller GmbH waits")
    assert row.message_id.startswith("<n") and row.message_id.endswith(f"@{tenant.slug}.arpolicy>")
    assert _count(session, Notification, tenant) == 1
    [email] = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.kind == "notification"
        )
    ).all()
    assert email.payload == {"notification_id": row.id} and email.next_attempt_at == AT
    [hook] = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.kind == "webhook"
        )
    ).all()
    assert hook.event_type == "notification.created"
    assert hook.payload["data"] == {
        "notification_id": row.id,
        "user_id": ann.id,
        "topic": "approval.requested",
        "subject": "Approval needed: Müller GmbH",
        "created_at": AT.isoformat(),
        "data": {"customer": "Müller GmbH", "amount": "1,234.56 EUR"},
    }
    [event] = session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant_id == tenant.id, AuditEvent.action == "notification.queued"
        )
    ).all()
    assert (event.entity, event.entity_id, event.actor) == (
        "notification",
        str(row.id),
        "system:test",
    )
    assert event.after["to_address"] == "ann@shop.example"


def test_no_endpoint_subscribed_no_webhook(session):
    tenant = create_tenant(session)
    ann = create_user(session, tenant)
    _notify(session, tenant, [ann.id])
    assert _count(session, OutboxMessage, tenant, OutboxMessage.kind == "webhook") == 0
    assert _count(session, OutboxMessage, tenant, OutboxMessage.kind == "notification") == 1


def test_a_user_of_another_tenant_is_refused_and_nothing_is_written(session):
    mine, theirs = create_tenant(session), create_tenant(session)
    ann, bob = create_user(session, mine), create_user(session, theirs)
    with pytest.raises(NotFoundError) as err:
        _notify(session, mine, [ann.id, bob.id])
    assert f"no user {bob.id} in tenant {mine.slug}" in err.value.message
    assert err.value.where == "recipients"
    assert _count(session, Notification, mine) == _count(session, Notification, theirs) == 0
    assert _count(session, OutboxMessage, mine) == 0


def test_managers_inactive_users_and_the_same_user_twice(session):
    tenant = create_tenant(session)
    boss = create_user(session, tenant, name="Boss")
    ann = create_user(session, tenant, manager_id=boss.id)
    loner = create_user(session, tenant)
    gone = create_user(session, tenant, active=False)
    result = _notify(
        session, tenant, [ann.id, ManagerOf(ann.id), boss.id, ManagerOf(loner.id), gone.id]
    )
    assert sorted(n.user_id for n in result.queued) == sorted([ann.id, boss.id])
    assert result.skipped == {
        f"manager of user {loner.id}": "the user has no manager",
        f"user {gone.id}": f"{gone.email} is inactive",
    }


def test_a_new_key_notifies_again(session):
    tenant = create_tenant(session)
    ann = create_user(session, tenant)
    _notify(session, tenant, [ann.id], key="approval:1:requested")
    again = _notify(session, tenant, [ann.id], key="approval:1:reminded")
    assert len(again.queued) == 1 and _count(session, Notification, tenant) == 2


@pytest.mark.parametrize(
    ("kw", "where", "what"),
    [
        ({"subject": "{{ data.nope }}"}, "subject", "UndefinedError"),
        ({"subject": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "subject", ""),
        (
            {"body": "{{ data.rows.append(1) }}", "data": {"customer": "x", "rows": [1]}},
            "body",
            "SecurityError",
        ),
        ({"body": "{% for x in range(10**9) %}{% endfor %}"}, "body", "Range too big"),
        ({"subject": "a\n{{ 'b' }}"}, "subject", "line break"),
        ({"body": "{{ 1 / 0 }}"}, "body", "ZeroDivisionError"),
        ({"body": "{% if %}"}, "body", "TemplateSyntaxError"),
        ({"data": {"amount": 1.5e400}}, "data", "not JSON"),
        ({"data": {"when": AT}}, "data", "not JSON"),
    ],
)
def test_templates_are_sandboxed_and_problems_say_where(session, kw, where, what):
    tenant = create_tenant(session)
    ann = create_user(session, tenant)
    with pytest.raises(ValidationError) as err:
        _notify(session, tenant, [ann.id], **kw)
    assert err.value.where == where and what in err.value.message and err.value.fix
    assert _count(session, Notification, tenant) == 0


def test_html_is_escaped_and_the_topic_and_key_are_checked(session):
    tenant = create_tenant(session)
    ann = create_user(session, tenant, name="<b>Ann</b>")
    [row] = _notify(session, tenant, [ann.id], html="<p>{{ user.name }}</p>").queued
    assert row.html_body == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    actor = Actor(tenant.id, "system:test")
    with pytest.raises(ValidationError, match="not a notification topic"):
        notify(
            session,
            tenant,
            [ann.id],
            topic="Approval Requested",
            key="k",
            subject="s",
            body="b",
            at=AT,
            actor=actor,
        )
    with pytest.raises(ValidationError, match="key is empty"):
        notify(
            session,
            tenant,
            [ann.id],
            topic="approval.requested",
            key="",
            subject="s",
            body="b",
            at=AT,
            actor=actor,
        )
