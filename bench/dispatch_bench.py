"""Email dispatch (issue 6): 2,000 queued reminder emails on SQLite, sent with the real
dispatcher (claim, prepare, hand over, record: two transactions per email) to an aiosmtpd
server on localhost, one SMTP connection per batch.

    python -m bench.dispatch_bench                  # 2,000 emails, batches of 100
    python -m bench.dispatch_bench --emails 500 --limit 20

Target: at least 200 emails per second. The SMTP server runs in a child process, so the
rate is the worker's own (it does not share the interpreter with the server).
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.logging import configure_logging
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.mail import open_transport
from arpolicy.models import Customer, Email, EmailMode, EmailStatus, OutboxMessage
from arpolicy.worker.emails import dispatch_due
from bench import data

TARGET_PER_S = 200.0
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _serve(port: int, ready: Connection, done: Connection) -> None:
    """The SMTP sink (child process): counts messages, reports the count when told."""
    from aiosmtpd.controller import Controller

    class Count:
        n = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Count.n += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port, server_hostname="sink.bench")
    controller.start()
    ready.send(True)
    done.recv()
    controller.stop()
    done.send(Count.n)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _queue(engine: Any, n: int) -> None:
    with transaction(engine) as s:
        tenant = create_tenant(s, "bench", base_currency="EUR")
        customer = Customer(
            tenant_id=tenant.id, external_id="C1", name="Müller GmbH", custom_fields={}
        )
        s.add(customer)
        s.flush()
        emails = [
            Email(
                tenant_id=tenant.id,
                customer_id=customer.id,
                key=f"1:first:{customer.id}:{i}",
                message_id=f"<b{i}@bench.arpolicy.test>",
                mode=EmailMode.LIVE,
                decided_at=AT,
                from_address="Buchhaltung Müller <ar@mueller.example>",
                to=[f"Jürgen Groß <kunde{i}@example.com>"],
                cc=[],
                subject=f"Zahlungserinnerung {i}: Rechnung überfällig",
                text_body="Sehr geehrte Damen und Herren,\n" + "bitte zahlen Sie. " * 40,
                html_body="<p>" + "Bitte zahlen Sie. " * 40 + "</p>",
                documents=[],
            )
            for i in range(n)
        ]
        s.add_all(emails)
        s.flush()
        s.add_all(
            OutboxMessage(
                tenant_id=tenant.id,
                kind="email",
                event_type="email",
                event_id=e.message_id,
                dedupe_key=e.key,
                payload={"email_id": e.id},
                next_attempt_at=AT,
            )
            for e in emails
        )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--emails", type=int, default=2_000)
    ap.add_argument("--limit", type=int, default=100, help="emails claimed per batch")
    args = ap.parse_args()
    configure_logging("warning")  # a log line per email is not what is measured
    data.HERE.mkdir(exist_ok=True)
    db = data.HERE / "dispatch.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    _queue(engine, args.emails)

    port = _free_port()
    ready_r, ready_w = multiprocessing.Pipe(duplex=False)
    done_parent, done_child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(port, ready_w, done_child))
    server.start()
    ready_r.recv()
    transport = open_transport(f"smtp://127.0.0.1:{port}")
    t0, cpu0 = time.perf_counter(), time.process_time()
    batches = sent = 0
    while (report := dispatch_due(engine, transport, AT, args.limit)).claimed:
        batches += 1
        sent += report.sent
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done_parent.send(True)
    received = done_parent.recv()
    server.join()
    with transaction(engine, write=False) as s:
        recorded = s.scalar(select(func.count()).where(Email.status == EmailStatus.SENT))
    engine.dispose()

    rate = sent / elapsed
    print(
        f"dispatch {args.emails:,} emails in {batches} batches of {args.limit} on SQLite: "
        f"{elapsed:.2f} s, {rate:,.0f} emails/s"
    )
    print(
        f"worker CPU {cpu:.2f} s: {sent / cpu:,.0f} emails per CPU-second "
        "(the bound when the machine is not shared)"
    )
    print(f"sent {sent:,}, recorded sent {recorded:,}, received by the server {received:,}")
    ok = rate >= TARGET_PER_S and sent == received == recorded == args.emails
    print(
        f"target: at least {TARGET_PER_S:.0f} emails/s, each once: "
        f"{'ok' if ok else 'MISSED'} ({rate:,.0f}/s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
