"""The dashboard (docs/web/dashboard.md): the start page after signing in.

The tenant-wide part (figures and ageing as ``GET /v1/reports/figures`` computes them, the
DSO trend, the most overdue customers) is read from the tenant's figure snapshot
(ledger/snapshot.py, ADR 0008), shown with the time it was computed: the worker keeps it
fresh, "Refresh now" recomputes it, and a tenant without one gets it computed on its first
view. The user's own customers and the week's activity are live (ledger/dashboard.py).
Every figure links to the list behind it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from arpolicy.api.ledger import tenant_of
from arpolicy.api.routes.reports import as_of_or_today
from arpolicy.kit.money import Money
from arpolicy.ledger.dashboard import activity, owner_summary, top_overdue
from arpolicy.ledger.figures import DSO_PERIOD_DAYS
from arpolicy.ledger.snapshot import Snapshot, compute, latest, store
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page

router = APIRouter(include_in_schema=False)
MY_TOP = 5


def week_start(today: date, zone: str) -> datetime:
    """Monday 00:00 of ``today``'s week in the tenant's zone, as a UTC instant."""
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=ZoneInfo(zone or "UTC")).astimezone(UTC)


def _chart(labels: list[str], values: list[Any]) -> dict[str, Any]:
    """What dashboard.js draws: labels and plain numbers (display only)."""
    return {"labels": labels, "values": [None if v is None else str(v) for v in values]}


def _recompute(me: Caller, *, audited: bool = False) -> Snapshot:
    """A new snapshot of today: computed in a read transaction, stored (and audited, when
    the user asked for it) in a short write one: a large tenant's figures take seconds and
    the database's writer is not held for them."""
    with me.read() as session:
        tenant = tenant_of(session, me)
        snap = compute(session, tenant, as_of_or_today(me, tenant, None), me.now())
    with me.write() as session:
        store(session, me.tenant_id, snap)
        if audited:
            after = {"as_of": snap.as_of.isoformat(), "computed_at": snap.computed_at}
            me.audit(session, "figures.refreshed", "figure_snapshot", me.tenant_id, after=after)
    return snap


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, refreshed: bool = False, me: Caller = Depends(signed_in("reports:read"))
) -> HTMLResponse:
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = as_of_or_today(me, tenant, None)
        snap = latest(session, tenant.id, today)
        mine = owner_summary(session, tenant, today, me.user_id)
        my_top = top_overdue(session, tenant, today, limit=MY_TOP, owner_id=me.user_id)
        week = activity(session, tenant, week_start(today, tenant.timezone), today)
        ccy = tenant.base_currency
    if snap is None:  # the first view (no worker has made one yet)
        snap = _recompute(me)
    max_age = timedelta(minutes=me.settings.figures_max_age_minutes)
    figures, base = snap.figures, snap.figures.base
    ageing = [
        (label, Money.from_minor(minor, ccy))
        for label, minor in zip(figures.bucket_labels, base.buckets, strict=True)
    ]
    return page(
        request,
        me,
        "dashboard.html",
        today=today,
        snapshot=snap,
        fresh=snap.is_fresh(today, me.now(), max_age),
        max_age_minutes=me.settings.figures_max_age_minutes,
        flash="The figures were recomputed." if refreshed else None,
        figures=figures,
        money={name: base.money(name) for name in ("outstanding", "overdue", "net_overdue")},
        open_p2p=base.money("open_p2p"),
        open_issue=base.money("open_issue"),
        ageing=ageing,
        ageing_chart=_chart([a[0] for a in ageing], [a[1].amount for a in ageing]),
        trend=snap.trend,
        trend_chart=_chart(
            [p.on.isoformat() for p in snap.trend], [p.dso_days for p in snap.trend]
        ),
        top=snap.top,
        mine=mine,
        my_top=my_top,
        week=week,
        currency=ccy,
        period_days=DSO_PERIOD_DAYS,
    )


@router.post("/dashboard/refresh")
def refresh(me: Caller = Depends(signed_in("reports:read"))) -> RedirectResponse:
    """Recompute the tenant's figure snapshot now (CSRF-checked by ``signed_in``), audited
    with the user; back to the dashboard."""
    _recompute(me, audited=True)
    return RedirectResponse("/dashboard?refreshed=1", status_code=303)
