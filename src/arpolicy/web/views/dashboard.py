"""The dashboard (docs/web/dashboard.md): the start page after signing in.

The tenant's figures and ageing are those of ``GET /v1/reports/figures`` (the same
``tenant_figures`` call, as of today in the tenant's zone); the DSO trend, the most
overdue customers, the user's own customers and the week's activity come from
ledger/dashboard.py. Every figure links to the list behind it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from arpolicy.api.ledger import tenant_of
from arpolicy.api.routes.reports import as_of_or_today
from arpolicy.kit.money import Money
from arpolicy.ledger.dashboard import activity, dso_trend, owner_summary, top_overdue
from arpolicy.ledger.figures import DSO_PERIOD_DAYS, tenant_figures
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page

router = APIRouter(include_in_schema=False)
TOP = 10


def week_start(today: date, zone: str) -> datetime:
    """Monday 00:00 of ``today``'s week in the tenant's zone, as a UTC instant."""
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=ZoneInfo(zone or "UTC")).astimezone(UTC)


def _chart(labels: list[str], values: list[Any]) -> dict[str, Any]:
    """What dashboard.js draws: labels and plain numbers (display only)."""
    return {"labels": labels, "values": [None if v is None else str(v) for v in values]}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, me: Caller = Depends(signed_in("reports:read"))) -> HTMLResponse:
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = as_of_or_today(me, tenant, None)
        figures = tenant_figures(session, tenant, today)
        trend = dso_trend(session, tenant, figures)
        top = top_overdue(session, tenant, today, limit=TOP)
        mine = owner_summary(session, tenant, today, me.user_id)
        my_top = top_overdue(session, tenant, today, limit=5, owner_id=me.user_id)
        week = activity(session, tenant, week_start(today, tenant.timezone), today)
        ccy = tenant.base_currency
    base = figures.base
    ageing = [
        (label, Money.from_minor(minor, ccy))
        for label, minor in zip(figures.bucket_labels, base.buckets, strict=True)
    ]
    return page(
        request,
        me,
        "dashboard.html",
        today=today,
        figures=figures,
        money={name: base.money(name) for name in ("outstanding", "overdue", "net_overdue")},
        open_p2p=base.money("open_p2p"),
        open_issue=base.money("open_issue"),
        ageing=ageing,
        ageing_chart=_chart([a[0] for a in ageing], [a[1].amount for a in ageing]),
        trend=trend,
        trend_chart=_chart([p.on.isoformat() for p in trend], [p.dso_days for p in trend]),
        top=top,
        mine=mine,
        my_top=my_top,
        week=week,
        currency=ccy,
        period_days=DSO_PERIOD_DAYS,
    )
