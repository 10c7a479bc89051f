"""The real worker, killed with SIGKILL at random points over many runs while it delivers
webhooks to a local receiver: afterwards every webhook has arrived (lost 0), every one
that arrived twice is flagged in_doubt, and no message arrived more often than its attempt
log shows (no invisible delivery). The webhook twin of tests/engagement/test_crash.py."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from arpolicy.webhooks import emit
from arpolicy.webhooks.service import create_endpoint
from tests.fixtures.crash import drain, pending, start_worker, wait_started
from tests.webhooks.support import LOOPBACK, LOOPBACK_NETWORKS, Receiver

WEBHOOKS = 300
KILLS = 10
SEED = 20261208
ENGAGE_OFF = ("--engage-every", "0")


def _wait_delivering(
    engine, receiver: Receiver, seen: int, procs: list[subprocess.Popen[bytes]], logs: list[Path]
) -> None:
    """Until a request arrives beyond the first ``seen`` (or nothing is left to send): the
    kill then lands mid-delivery however slowly the worker started (a loaded machine)."""
    deadline = time.monotonic() + 60.0
    while len(receiver.received) <= seen and pending(engine)[0]:
        for proc, log in zip(procs, logs, strict=True):
            assert proc.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "no webhook arrived"
        time.sleep(0.005)


def _queue(engine, url: str, receiver: Receiver) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    with transaction(engine) as s:
        tenant = create_tenant(s, "crash")
        _, secret = create_endpoint(s, tenant.id, url, ["*"], destinations=LOOPBACK)
        receiver.expect("/crash", secret)
        for i in range(WEBHOOKS):
            emit(s, tenant.id, "customer.created", {"id": i}, key=f"c:{i}", at=at)


def test_kill_9_at_random_points_loses_nothing_and_hides_no_duplicate(tmp_path, crash_db):
    url, workers = crash_db
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(SEED)
    with Receiver() as receiver:
        receiver.delay = 0.005
        _queue(engine, receiver.url("/crash"), receiver)
        env = os.environ | {
            "ARPOLICY_DATABASE_URL": url,
            "ARPOLICY_LOG_LEVEL": "info",
            "ARPOLICY_MAIL_URL": f"maildir://{tmp_path / 'mail'}",
            "ARPOLICY_WEBHOOK_ALLOW_NETWORKS": LOOPBACK_NETWORKS,
        }
        for run in range(KILLS):
            procs, logs, seen = [], [], len(receiver.received)
            for w in range(workers):
                logs.append(log := tmp_path / f"run{run}-{w}.log")
                procs.append(proc := start_worker(env, log, *ENGAGE_OFF))
                wait_started(proc, log)
            _wait_delivering(engine, receiver, seen, procs, logs)
            for proc in procs:
                time.sleep(rng.uniform(0.0, 0.3 / workers))  # the random kill points
                proc.send_signal(signal.SIGKILL)
            for proc in procs:
                assert proc.wait(timeout=10) == -signal.SIGKILL
        before_final = len(receiver.at("/crash"))
        drain(engine, env, tmp_path, *ENGAGE_OFF, timeout=120)
        arrived = Counter(r.headers["webhook-id"] for r in receiver.at("/crash") if r.verified)
    with transaction(engine, write=False) as s:
        attempts = dict(
            s.execute(
                select(DeliveryAttempt.message_id, func.count()).group_by(
                    DeliveryAttempt.message_id
                )
            ).all()
        )
        rows = s.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.event_id,
                OutboxMessage.status,
                OutboxMessage.in_doubt,
            )
        ).all()
    engine.dispose()
    expected = {r.event_id for r in rows}
    flagged = {r.event_id for r in rows if r.in_doubt}
    duplicates = {m for m, n in arrived.items() if n > 1}
    hidden = {r.event_id for r in rows if arrived[r.event_id] > attempts.get(r.id, 0)}
    print(
        f"\nwebhook crash test ({engine.dialect.name}, {workers} worker(s) at once): "
        f"{WEBHOOKS} webhooks, {KILLS * workers} kills, {before_final} arrived before the "
        f"final run, lost {len(expected - set(arrived))}, duplicates {len(duplicates)}, in "
        f"doubt {len(flagged)}, unexplained duplicates {len(duplicates - flagged)}, "
        f"arrivals beyond the attempt log {len(hidden)}"
    )
    assert before_final > 0 and len(expected) == WEBHOOKS
    assert set(arrived) == expected
    assert duplicates <= flagged
    assert hidden == set()
    assert {r.status for r in rows} == {OutboxStatus.DELIVERED}
