"""The bulk audit writer every module shares (issue 13, item 4): one INSERT for a batch,
events equal to what ``record`` writes one by one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from arpolicy.audit import Actor, Entry, record, record_many
from arpolicy.models import AuditEvent
from tests.fixtures.factories import create_tenant

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def _fields(e: AuditEvent) -> tuple:
    return (
        e.at,
        e.actor,
        e.action,
        e.entity,
        e.entity_id,
        e.before,
        e.after,
        e.reason,
        e.request_id,
    )


def test_a_batch_writes_the_events_record_would(session) -> None:
    tenant = create_tenant(session)
    other = create_tenant(session)
    actor = Actor(tenant.id, "system:test", request_id="req-1")
    entries = [
        Entry("owner.assigned", "customer", 7, {"finance_owner": None}, {"finance_owner": "a@x"}),
        Entry("task.created", "customer", "8", None, {"task": "call"}, reason="no address"),
    ]
    assert record_many(session, actor, entries, at=AT) == 2
    one_by_one = Actor(other.id, "system:test", request_id="req-1")
    for e in entries:
        record(
            session,
            one_by_one,
            e.action,
            e.entity,
            e.entity_id,
            before=e.before,
            after=e.after,
            reason=e.reason,
            at=AT,
        )
    session.flush()
    bulk = session.scalars(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant.id).order_by(AuditEvent.id)
    ).all()
    single = session.scalars(
        select(AuditEvent).where(AuditEvent.tenant_id == other.id).order_by(AuditEvent.id)
    ).all()
    assert [_fields(e) for e in bulk] == [_fields(e) for e in single]
    assert [e.entity_id for e in bulk] == ["7", "8"]


def test_an_empty_batch_writes_nothing(session) -> None:
    tenant = create_tenant(session)
    assert record_many(session, Actor(tenant.id, "system:test"), [], at=AT) == 0
    assert session.scalars(select(AuditEvent).where(AuditEvent.tenant_id == tenant.id)).all() == []
