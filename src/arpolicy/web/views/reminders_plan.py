"""What the cycles will do: today's dry run (every email the run would send today, with
the reason, writing nothing: ``engagement.service.run(dry_run=True)`` as ``POST
/v1/engagement/runs``) and the 14-day forecast as a calendar (``engagement.admin.forecast``
as ``POST /v1/engagement/forecast``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from arpolicy.engagement import admin, service
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.views.reminders_support import PAGE, TABS, customers_of, tenant, today

router = APIRouter(include_in_schema=False)
FORECAST_DAYS = 14


@router.get("/reminders/today", response_class=HTMLResponse)
def dry_run_page(request: Request, page_no: int = 1, me: Caller = Depends(signed_in())) -> Any:
    """The page at once; the run, which reads every customer, loads into it
    (``/reminders/today/run``) with a note that it is being decided."""
    t = me.tenant
    on = today(me, t) if t is not None else None
    return page(
        request, me, "reminders/today.html", tabs=TABS, loading=True, page_no=page_no, on=on
    )


@router.get("/reminders/today/run", response_class=HTMLResponse)
def dry_run(request: Request, page_no: int = 1, me: Caller = Depends(signed_in())) -> Any:
    """Today's run, dry: the counts, then the emails 50 to a page (htmx: the results)."""
    with me.read() as session:
        t = tenant(session, me)
        report = service.run(
            session, t, me.actor, as_of=today(me, t), now=me.now(), dry_run=True
        ).to_json()
    emails = report["emails"]
    pages = max(1, -(-len(emails) // PAGE))
    page_no = min(max(page_no, 1), pages)
    return page(
        request,
        me,
        "reminders/today.html",
        fragment="results",
        tabs=TABS,
        loading=False,
        report=report,
        emails=emails[(page_no - 1) * PAGE : page_no * PAGE],
        page_no=page_no,
        pages=pages,
        on=date.fromisoformat(report["as_of"]),
    )


def calendar(days: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """The forecast's days in weeks from Monday: None for the blanks before the first."""
    if not days:
        return []
    first = date.fromisoformat(days[0]["day"])
    cells: list[dict[str, Any] | None] = [None] * first.weekday()
    for d in days:
        cells.append({**d, "date": date.fromisoformat(d["day"])})
    return cells


@router.get("/reminders/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request, day: str | None = None, me: Caller = Depends(signed_in())
) -> Any:
    """The page at once; the forecast loads into it (``/reminders/forecast/days``)."""
    return page(request, me, "reminders/forecast.html", tabs=TABS, loading=True, day=day or "")


@router.get("/reminders/forecast/days", response_class=HTMLResponse)
def forecast(request: Request, day: str | None = None, me: Caller = Depends(signed_in())) -> Any:
    """The next 14 days, each with the emails going out that day per cycle and the tasks;
    ``day`` lists that day's emails."""
    with me.read() as session:
        t = tenant(session, me)
        start = today(me, t)
        found = admin.forecast(session, t, start=start, days=FORECAST_DAYS, now=me.now())
        chosen = _day(day, start)
        on = chosen.isoformat() if chosen else ""
        listed = [
            {**e, "decided": date.fromisoformat(e["decided_on"])}
            for e in found["emails"]
            if e["day"] == on
        ]
        tasks = [x for x in found["tasks"] if x["day"] == on][:200]
        ids = [e["customer_id"] for e in listed[:200]] + [x["customer_id"] for x in tasks]
        names = customers_of(session, t.id, ids)
    return page(
        request,
        me,
        "reminders/forecast.html",
        fragment="results",
        tabs=TABS,
        loading=False,
        forecast=found,
        cells=calendar(found["days"]),
        start=start,
        chosen=chosen,
        listed=listed[:200],
        more=max(0, len(listed) - 200),
        day_tasks=tasks,
        names=names,
    )


def _day(text: str | None, start: date) -> date | None:
    """The day asked for, when it is one of the forecast's."""
    try:
        chosen = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    if chosen is not None and start <= chosen < start + timedelta(days=FORECAST_DAYS):
        return chosen
    return None
