"""Claims are leases; many workers share the outbox and each message is sent once;
the worker purges expired Idempotency-Keys at most hourly. Both databases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from arpolicy.kit.db import make_engine, transaction
from arpolicy.models import IdempotencyRecord, OutboxMessage, OutboxStatus
from arpolicy.webhooks import emit
from arpolicy.webhooks.delivery import new_client
from arpolicy.worker import WorkerState, claim_due, run_once
from arpolicy.worker.claims import LEASE
from arpolicy.worker.deliveries import deliver
from tests.webhooks.support import LOOPBACK, new_endpoint, new_tenant


def _tenant_with_hook(db, clock, receiver, path, n=1, statuses=()):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, receiver.url(path))
    receiver.expect(path, secret, statuses)
    with transaction(db) as s:
        for i in range(n):
            emit(
                s, tenant, "document.created", {"n": i}, key=f"document.created:{i}", at=clock.now()
            )
    return tenant


def test_a_claim_hides_the_message_until_its_lease_ends(db, clock, receiver):
    _tenant_with_hook(db, clock, receiver, "/lease")
    with transaction(db) as s:
        [claim] = claim_due(s, clock.now(), 10)
    assert claim.until == clock.now() + LEASE
    with transaction(db) as s:
        assert claim_due(s, clock.now(), 10) == []
    clock.advance(LEASE)  # the claiming worker died: the message is due again
    with transaction(db) as s:
        [again] = claim_due(s, clock.now(), 10)
    assert again.message_id == claim.message_id and again.until > claim.until
    # the first claim is stale: it neither sends nor records
    with new_client(destinations=LOOPBACK) as client:
        assert deliver(db, clock, [claim], client, lambda: 0.5) == {"skipped": 1}
        assert deliver(db, clock, [again], client, lambda: 0.5) == {"delivered": 1}
    assert len(receiver.at("/lease")) == 1


def test_a_lease_that_ran_out_during_the_batch_is_not_sent(db, clock, receiver):
    _tenant_with_hook(db, clock, receiver, "/late")
    with transaction(db) as s:
        claims = claim_due(s, clock.now(), 10)
    clock.advance(LEASE)
    with new_client(destinations=LOOPBACK) as client:
        assert deliver(db, clock, claims, client, lambda: 0.5) == {"skipped": 1}
    assert receiver.at("/late") == []


def test_due_order_is_oldest_first_and_limit_is_kept(db, clock, receiver):
    tenant = _tenant_with_hook(db, clock, receiver, "/order", n=5)
    with transaction(db) as s:
        first = claim_due(s, clock.now(), 3)
        rest = claim_due(s, clock.now(), 3)
    assert len(first) == 3 and len(rest) == 2 and {c.tenant_id for c in first} == {tenant}
    assert [c.message_id for c in first + rest] == sorted(c.message_id for c in first + rest)


def test_two_workers_at_once_deliver_every_message_exactly_once(db, clock, receiver):
    """Separate engines (connections) in threads, as separate processes would have."""
    tenants = [_tenant_with_hook(db, clock, receiver, f"/many{i}", n=20) for i in range(3)]
    receiver.delay = 0.005
    url = db.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    start = threading.Barrier(2)
    claimed = [0, 0]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            while (n := run_once(engines[i], clock, limit=4).claimed) > 0:
                claimed[i] += n
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for e in engines:
        e.dispose()
    assert not errors, errors
    got = [r for r in receiver.received if r.path.startswith("/many")]
    ids = Counter(r.headers["webhook-id"] for r in got)
    assert len(got) == 60 and all(r.verified for r in got)
    assert len(ids) == 60 and set(ids.values()) == {1}
    assert sum(claimed) == 60 and min(claimed) > 0, claimed
    with transaction(db, write=False) as s:
        rows = s.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).where(
                OutboxMessage.tenant_id.in_(tenants)
            )
        ).all()
    assert Counter(rows) == {(OutboxStatus.DELIVERED, 1): 60}


def test_expired_idempotency_keys_are_purged_at_most_hourly(db, clock):
    tenant = new_tenant(db)

    def add(key, age):
        with transaction(db) as s:
            s.add(
                IdempotencyRecord(
                    tenant_id=tenant, key=key, request_hash="h", created_at=clock.now() - age
                )
            )

    def keys():
        with transaction(db, write=False) as s:
            return set(
                s.scalars(
                    select(IdempotencyRecord.key).where(IdempotencyRecord.tenant_id == tenant)
                )
            )

    add("old", timedelta(hours=49))
    add("young", timedelta(hours=20))
    state = WorkerState()
    assert run_once(db, clock, state=state, idempotency_ttl_hours=48).purged == 1
    assert keys() == {"young"}
    clock.advance(timedelta(minutes=59))
    assert run_once(db, clock, state=state).purged is None  # not yet an hour
    clock.advance(timedelta(minutes=2))
    assert run_once(db, clock, state=state, idempotency_ttl_hours=1).purged == 0  # kept >= 24 h
    assert keys() == {"young"}
    clock.advance(timedelta(hours=4))
    assert run_once(db, clock, state=state, idempotency_ttl_hours=24).purged == 1
    assert keys() == set()


def test_on_postgresql_a_claim_skips_rows_another_claim_holds(db, clock, receiver):
    """While one worker's claiming transaction is still open, another one takes the other
    rows at once instead of waiting (FOR UPDATE SKIP LOCKED)."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers; there is nothing to skip")
    tenant = _tenant_with_hook(db, clock, receiver, "/skip", n=4)
    other = make_engine(db.url.render_as_string(hide_password=False))
    try:
        with transaction(db) as first:
            held = claim_due(first, clock.now(), 2)
            with transaction(other) as second:
                second.execute(text("SET LOCAL lock_timeout = '2s'"))
                taken = claim_due(second, clock.now(), 4)
    finally:
        other.dispose()
    assert {c.tenant_id for c in held + taken} == {tenant}
    assert len(held) == len(taken) == 2
    assert not {c.message_id for c in held} & {c.message_id for c in taken}
