"""Reminders, the start of the screen: the cycles by priority and the tenant's sending
settings (caps, quiet days, pauses, sender, the test address), edited in place by those who
may change policies (``policies:manage``, as ``PUT /v1/engagement/settings``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from arpolicy.engagement import admin
from arpolicy.engagement.config import WEEKDAYS
from arpolicy.engagement.repository import cycle_named, stored_cycles
from arpolicy.exceptions import ArpolicyError, ValidationError
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.views.reminders_cycle import yaml_cycle
from arpolicy.web.views.reminders_support import TABS, by_field, message, problems, tenant

router = APIRouter(include_in_schema=False)

SETTINGS_NUMBERS = ("daily_cap", "quiet_days", "reply_pause_days", "manual_pause_days")
SETTINGS_TEXTS = ("from_address", "from_name", "test_address", "default_language")
SETTINGS_FIELDS = {n: n for n in (*SETTINGS_NUMBERS, *SETTINGS_TEXTS)} | {
    "pause_while_auto_collection": "pause_while_auto_collection"
}


def _cycles(me: Caller) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with me.read() as session:
        t = tenant(session, me)
        rows = []
        for s in stored_cycles(session, t):
            window = s.cycle.send_window
            rows.append(
                {
                    "name": s.row.name,
                    "status": s.row.status.value,
                    "priority": s.row.priority,
                    "version": s.row.version,
                    "reminders": [r.name for r in s.cycle.reminders],
                    "window": f"{window.start:%H:%M}–{window.end:%H:%M}",
                    "days": [d for d in WEEKDAYS if d in window.days],
                    "updated_by": s.row.updated_by,
                    "updated_at": s.row.updated_at,
                }
            )
        stored = admin.settings_of(session, t).model_dump(mode="json")
    return rows, {k: "" if v is None else v for k, v in stored.items()}


def _index(
    request: Request,
    me: Caller,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    rows, settings = _cycles(me)
    return page(
        request,
        me,
        "reminders/index.html",
        status=status,
        tabs=TABS,
        cycles=rows,
        settings=values or settings,
        errors=errors or {},
        can_manage=me.can("policies:manage"),
        flash=flash,
    )


@router.get("/reminders", response_class=HTMLResponse)
def reminders(request: Request, saved: str | None = None, me: Caller = Depends(signed_in())) -> Any:
    flash = "The sending settings are saved." if saved == "settings" else None
    return _index(request, me, flash=flash)


def settings_data(form: Any) -> dict[str, Any]:
    """The settings as the form posts them (blank optional texts left out)."""
    data: dict[str, Any] = {}
    for name in SETTINGS_NUMBERS:
        data[name] = str(form.get(name, "")).strip()
    for name in SETTINGS_TEXTS:
        value = str(form.get(name, "")).strip()
        if value:
            data[name] = value
    data["pause_while_auto_collection"] = form.get("pause_while_auto_collection") == "on"
    return data


@router.post("/reminders/settings", response_class=HTMLResponse)
async def save_settings(
    request: Request, me: Caller = Depends(signed_in("policies:manage"))
) -> Response:
    data = settings_data(await request.form())

    def work() -> None:
        with me.write() as session:
            admin.save_settings(session, tenant(session, me), me.actor, data, at=me.now())

    try:
        await run_in_threadpool(work)
    except ArpolicyError as exc:
        errors = by_field(exc, SETTINGS_FIELDS, "daily_cap", prefix="settings.")
        return await run_in_threadpool(
            lambda: _index(request, me, status=422, values=data, errors=errors)
        )
    return RedirectResponse("/reminders?saved=settings", status_code=303)


NEW_CYCLE = """name: New cycle
status: draft
priority: 100
invoice: not disputed
send_window: {start: "09:00", end: "17:00", days: [mon, tue, wed, thu, fri]}
reminders:
  - name: friendly
    anchor: due_date
    offset_days: -5
    template: friendly
"""


@router.get("/reminders/new", response_class=HTMLResponse)
def new_cycle_form(request: Request, me: Caller = Depends(signed_in("policies:manage"))) -> Any:
    return page(request, me, "reminders/new.html", tabs=TABS, yaml_text=NEW_CYCLE, errors={})


@router.post("/reminders/new", response_class=HTMLResponse)
async def new_cycle(
    request: Request, me: Caller = Depends(signed_in("policies:manage"))
) -> Response:
    """Create a cycle from its YAML (a name no cycle has yet); it starts as written."""
    text = str((await request.form()).get("yaml", ""))

    def work() -> str:
        data = yaml_cycle(text, None)
        with me.write() as session:
            t = tenant(session, me)
            name = str(data.get("name", ""))
            if cycle_named(session, t, name) is not None:
                raise ValidationError(
                    f"a cycle named {name!r} exists",
                    where="name",
                    fix="give the new cycle its own name, or open that cycle to change it",
                )
            row = admin.save_cycle(session, t, me.actor, data, at=me.now())
            return row.name

    try:
        name = await run_in_threadpool(work)
    except ArpolicyError as exc:
        errors = {
            "yaml": " · ".join(message(p["what"], p["fix"], p["where"]) for p in problems(exc))
        }
        return page(
            request, me, "reminders/new.html", status=422, tabs=TABS, yaml_text=text, errors=errors
        )
    return RedirectResponse(f"/reminders/cycles/{quote(name)}?saved=1", status_code=303)
