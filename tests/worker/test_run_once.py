"""The worker delivers due webhooks, signed, retried on the schedule, once each; both
databases, a real receiver, a fixed clock (no sleeping)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from arpolicy.kit.db import transaction
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from arpolicy.webhooks import emit
from arpolicy.webhooks.schedule import MAX_ATTEMPTS, SCHEDULE
from arpolicy.webhooks.service import get_endpoint, update_endpoint
from arpolicy.worker import run_once
from tests.webhooks.support import LOOPBACK, load, message_ids, new_endpoint, new_tenant

EXACT = {"rand": lambda: 0.5}  # no jitter


def _emit(engine, clock, tenant, key="customer.created:1", data=None):
    with transaction(engine) as s:
        queued = emit(s, tenant, "customer.created", data or {"id": 1}, key=key, at=clock.now())
        s.flush()
        return [m.id for m in queued]


def _attempts(engine, message_id):
    with transaction(engine, write=False) as s:
        return list(
            s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.message_id == message_id)
                .order_by(DeliveryAttempt.id)
            )
        )


def test_a_due_message_is_delivered_signed_and_recorded(db, clock, receiver):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/a", secret))
    [mid] = _emit(db, clock, tenant, data={"id": 1, "name": "ACME"})
    report = run_once(db, clock, **EXACT)
    assert (report.claimed, report.delivered) == (1, 1)
    [got] = receiver.at("/a")
    message = load(db, OutboxMessage, mid)
    assert got.verified and got.headers["webhook-id"] == message.event_id
    assert (
        got.payload["data"] == {"id": 1, "name": "ACME"}
        and got.payload["type"] == "customer.created"
    )
    assert got.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert message.status == OutboxStatus.DELIVERED and message.delivered_at == clock.now()
    assert message.attempts == 1 and message.last_error is None
    [attempt] = _attempts(db, mid)
    assert attempt.status_code == 200 and attempt.error is None and attempt.duration_ms >= 0
    assert run_once(db, clock).claimed == 0


def test_a_500_is_retried_after_five_seconds_then_delivered(db, clock, receiver):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/r", secret, (500,)))
    [mid] = _emit(db, clock, tenant)
    report = run_once(db, clock, **EXACT)
    assert (report.claimed, report.retrying) == (1, 1)
    message = load(db, OutboxMessage, mid)
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert message.next_attempt_at == clock.now() + timedelta(seconds=5)
    assert message.last_error == "HTTP 500: status 500"
    assert run_once(db, clock, **EXACT).claimed == 0  # not due yet
    clock.advance(timedelta(seconds=5))
    assert run_once(db, clock, **EXACT).delivered == 1
    first, second = receiver.at("/r")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the receiver can dedupe
    assert [a.status_code for a in _attempts(db, mid)] == [500, 200]
    message = load(db, OutboxMessage, mid)
    assert message.status == OutboxStatus.DELIVERED and message.attempts == 2


def test_after_the_last_retry_the_message_fails(db, clock, receiver):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/down", secret, (503,) * 20))
    [mid] = _emit(db, clock, tenant)
    start, waits = clock.now(), []
    for n in range(1, MAX_ATTEMPTS + 1):
        report = run_once(db, clock, **EXACT)
        assert report.claimed == 1, n
        message = load(db, OutboxMessage, mid)
        if n < MAX_ATTEMPTS:
            waits.append(message.next_attempt_at - clock.now())
            clock.set(message.next_attempt_at)
    assert waits == list(SCHEDULE) and report.failed == 1
    assert clock.now() - start == sum(SCHEDULE, timedelta())
    assert message.status == OutboxStatus.FAILED and message.attempts == MAX_ATTEMPTS
    assert len(receiver.at("/down")) == MAX_ATTEMPTS == len(_attempts(db, mid))
    clock.advance(timedelta(days=3))
    assert run_once(db, clock).claimed == 0


def test_jitter_moves_the_next_attempt_within_ten_percent(db, clock, receiver):
    tenant = new_tenant(db)
    _, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/j", secret, (500,)))
    [mid] = _emit(db, clock, tenant)
    run_once(db, clock, rand=lambda: 0.0)
    assert load(db, OutboxMessage, mid).next_attempt_at == clock.now() + timedelta(seconds=4.5)


def test_a_deactivated_endpoint_stops_delivery(db, clock, receiver):
    tenant = new_tenant(db)
    endpoint, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/off", secret, (500,)))
    [mid] = _emit(db, clock, tenant)
    run_once(db, clock, **EXACT)  # one failed attempt, a retry is pending
    with transaction(db) as s:  # deactivated behind the service's back: the worker notices
        get_endpoint(s, tenant, endpoint).active = False
    clock.advance(timedelta(minutes=1))
    report = run_once(db, clock, **EXACT)
    assert (report.claimed, report.failed) == (1, 1)
    message = load(db, OutboxMessage, mid)
    assert message.status == OutboxStatus.FAILED and "deactivated" in (message.last_error or "")
    assert len(receiver.at("/off")) == 1


def test_deactivating_through_the_service_fails_pending_messages_at_once(db, clock, receiver):
    tenant = new_tenant(db)
    endpoint, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/off2", secret))
    [mid] = _emit(db, clock, tenant)
    with transaction(db) as s:
        update_endpoint(
            s,
            get_endpoint(s, tenant, endpoint),
            {"active": False},
            clock.now(),
            destinations=LOOPBACK,
        )
    assert load(db, OutboxMessage, mid).status == OutboxStatus.FAILED
    assert run_once(db, clock).claimed == 0 and receiver.at("/off2") == []


def test_a_deleted_endpoint_takes_its_messages_along(db, clock, receiver):
    tenant = new_tenant(db)
    endpoint, secret = new_endpoint(db, tenant, "https://placeholder.example/")
    _point(db, clock, tenant, receiver.expect("/gone", secret))
    _emit(db, clock, tenant)
    with transaction(db) as s:
        s.delete(get_endpoint(s, tenant, endpoint))
    assert message_ids(db, tenant) == [] and run_once(db, clock).claimed == 0


def test_email_messages_are_left_for_the_mail_worker(db, clock):
    tenant = new_tenant(db)
    with transaction(db) as s:
        mail = OutboxMessage(
            tenant_id=tenant,
            kind="email",
            event_type="reminder",
            event_id="m1",
            dedupe_key="mail:1",
            endpoint_id=None,
            payload={},
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=clock.now(),
        )
        s.add(mail)
        s.flush()
        mail_id = mail.id
    assert run_once(db, clock).claimed == 0
    row = load(db, OutboxMessage, mail_id)
    assert row.status == OutboxStatus.PENDING and row.next_attempt_at == clock.now()


def test_an_unreachable_endpoint_records_the_error(db, clock, loopback_allowed):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tenant = new_tenant(db)
    new_endpoint(db, tenant, f"http://127.0.0.1:{port}/nobody")
    [mid] = _emit(db, clock, tenant)
    assert run_once(db, clock, **EXACT).retrying == 1
    [attempt] = _attempts(db, mid)
    assert attempt.status_code is None and (attempt.error or "").startswith("ConnectError")


def test_messages_of_many_tenants_each_go_to_their_own_endpoint(db, clock, receiver):
    paths = {}
    for i in range(3):
        tenant = new_tenant(db)
        _, secret = new_endpoint(db, tenant, "https://placeholder.example/")
        _point(db, clock, tenant, receiver.expect(f"/t{i}", secret))
        paths[f"/t{i}"] = _emit(db, clock, tenant, data={"tenant": tenant})
    assert run_once(db, clock, limit=2).claimed == 2
    assert run_once(db, clock, limit=2).claimed == 1
    for path in paths:
        [got] = receiver.at(path)
        assert got.verified


def _point(engine, clock, tenant, url):
    """Point the tenant's only endpoint at ``url`` (the receiver's path for its secret)."""
    with transaction(engine) as s:
        from arpolicy.models import WebhookEndpoint

        endpoint = s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant))
        update_endpoint(s, endpoint, {"url": url}, clock.now(), destinations=LOOPBACK)
