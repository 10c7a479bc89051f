"""A webhook's attempt is recorded before it is handed over, so a worker stopped between the
hand-over and the record leaves a trace: the next claim sends the same webhook-id again and
flags the delivery in doubt. Blocked destinations fail at once. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from arpolicy.kit.db import transaction
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from arpolicy.webhooks import destinations, emit
from arpolicy.webhooks.delivery import new_client
from arpolicy.worker import deliveries, run_once
from arpolicy.worker.claims import LEASE, claim_due
from arpolicy.worker.deliveries import UNFINISHED
from tests.webhooks.support import LOOPBACK, Receiver, load, new_endpoint, new_tenant

EXACT = {"rand": lambda: 0.5}


def _hook(db, clock, receiver, path):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, receiver.url(path))
    receiver.expect(path, secret)
    with transaction(db) as s:
        [message] = emit(s, tenant, "customer.created", {"id": 7}, key="c:7", at=clock.now())
        s.flush()
        return message.id


def _attempts(db, message_id):
    with transaction(db, write=False) as s:
        return s.execute(
            select(DeliveryAttempt.status_code, DeliveryAttempt.error)
            .where(DeliveryAttempt.message_id == message_id)
            .order_by(DeliveryAttempt.id)
        ).all()


def test_the_attempt_is_committed_before_the_hand_over(db, clock, receiver, monkeypatch):
    """What another connection sees at the moment of sending: the attempt counted, and
    an attempt row without an outcome. Recording it afterwards would show nothing here."""
    mid = _hook(db, clock, receiver, "/before")
    seen = []
    real_send = deliveries.send

    def watching(client, request, at):
        with transaction(db, write=False) as s:
            seen.append(
                (
                    s.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == mid)),
                    _attempts(db, mid),
                )
            )
        return real_send(client, request, at)

    monkeypatch.setattr(deliveries, "send", watching)
    assert run_once(db, clock, **EXACT).delivered == 1
    assert seen == [(1, [(None, None)])]
    assert _attempts(db, mid) == [(200, None)]
    assert load(db, OutboxMessage, mid).in_doubt is False


class Killed(BaseException):
    """The worker stopping dead (SIGKILL) right after the hand-over."""


def test_a_stop_after_the_hand_over_is_sent_again_with_the_same_id_and_flagged(
    db, clock, receiver, monkeypatch
):
    mid = _hook(db, clock, receiver, "/doubt")

    def die(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(deliveries, "record", die)
        with pytest.raises(Killed):
            run_once(db, clock, **EXACT)
    assert len(receiver.at("/doubt")) == 1  # it arrived; its outcome was never recorded
    message = load(db, OutboxMessage, mid)
    assert (message.status, message.attempts, message.in_doubt) == (OutboxStatus.PENDING, 1, False)
    assert _attempts(db, mid) == [(None, None)]
    assert run_once(db, clock, **EXACT).claimed == 0  # the dead worker's lease still holds
    clock.advance(LEASE)
    report = run_once(db, clock, **EXACT)
    assert report.delivered == 1 and report.counts["in_doubt"] == 1
    first, second = receiver.at("/doubt")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message.event_id
    message = load(db, OutboxMessage, mid)
    assert (message.status, message.attempts, message.in_doubt) == (OutboxStatus.DELIVERED, 2, True)
    assert _attempts(db, mid) == [(None, UNFINISHED), (200, None)]


def test_a_slow_worker_whose_lease_ran_out_records_its_outcome_anyway(db, clock, receiver):
    """Its attempt was flagged unfinished by the next claim; the late outcome replaces the
    note, and the delivery stays in doubt (it may have arrived twice)."""
    mid = _hook(db, clock, receiver, "/slow")
    with transaction(db) as s:
        [old] = claim_due(s, clock.now(), 1)
    job = deliveries.prepare(db, clock, old)
    assert not isinstance(job, str)
    clock.advance(LEASE)
    assert run_once(db, clock, **EXACT).delivered == 1  # a second worker, the first still busy
    with new_client(destinations=LOOPBACK) as client:
        outcome = deliveries.send(client, job.request, clock.now())
    assert deliveries.record(db, clock, job, outcome, 0.5) == "skipped"  # no longer its claim
    assert _attempts(db, mid) == [(200, None), (200, None)]
    message = load(db, OutboxMessage, mid)
    assert message.in_doubt and message.status == OutboxStatus.DELIVERED
    assert len(receiver.at("/slow")) == 2


def test_a_destination_that_resolves_inside_is_failed_at_once_and_says_why(db, clock, monkeypatch):
    """A name that resolved to a public address when registered and to 127.0.0.1 at
    delivery: no connection, one failed attempt with the reason, no retry."""
    monkeypatch.delenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", raising=False)
    with Receiver() as receiver:
        tenant = new_tenant(db)
        new_endpoint(db, tenant, f"https://rebind.example:{receiver.port}/x")
        with transaction(db) as s:
            [message] = emit(s, tenant, "customer.created", {"id": 1}, key="c:1", at=clock.now())
            s.flush()
            mid = message.id
        monkeypatch.setattr(destinations, "system_resolver", lambda host, port: ["127.0.0.1"])
        report = run_once(db, clock, **EXACT)
        assert (report.claimed, report.failed) == (1, 1)
        assert receiver.received == []
    message = load(db, OutboxMessage, mid)
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert (message.last_error or "").startswith(
        "blocked: rebind.example resolves to 127.0.0.1, which is a loopback address"
    )
    [(code, error)] = _attempts(db, mid)
    assert code is None and error == message.last_error
    clock.advance(timedelta(days=2))
    assert run_once(db, clock, **EXACT).claimed == 0
    with transaction(db, write=False) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .where(DeliveryAttempt.message_id == mid)
            )
            == 1
        )
