"""The dashboard's figure snapshot (ADR 0008), server side on both databases: the first view
computes and stores it, a later view reads it (a new invoice does not show until it is
recomputed), the worker's task replaces a stale one (too old, or of another day) and leaves
a fresh one, "Refresh now" recomputes it (CSRF-checked, audited with the user), and a fresh
snapshot's figures are the API's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, select, update

from arpolicy.config import Settings
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.kit.money import Money
from arpolicy.ledger.snapshot import compute, from_json, store, to_json
from arpolicy.ledger.tasks import SNAPSHOTS
from arpolicy.models import AuditEvent, FigureSnapshot, Tenant, UserRole
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.web.render import Formats
from arpolicy.worker import registry
from tests.api.conftest import NOW
from tests.fixtures.factories import create_customer, create_document
from tests.web.signin_support import WebUser, make_web_user, sign_in
from tests.web.worklist_support import TODAY, seed_worklist


def _rows(engine: Engine, tenant_id: int) -> list[tuple]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        q = select(FigureSnapshot.as_of, FigureSnapshot.computed_at, FigureSnapshot.data)
        return [tuple(r) for r in s.execute(q.where(FigureSnapshot.tenant_id == tenant_id))]


def _add_overdue_invoice(engine: Engine, tenant_id: int, amount: str) -> None:
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        c = create_customer(s, tenant, name="Newcomer Ltd")
        due = TODAY - timedelta(days=20)
        create_document(s, tenant, c, amount, document_date=due, due_date=due)


def _outstanding_shown(client: TestClient, who: WebUser) -> str:
    api = client.get("/v1/reports/figures", headers=who.caller.headers).json()
    with transaction(client.app.state.engine, write=False) as s:  # type: ignore[attr-defined]
        scope_tenant(s, who.caller.tenant_id)
        tenant = s.get(Tenant, who.caller.tenant_id)
        assert tenant is not None
        fmt = Formats(tenant.locale, tenant.timezone)
    ccy = api["base"]["currency"]
    money = fmt.money(Money(Decimal(api["base"]["outstanding"]), ccy))
    return f'<span class="value">{money}</span> Outstanding</a>'


def _run_task(engine: Engine, minutes_later: int) -> dict[str, int]:
    (task,) = [t for t in registry.scheduled() if t.name == SNAPSHOTS]
    clock = FixedClock(NOW + timedelta(minutes=minutes_later))
    return task.fn(registry.TaskContext(engine=engine, settings=Settings(), clock=clock))


def test_the_first_view_stores_a_snapshot_a_later_view_reads_it(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    assert _rows(db_engine, seeded.tenant_id) == []
    sign_in(web_client, who)  # opens /dashboard
    ((as_of, computed_at, data),) = _rows(db_engine, seeded.tenant_id)
    assert as_of == TODAY and computed_at == NOW
    assert data["currency"] == "USD" and data["minor"]["overdue"] == 1_460_000  # cents
    html = web_client.get("/dashboard").text
    assert 'Figures as of <time datetime="2026-11-23T12:00:00+00:00">' in html
    assert "older than" not in html  # fresh
    shown = _outstanding_shown(web_client, who)
    assert shown in html  # a fresh snapshot's figures are the API's
    _add_overdue_invoice(db_engine, seeded.tenant_id, "777.00")
    html = web_client.get("/dashboard").text
    assert shown in html and _outstanding_shown(web_client, who) not in html  # not yet
    assert "Newcomer Ltd" not in html


def test_a_snapshot_round_trips_exactly(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        snap = compute(s, tenant, TODAY, NOW)
    assert from_json(TODAY, NOW, to_json(snap)) == snap
    assert snap.top[0].overdue == Money(Decimal("9000.00"), "USD")
    later = replace(snap, computed_at=NOW + timedelta(minutes=1))
    for stored in (later, snap):  # an older computation never replaces a later one
        with transaction(db_engine) as s:
            scope_tenant(s, seeded.tenant_id)
            store(s, seeded.tenant_id, stored)
    ((_, computed_at, _),) = _rows(db_engine, seeded.tenant_id)
    assert computed_at == later.computed_at


def test_the_worker_replaces_a_stale_snapshot_and_leaves_a_fresh_one(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sign_in(web_client, who)
    _add_overdue_invoice(db_engine, seeded.tenant_id, "777.00")
    before = _rows(db_engine, seeded.tenant_id)
    _run_task(db_engine, minutes_later=5)  # younger than 15 minutes: kept
    assert _rows(db_engine, seeded.tenant_id) == before
    with transaction(db_engine) as s:  # make it 20 minutes old
        scope_tenant(s, seeded.tenant_id)
        s.execute(
            update(FigureSnapshot)
            .where(FigureSnapshot.tenant_id == seeded.tenant_id)
            .values(computed_at=NOW - timedelta(minutes=20))
        )
    html = web_client.get("/dashboard").text
    assert "older than 15 minutes" in html and "Newcomer Ltd" not in html
    counts = _run_task(db_engine, minutes_later=0)
    assert counts["refreshed"] >= 1 and counts["failed"] == 0
    ((as_of, computed_at, _),) = _rows(db_engine, seeded.tenant_id)
    assert (as_of, computed_at) == (TODAY, NOW)
    html = web_client.get("/dashboard").text
    assert "older than" not in html and "Newcomer Ltd" in html
    assert _outstanding_shown(web_client, who) in html
    _run_task(db_engine, minutes_later=24 * 60)  # the next day: a snapshot of that day
    ((as_of, computed_at, _),) = _rows(db_engine, seeded.tenant_id)
    assert as_of == TODAY + timedelta(days=1) and computed_at == NOW + timedelta(days=1)


def test_refresh_now_recomputes_checks_csrf_and_is_audited(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.AGENT)  # the narrowest role reads reports
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    _add_overdue_invoice(db_engine, seeded.tenant_id, "777.00")
    before = _rows(db_engine, seeded.tenant_id)
    r = web_client.post("/dashboard/refresh", data={})
    assert r.status_code == 403
    assert _rows(db_engine, seeded.tenant_id) == before
    r = web_client.post("/dashboard/refresh", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?refreshed=1"
    assert _rows(db_engine, seeded.tenant_id) != before
    html = web_client.get(r.headers["location"]).text
    assert "The figures were recomputed." in html and "Newcomer Ltd" in html
    assert _outstanding_shown(web_client, who) in html
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == seeded.tenant_id, AuditEvent.action == "figures.refreshed"
            )
        ).all()
    assert [(e.entity, e.after["as_of"]) for e in events] == [("figure_snapshot", "2026-11-23")]
    assert who.email in events[0].actor


def test_another_tenants_snapshot_never_shows(web_client: TestClient, db_engine: Engine) -> None:
    other = make_web_user(db_engine, UserRole.COLLECTOR)
    seed_worklist(db_engine, other)
    sign_in(web_client, other)  # the other tenant's snapshot exists
    me = make_web_user(db_engine, UserRole.COLLECTOR)
    sign_in(web_client, me)
    html = web_client.get("/dashboard").text
    assert "Big Owes Ltd" not in html and "No customer is overdue." in html
    assert len(_rows(db_engine, me.caller.tenant_id)) == 1


def test_the_maximum_age_is_at_least_a_minute() -> None:
    assert Settings().figures_max_age_minutes == 15
    with pytest.raises(ValidationError, match="figures_max_age_minutes"):
        Settings(figures_max_age_minutes=0)
