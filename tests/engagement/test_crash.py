"""The real worker, killed with SIGKILL at random points over many runs while it sends
to a local SMTP server: afterwards every email has arrived (lost 0), and every one that
arrived twice is flagged in_doubt (no unexplained duplicate)."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.models import Email, EmailStatus
from tests.engagement.helpers import Sink, new_customer, queue_many
from tests.fixtures.crash import drain, pending, start_worker, wait_started

EMAILS = 300
KILLS = 15
SEED = 20261123


def test_kill_9_at_random_points_loses_nothing_and_flags_every_duplicate(tmp_path, crash_db):
    url, workers = crash_db
    engine = make_engine(url)
    upgrade(engine)
    tenant, customer = new_customer(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    queued = queue_many(engine, tenant, customer, EMAILS, decided_at=now)
    rng = random.Random(SEED)
    with Sink(delay=0.01) as sink:
        env = os.environ | {
            "ARPOLICY_DATABASE_URL": url,
            "ARPOLICY_MAIL_URL": sink.url(),
            "ARPOLICY_LOG_LEVEL": "info",
        }
        for run in range(KILLS):
            procs = []
            for w in range(workers):
                log = tmp_path / f"run{run}-{w}.log"
                procs.append(proc := start_worker(env, log))
                wait_started(proc, log)
            for proc in procs:
                time.sleep(rng.uniform(0.0, 0.5 / workers))  # the random kill points
                proc.send_signal(signal.SIGKILL)
            for proc in procs:
                assert proc.wait(timeout=10) == -signal.SIGKILL
        sent_before_final = len(sink.received)
        drain(engine, env, tmp_path, timeout=60)
        arrived = Counter(sink.message_ids())
    with transaction(engine, write=False) as s:
        rows = s.execute(select(Email.message_id, Email.status, Email.in_doubt)).all()
    engine.dispose()
    expected = {q.message_id for q in queued}
    flagged = {r.message_id for r in rows if r.in_doubt}
    duplicates = {m for m, n in arrived.items() if n > 1}
    lost = expected - set(arrived)
    print(
        f"\ncrash test ({engine.dialect.name}, {workers} worker(s) at once): {EMAILS} emails, {KILLS * workers} kills, {sent_before_final} delivered before "
        f"the final run, lost {len(lost)}, duplicates {len(duplicates)}, in doubt "
        f"{len(flagged)}, unexplained duplicates {len(duplicates - flagged)}"
    )
    assert sent_before_final > 0
    assert lost == set() and set(arrived) == expected
    assert duplicates <= flagged
    assert {r.status for r in rows} == {EmailStatus.SENT}
    assert pending(engine)[0] == 0
