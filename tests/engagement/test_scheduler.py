"""The worker runs every tenant's live and test cycles on its schedule and then sends
what they decided: decide -> outbox -> worker -> a maildir, end to end, on both databases."""

from __future__ import annotations

import mailbox
import threading
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.engagement import admin
from arpolicy.engagement.tasks import run_all
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.models import Email, EmailStatus, OutboxMessage, Tenant, WebhookEndpoint
from arpolicy.worker import registry
from arpolicy.worker.runner import run_forever
from tests.engagement.cycles_support import CYCLE, SETTINGS, customer_with_invoice
from tests.fixtures.factories import create_tenant, create_user

DAY = date(2026, 3, 13)  # a Friday: the invoices of cycles_support fall due on the 10th
NOW = datetime(2026, 3, 13, 9, 30, tzinfo=UTC)  # 10:30 in Berlin: inside the window


def _tenant(engine, status: str, customers: int) -> int:
    with transaction(engine) as s:
        t = create_tenant(s, timezone="Europe/Berlin", base_currency="EUR")
        actor = Actor(t.id, "test")
        owner = create_user(s, t, email=f"o-{t.slug}@shop.example", name="Olga Owner")
        admin.save_settings(s, t, actor, SETTINGS, at=NOW)
        admin.save_cycle(s, t, actor, {**CYCLE, "status": status}, at=NOW)
        for k in range(customers):
            customer_with_invoice(s, t, owner, email=f"ap{k}-{t.slug}@x.example")
        return t.id


def _emails(engine, tenant_id: int) -> list[Email]:
    with transaction(engine, write=False) as s:
        return list(s.scalars(select(Email).where(Email.tenant_id == tenant_id)))


def test_run_all_runs_live_and_test_cycles_once_a_day(db_engine):
    live, draft, testing = (
        _tenant(db_engine, "live", 3),
        _tenant(db_engine, "draft", 2),
        _tenant(db_engine, "test", 1),
    )
    clock = FixedClock(NOW)
    first = run_all(db_engine, clock)
    assert not first.failed
    assert len(_emails(db_engine, live)) == 3 and _emails(db_engine, draft) == []
    (qa,) = _emails(db_engine, testing)
    assert qa.to == ["qa@shop.example"] and qa.subject.startswith("[TEST]")
    again = run_all(db_engine, clock)  # the same day: nothing new
    assert again.written == 0 and len(_emails(db_engine, live)) == 3


def test_the_worker_decides_then_delivers_to_a_maildir(db_engine, tmp_path):
    tenant_id = _tenant(db_engine, "live", 4)
    with transaction(db_engine) as s:  # a subscriber (unreachable: its deliveries just retry)
        s.add(
            WebhookEndpoint(
                tenant_id=tenant_id,
                url="https://127.0.0.1:9/hook",
                events=["reminder.sent"],
                secret="whsec_x",
                active=True,
            )
        )
    box = tmp_path / "mail"
    stop = threading.Event()
    run_forever(
        db_engine,
        FixedClock(NOW),
        interval=0.1,
        stop=stop,
        mail_url=f"maildir://{box}",
        until_idle=True,
        tasks=registry.scheduled(),
    )
    emails = _emails(db_engine, tenant_id)
    assert len(emails) == 4 and {e.status for e in emails} == {EmailStatus.SENT}
    delivered = [
        m for m in mailbox.Maildir(box) if m["Message-ID"] in {e.message_id for e in emails}
    ]
    assert sorted(m["Message-ID"] for m in delivered) == sorted(e.message_id for e in emails)
    assert all(
        m["From"] == f"Olga Owner <o-{_slug(db_engine, tenant_id)}@shop.example>" for m in delivered
    )
    with transaction(db_engine, write=False) as s:
        from arpolicy.models import Customer

        stamped = s.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.tenant_id == tenant_id, Customer.last_email_at == NOW)
        )
    assert stamped == 4  # the rule field last_email_at follows what was sent
    with transaction(db_engine, write=False) as s:
        hooks = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.tenant_id == tenant_id, OutboxMessage.event_type == "reminder.sent"
            )
        ).all()
    assert sorted(h.payload["data"]["message_id"] for h in hooks) == sorted(
        e.message_id for e in emails
    )
    assert {h.payload["data"]["reminder"] for h in hooks} == {"overdue"}


def _slug(engine, tenant_id: int) -> str:
    with transaction(engine, write=False) as s:
        return s.get(Tenant, tenant_id).slug
