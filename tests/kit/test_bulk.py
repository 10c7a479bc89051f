"""The driver-level bulk writes store exactly what the ORM stores, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from arpolicy.kit.bulk import insert_many, update_many
from arpolicy.models import AuditEvent, OutboxMessage, OutboxStatus
from tests.fixtures.factories import create_tenant

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
COLUMNS = ["tenant_id", "at", "actor", "action", "entity", "entity_id", "before", "after"]


def test_insert_many_matches_the_orm(session):
    t = create_tenant(session)
    shared = {"finance_owner": "ann@shop.example"}
    insert_many(
        session,
        AuditEvent,
        COLUMNS,
        [
            (t.id, AT, "bench", "owner.assigned", "customer", "1", shared, {"n": 1}),
            (t.id, AT, "bench", "owner.assigned", "customer", "2", shared, {"n": 2}),  # same object
            (t.id, AT, "bench", "owner.assigned", "customer", "3", {"finance_owner": None}, None),
        ],
    )
    session.add(
        AuditEvent(
            tenant_id=t.id,
            at=AT,
            actor="orm",
            action="owner.assigned",
            entity="customer",
            entity_id="4",
            before=shared,
            after=None,
        )
    )
    session.flush()
    session.expire_all()
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.tenant_id == t.id).order_by(AuditEvent.entity_id)
    ).all()
    assert [(r.before, r.after) for r in rows] == [
        (shared, {"n": 1}),
        (shared, {"n": 2}),
        ({"finance_owner": None}, None),
        (shared, None),
    ]
    assert all(r.at == AT and r.at.tzinfo is not None for r in rows)


def test_enums_and_updates(session):
    t = create_tenant(session)
    cols = [
        "tenant_id",
        "kind",
        "event_type",
        "event_id",
        "dedupe_key",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
    ]
    insert_many(
        session,
        OutboxMessage,
        cols,
        [
            (
                t.id,
                "webhook",
                "customer.created",
                f"e{i}",
                f"k{i}",
                {"i": i},
                OutboxStatus.PENDING,
                0,
                AT,
            )
            for i in range(3)
        ],
    )
    update_many(
        session,
        OutboxMessage,
        ["status", "attempts"],
        ["tenant_id", "dedupe_key"],
        [(OutboxStatus.FAILED, 5, t.id, "k1")],
    )
    session.expire_all()
    got = {
        m.dedupe_key: (m.status, m.attempts, m.payload)
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == t.id))
    }
    assert got == {
        "k0": (OutboxStatus.PENDING, 0, {"i": 0}),
        "k1": (OutboxStatus.FAILED, 5, {"i": 1}),
        "k2": (OutboxStatus.PENDING, 0, {"i": 2}),
    }
