"""The dispatcher sends each queued email once through a real SMTP server, records it,
retries what can succeed later, fails what cannot, suppresses blocked recipients, and owns
up to an email it may have sent twice. Both databases, a fixed clock (no sleeping)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import arpolicy.worker.emails as dispatcher
from arpolicy.kit.db import make_engine, transaction
from arpolicy.mail import open_transport
from arpolicy.models import (
    Customer,
    Document,
    Email,
    EmailStatus,
    OutboxMessage,
    OutboxStatus,
    Tenant,
)
from arpolicy.webhooks.schedule import MAX_ATTEMPTS, SCHEDULE
from arpolicy.worker import run_once
from arpolicy.worker.claims import LEASE, claim_due
from arpolicy.worker.emails import dispatch_due
from tests.engagement.helpers import (
    clock,
    free_port,
    load_email,
    load_outbox,
    mail_engine,
    mdb,
    new_customer,
    queue_email,
    sink,
)
from tests.fixtures.factories import create_document

__all__ = ["clock", "mail_engine", "mdb", "sink"]  # fixtures
EXACT = {"rand": lambda: 0.5}  # no jitter


def _dispatch(engine, sink, clock, **kw):
    return dispatch_due(engine, open_transport(sink.url()), clock, **EXACT, **kw)


def _document(engine, tenant_id, customer_id, last_email_at=None):
    with transaction(engine) as s:
        tenant = s.get(Tenant, tenant_id)
        customer = s.get(Customer, customer_id)
        doc = create_document(s, tenant, customer, "120.00", last_email_at=last_email_at)
        return doc.id


def test_a_due_email_is_sent_once_and_recorded(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    docs = [
        _document(mdb, tenant, customer),
        _document(mdb, tenant, customer, clock.now() + timedelta(days=1)),
    ]
    q = queue_email(mdb, tenant, customer, documents=docs)
    report = _dispatch(mdb, sink, clock)
    assert (report.claimed, report.sent, report.in_doubt) == (1, 1, 0)
    [got] = sink.received
    assert got.message_id == q.message_id and got.message["X-Arpolicy-Key"] == q.key
    email = load_email(mdb, q.email_id)
    assert email.status == EmailStatus.SENT and email.sent_at == clock.now()
    assert (email.attempts, email.in_doubt, email.last_error) == (1, False, None)
    row = load_outbox(mdb, q.outbox_id)
    assert row.status == OutboxStatus.DELIVERED and row.delivered_at == clock.now()
    with transaction(mdb, write=False) as s:
        assert s.get(Customer, customer).last_email_at == clock.now()
        first, later = (s.get(Document, d).last_email_at for d in docs)
    assert first == clock.now() and later == clock.now() + timedelta(days=1)  # never back
    assert _dispatch(mdb, sink, clock).claimed == 0
    assert len(sink.received) == 1


def test_nothing_goes_before_the_send_window_opens(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer, send_after=clock.now() + timedelta(hours=2))
    assert _dispatch(mdb, sink, clock).claimed == 0
    clock.advance(timedelta(hours=2))
    assert _dispatch(mdb, sink, clock).sent == 1
    assert sink.message_ids() == [q.message_id]


def test_a_451_is_retried_on_the_schedule_then_sent(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer)
    sink.data_replies.append("451 4.3.0 greylisted, try again later")
    report = _dispatch(mdb, sink, clock)
    assert (report.retried, report.sent) == (1, 0)
    email, row = load_email(mdb, q.email_id), load_outbox(mdb, q.outbox_id)
    assert email.status == EmailStatus.QUEUED and email.attempts == 1
    assert "451 4.3.0 greylisted" in (email.last_error or "")
    assert row.status == OutboxStatus.PENDING and row.next_attempt_at == clock.now() + SCHEDULE[0]
    assert _dispatch(mdb, sink, clock).claimed == 0  # not due yet
    clock.advance(SCHEDULE[0])
    report = _dispatch(mdb, sink, clock)
    assert (report.sent, report.in_doubt) == (1, 0)
    email = load_email(mdb, q.email_id)
    assert (email.status, email.attempts, email.in_doubt, email.last_error) == (
        EmailStatus.SENT,
        2,
        False,
        None,
    )
    assert sink.message_ids() == [q.message_id]


def test_a_550_fails_the_email_at_once(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer, to=["gone@example.com"])
    sink.rcpt_replies["gone@example.com"] = "550 5.1.1 user unknown"
    report = _dispatch(mdb, sink, clock)
    assert (report.failed, report.sent, report.retried) == (1, 0, 0)
    email, row = load_email(mdb, q.email_id), load_outbox(mdb, q.outbox_id)
    assert email.status == EmailStatus.FAILED and "550 5.1.1 user unknown" in email.last_error
    assert row.status == OutboxStatus.FAILED and row.last_error == email.last_error
    assert sink.received == []


def test_transient_errors_give_up_after_the_last_retry(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer)
    sink.data_replies.extend(["452 4.3.1 out of storage"] * MAX_ATTEMPTS)
    outcomes = []
    for delay in (timedelta(0), *SCHEDULE):
        clock.advance(delay)
        r = _dispatch(mdb, sink, clock)
        outcomes.append((r.retried, r.failed))
    assert outcomes == [(1, 0)] * (MAX_ATTEMPTS - 1) + [(0, 1)]
    email = load_email(mdb, q.email_id)
    assert email.status == EmailStatus.FAILED and email.attempts == MAX_ATTEMPTS
    assert load_outbox(mdb, q.outbox_id).status == OutboxStatus.FAILED


def test_blocked_recipients_suppress_the_email(mdb, clock, sink):
    tenant, customer = new_customer(
        mdb,
        contacts=[
            {"email": "Bounced@Example.com", "bounced": True},
            {"email": "quit@example.com", "unsubscribed": True},
            {"email": "fine@example.com"},
        ],
    )
    new_customer(mdb, tenant, contacts=[{"email": "fine2@example.com", "bounced": True}])
    blocked = queue_email(
        mdb, tenant, customer, to=["Jo <bounced@example.COM>", "quit@example.com"]
    )
    half = queue_email(mdb, tenant, customer, to=["bounced@example.com", "fine@example.com"])
    elsewhere = queue_email(mdb, tenant, customer, to=["fine2@example.com"])  # not his contact
    report = _dispatch(mdb, sink, clock)
    assert (report.suppressed, report.sent) == (1, 2)
    email = load_email(mdb, blocked.email_id)
    assert email.status == EmailStatus.SUPPRESSED and email.attempts == 0
    assert load_outbox(mdb, blocked.outbox_id).status == OutboxStatus.DELIVERED
    assert sorted(sink.message_ids()) == sorted([half.message_id, elsewhere.message_id])


def test_a_crash_between_hand_over_and_record_resends_once_flagged_in_doubt(
    mdb, clock, sink, monkeypatch
):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer)
    real = dispatcher._record_sent
    monkeypatch.setattr(dispatcher, "_record_sent", _raise_once(SystemExit, real))
    with pytest.raises(SystemExit):
        _dispatch(mdb, sink, clock)
    email = load_email(mdb, q.email_id)
    assert email.status == EmailStatus.QUEUED and email.attempts == 1 and not email.in_doubt
    assert _dispatch(mdb, sink, clock).claimed == 0  # still leased by the dead worker
    clock.advance(LEASE)
    report = _dispatch(mdb, sink, clock)
    assert (report.sent, report.in_doubt) == (1, 1)
    assert sink.message_ids() == [q.message_id, q.message_id]  # the same Message-ID twice
    email = load_email(mdb, q.email_id)
    assert (email.status, email.attempts, email.in_doubt) == (EmailStatus.SENT, 2, True)


def test_a_crash_before_the_hand_over_loses_nothing(mdb, clock, sink, monkeypatch):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer)

    class Dying:
        url = "dying://"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def send(self, message):
            raise SystemExit(1)

    with pytest.raises(SystemExit):
        dispatch_due(mdb, Dying(), clock)
    clock.advance(LEASE)
    report = _dispatch(mdb, sink, clock)
    assert report.sent == 1 and sink.message_ids() == [q.message_id]
    assert load_email(mdb, q.email_id).in_doubt  # it cannot know the first never went


def test_a_dead_server_stops_the_batch_and_the_rest_waits_untouched(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    queued = [queue_email(mdb, tenant, customer) for _ in range(3)]
    down = open_transport(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    report = dispatch_due(mdb, down, clock, **EXACT)
    assert (report.claimed, report.retried, report.released) == (3, 1, 2)
    attempts = [load_email(mdb, q.email_id).attempts for q in queued]
    assert attempts == [1, 0, 0]
    clock.advance(SCHEDULE[0])
    assert _dispatch(mdb, sink, clock).sent == 3
    assert sorted(sink.message_ids()) == sorted(q.message_id for q in queued)
    assert not any(load_email(mdb, q.email_id).in_doubt for q in queued)


def test_a_stale_claim_neither_sends_nor_records(mdb, clock, sink):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer)
    with transaction(mdb) as s:
        [old] = claim_due(s, clock.now(), 10, kind="email")
    clock.advance(LEASE)
    with transaction(mdb) as s:
        [new] = claim_due(s, clock.now(), 10, kind="email")
    assert dispatcher.prepare(mdb, clock, old) == "skipped"
    assert isinstance(dispatcher.prepare(mdb, clock, new), dispatcher.Prepared)
    assert load_email(mdb, q.email_id).attempts == 1


def test_webhook_claims_leave_emails_alone(mdb, clock):
    tenant, customer = new_customer(mdb)
    queue_email(mdb, tenant, customer)
    with transaction(mdb) as s:
        assert claim_due(s, clock.now(), 10) == []
        assert len(claim_due(s, clock.now(), 10, kind="email")) == 1


def test_the_worker_pass_sends_emails_to_a_maildir(mdb, clock, tmp_path):
    tenant, customer = new_customer(mdb)
    q = queue_email(mdb, tenant, customer, mode="test", subject="[TEST] Erinnerung")
    report = run_once(mdb, clock, mail=f"maildir://{tmp_path}/mail", **EXACT)
    assert report.busy and (report.mail.claimed, report.mail.sent) == (1, 1)
    [path] = (tmp_path / "mail" / "new").iterdir()
    assert q.message_id in path.read_text()
    assert not run_once(mdb, clock, mail=f"maildir://{tmp_path}/mail").busy


def test_two_dispatchers_at_once_send_every_email_exactly_once(mdb, clock, sink):
    """Separate engines (connections) in threads, as separate processes would have."""
    queued = []
    for _ in range(3):
        tenant, customer = new_customer(mdb)
        queued += [queue_email(mdb, tenant, customer) for _ in range(20)]
    sink.delay = 0.003
    url = mdb.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    start = threading.Barrier(2)
    sent = [0, 0]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            while (r := _dispatch(engines[i], sink, clock, limit=4)).claimed > 0:
                sent[i] += r.sent
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
    ids = Counter(sink.message_ids())
    assert set(ids) == {q.message_id for q in queued} and set(ids.values()) == {1}
    assert sum(sent) == 60 and min(sent) > 0, sent
    with transaction(mdb, write=False) as s:
        rows = s.execute(
            select(Email.status, Email.attempts, Email.in_doubt, OutboxMessage.status)
            .join(OutboxMessage, OutboxMessage.event_id == Email.message_id)
            .where(Email.id.in_([q.email_id for q in queued]))
        ).all()
    assert Counter(rows) == {(EmailStatus.SENT, 1, False, OutboxStatus.DELIVERED): 60}


def _raise_once(exc_type, real):
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise exc_type(1)
        return real(*args, **kwargs)

    return fake


def test_the_worker_command_sends_to_the_mail_url_it_is_given(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from arpolicy.cli.main import app
    from arpolicy.kit.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_MAIL_URL", "smtp://nowhere.invalid")  # overridden below
    engine = make_engine(url)
    upgrade(engine)
    tenant, customer = new_customer(engine)
    q = queue_email(engine, tenant, customer, decided_at=datetime.now(UTC))
    engine.dispose()
    runner = CliRunner()
    bad = runner.invoke(app, ["worker", "--once", "--mail", "smtp://h?tls=1"])
    assert bad.exit_code == 2 and "unknown parameter tls" in bad.output
    box = tmp_path / "box"
    result = runner.invoke(app, ["worker", "--once", "--json", "--mail", f"maildir://{box}"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mail"]["claimed"] == report["mail"]["sent"] == 1 and report["claimed"] == 0
    [path] = (box / "new").iterdir()
    assert q.message_id in path.read_text()
