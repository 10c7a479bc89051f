"""emit: one outbox message per subscribed endpoint, written in the caller's transaction,
exactly once per change key (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from arpolicy.kit.db import transaction
from arpolicy.models import OutboxMessage, OutboxStatus
from arpolicy.webhooks import emit
from arpolicy.webhooks.destinations import Destinations
from arpolicy.webhooks.events import EVENTS, ping
from arpolicy.webhooks.service import create_endpoint, get_endpoint
from tests.webhooks.support import message_ids, new_tenant

PUBLIC = Destinations()
"""The default rule (public addresses only); these tests never send."""


def _messages(engine, tenant_id):
    with transaction(engine, write=False) as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant_id)
                .order_by(OutboxMessage.id)
            )
        )


def test_the_same_key_twice_queues_one_message(db, clock):
    tenant = new_tenant(db)
    with transaction(db) as s:
        create_endpoint(
            s, tenant, "https://example.com/h", ["customer.created"], destinations=PUBLIC
        )
    for _ in range(2):
        with transaction(db) as s:
            emit(s, tenant, "customer.created", {"id": 1}, key="customer.created:1", at=clock.now())
    with transaction(db) as s:  # and twice in one transaction
        emit(s, tenant, "customer.created", {"id": 2}, key="customer.created:2", at=clock.now())
        s.flush()
        emit(s, tenant, "customer.created", {"id": 2}, key="customer.created:2", at=clock.now())
    [one, two] = _messages(db, tenant)
    assert one.dedupe_key.startswith("customer.created:1@") and one.status == OutboxStatus.PENDING
    assert one.payload == {
        "type": "customer.created",
        "timestamp": clock.now().isoformat(),
        "data": {"id": 1},
    }
    assert one.kind == "webhook" and one.event_id.startswith("evt_") and one.attempts == 0
    assert one.next_attempt_at == clock.now() and two.dedupe_key.startswith("customer.created:2@")


def test_only_active_subscribed_endpoints_get_a_message(db, clock):
    tenant = new_tenant(db)
    with transaction(db) as s:
        star, _ = create_endpoint(s, tenant, "https://a.example/h", ["*"], destinations=PUBLIC)
        exact, _ = create_endpoint(
            s, tenant, "https://b.example/h", ["customer.created"], destinations=PUBLIC
        )
        create_endpoint(s, tenant, "https://c.example/h", ["payment.created"], destinations=PUBLIC)
        create_endpoint(s, tenant, "https://d.example/h", ["*"], active=False, destinations=PUBLIC)
    with transaction(db) as s:
        queued = emit(s, tenant, "customer.created", {"id": 9}, key="k9", at=clock.now())
    assert sorted(m.endpoint_id for m in queued) == sorted([star.id, exact.id])
    assert len({m.event_id for m in queued}) == 1  # one event, one webhook-id everywhere


def test_a_rolled_back_change_queues_nothing(db, clock):
    tenant = new_tenant(db)
    with transaction(db) as s:
        create_endpoint(s, tenant, "https://example.com/h", ["*"], destinations=PUBLIC)
    with pytest.raises(RuntimeError), transaction(db) as s:
        emit(s, tenant, "customer.created", {"id": 1}, key="k", at=clock.now())
        raise RuntimeError("the change failed")
    assert message_ids(db, tenant) == []


def test_other_tenants_endpoints_get_nothing(db, clock):
    mine, other = new_tenant(db), new_tenant(db)
    with transaction(db) as s:
        create_endpoint(s, other, "https://other.example/h", ["*"], destinations=PUBLIC)
    with transaction(db) as s:
        assert emit(s, mine, "customer.created", {}, key="k", at=clock.now()) == []


def test_unknown_event_types_are_refused(db, clock):
    tenant = new_tenant(db)
    with pytest.raises(ValueError), transaction(db) as s:
        emit(s, tenant, "customer.exploded", {}, key="k", at=clock.now())


def test_a_ping_goes_to_one_endpoint_whatever_it_subscribes_to(db, clock):
    tenant = new_tenant(db)
    with transaction(db) as s:
        target, _ = create_endpoint(
            s, tenant, "https://a.example/h", ["payment.created"], destinations=PUBLIC
        )
        create_endpoint(s, tenant, "https://b.example/h", ["*"], destinations=PUBLIC)
    for _ in range(2):
        with transaction(db) as s:
            ping(s, get_endpoint(s, tenant, target.id), at=clock.now())
    pings = _messages(db, tenant)
    assert [m.endpoint_id for m in pings] == [target.id, target.id]
    assert {m.event_type for m in pings} == {"webhook.test"} and "webhook.test" in EVENTS
    assert pings[0].event_id != pings[1].event_id
