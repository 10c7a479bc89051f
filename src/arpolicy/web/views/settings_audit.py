"""Settings > Audit log (audit:read): who changed or decided what and when, newest first,
filtered by actor, action, entity and a range of days in the tenant's time zone
(``GET /v1/audit``'s own function), 50 a page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from arpolicy.api.routes.audit import read_audit
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import formats_of
from arpolicy.web.views.settings import settings_page

router = APIRouter(include_in_schema=False)
PAGE = 50
TEXT = ("actor", "action", "entity")


def _day(me: Caller, text: str, errors: dict[str, str], name: str) -> datetime | None:
    """The start of the day ``text`` in the tenant's zone (None when empty or bad)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{text!r} is not a date: pick a day such as 2026-11-23."
        return None
    return datetime.combine(day, time(0), tzinfo=formats_of(me).zone)


@router.get("/settings/audit", response_class=HTMLResponse)
def audit(request: Request, me: Caller = Depends(signed_in("audit:read"))) -> Response:
    params = request.query_params
    values = {name: (params.get(name) or "").strip()[:200] for name in (*TEXT, "since", "until")}
    errors: dict[str, str] = {}
    since = _day(me, values["since"], errors, "since")
    last = _day(me, values["until"], errors, "until")
    until = last + timedelta(days=1) if last is not None else None
    if since is not None and until is not None and since >= until:
        errors["until"] = "The last day is before the first day: swap them."
    events, next_cursor = [], None
    if not errors:
        listed = read_audit(
            api=me,
            entity=values["entity"] or None,
            entity_id=None,
            action=values["action"] or None,
            actor=values["actor"] or None,
            since=since,
            until=until,
            cursor=params.get("cursor") or None,
            limit=PAGE,
            sort="-id",
        )
        events, next_cursor = listed.items, listed.next_cursor
    return settings_page(
        request,
        me,
        "audit.html",
        status=422 if errors else 200,
        fragment="events",
        events=events,
        next_cursor=next_cursor,
        values=values,
        errors=errors,
    )
