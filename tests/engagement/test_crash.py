"""The real worker, killed with SIGKILL at random points over many runs while it sends
to a local SMTP server: afterwards every email has arrived (lost 0), and every one that
arrived twice is flagged in_doubt (no unexplained duplicate)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.models import Email, EmailStatus, OutboxMessage, OutboxStatus
from tests.engagement.helpers import Sink, new_customer, queue_many

EMAILS = 300
KILLS = 15
SEED = 20261123
LEASE_S = 1.0


def _worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "arpolicy.cli.main", "worker", "--interval", "0.1",
           "--limit", "10", "--lease", str(LEASE_S), *extra]  # fmt: skip
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=fh)


def _wait_started(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while "worker.started" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.02)


def _pending(engine) -> tuple[int, datetime | None]:
    with transaction(engine, write=False) as s:
        count, latest = s.execute(
            select(func.count(), func.max(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING
            )
        ).one()
    return int(count), latest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(database URL, workers run at once): one worker on SQLite; two on PostgreSQL, killed
    together, so that each email is claimed by one of them."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}", 1
        return
    from tests.conftest import new_pg_database

    url, drop = new_pg_database()
    try:
        yield url, 2
    finally:
        drop()


def test_kill_9_at_random_points_loses_nothing_and_flags_every_duplicate(tmp_path, crash_db):
    url, workers = crash_db
    engine = make_engine(url)
    upgrade(engine)
    tenant, customer = new_customer(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    queued = queue_many(engine, tenant, customer, EMAILS, decided_at=now)
    rng = random.Random(SEED)
    with Sink(delay=0.01) as sink:
        env = os.environ | {"ARPOLICY_DATABASE_URL": url, "ARPOLICY_MAIL_URL": sink.url(),
                            "ARPOLICY_LOG_LEVEL": "info"}  # fmt: skip
        for run in range(KILLS):
            procs = []
            for w in range(workers):
                log = tmp_path / f"run{run}-{w}.log"
                procs.append(proc := _worker(env, log))
                _wait_started(proc, log)
            for proc in procs:
                time.sleep(rng.uniform(0.0, 0.5 / workers))  # the random kill points
                proc.send_signal(signal.SIGKILL)
            for proc in procs:
                assert proc.wait(timeout=10) == -signal.SIGKILL
        sent_before_final = len(sink.received)
        for final in range(3):  # until nothing is pending (waiting out a dead worker's lease)
            count, latest = _pending(engine)
            if count == 0:
                break
            if latest is not None and latest > datetime.now(UTC):
                time.sleep((latest - datetime.now(UTC)).total_seconds() + 0.05)
            log = tmp_path / f"final{final}.log"
            proc = _worker(env, log, "--until-idle")
            assert proc.wait(timeout=60) == 0, log.read_text(errors="replace")
        arrived = Counter(sink.message_ids())
    with transaction(engine, write=False) as s:
        rows = s.execute(select(Email.message_id, Email.status, Email.in_doubt)).all()
    engine.dispose()
    expected = {q.message_id for q in queued}
    flagged = {r.message_id for r in rows if r.in_doubt}
    duplicates = {m for m, n in arrived.items() if n > 1}
    lost = expected - set(arrived)
    print(f"\ncrash test ({engine.dialect.name}, {workers} worker(s) at once): {EMAILS} emails, {KILLS * workers} kills, {sent_before_final} delivered before "
          f"the final run, lost {len(lost)}, duplicates {len(duplicates)}, in doubt "
          f"{len(flagged)}, unexplained duplicates {len(duplicates - flagged)}")  # fmt: skip
    assert sent_before_final > 0
    assert lost == set() and set(arrived) == expected
    assert duplicates <= flagged
    assert {r.status for r in rows} == {EmailStatus.SENT}
    assert _pending(engine)[0] == 0
