"""One cycle: its settings as a form (status and test mode, priority, its customer,
invoice and payment rules in the rule builder (views/reminders_rules.py), the send window,
merging), the whole cycle as YAML (reminders and templates), and each
reminder's templates previewed for a chosen customer in every language they have.

Saving goes through ``engagement.admin.save_cycle``, as ``PUT /v1/engagement/cycles/{name}``
(``policies:manage``): checked against the tenant, versioned, audited; a problem comes
back beside its field with status 422 and nothing is stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from arpolicy.engagement import admin
from arpolicy.engagement.config import WEEKDAYS, parse_cycle
from arpolicy.engagement.preview import find_customer, preview, template_languages
from arpolicy.exceptions import ArpolicyError, ValidationError
from arpolicy.kit.datafile import yaml_data
from arpolicy.web import rulebuilder
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.rulebuilder_form import Form
from arpolicy.web.views import reminders_rules
from arpolicy.web.views.reminders_rules import LABELS, NONE, RULES
from arpolicy.web.views.reminders_support import (
    CYCLE_FIELDS,
    TABS,
    by_field,
    message,
    tenant,
    today,
)

router = APIRouter(include_in_schema=False)


def as_yaml(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)


def form_values(config: dict[str, Any]) -> dict[str, Any]:
    """The form's fields from a stored cycle."""
    window = config.get("send_window") or {}
    return {
        "status": config.get("status", "draft"),
        "priority": config.get("priority", 100),
        "description": config.get("description") or "",
        "window_start": str(window.get("start", "09:00:00"))[:5],
        "window_end": str(window.get("end", "17:00:00"))[:5],
        "window_days": list(window.get("days", WEEKDAYS[:5])),
        "merge": config.get("merge", True),
    }


def _one(form: Form, key: str) -> str:
    values = form.get(key) or ()
    return values[0].strip() if values else ""


def config_from_form(
    stored: dict[str, Any], form: Form, rules: dict[str, str | None]
) -> dict[str, Any]:
    """The stored cycle with the form's fields and the builders' ``rules`` put in (None:
    no rule)."""
    data = {k: v for k, v in stored.items() if k not in (*RULES, "description")}
    data["status"] = _one(form, "status")
    data["priority"] = _one(form, "priority")
    description = _one(form, "description")
    if description:
        data["description"] = description
    for rule in RULES:
        if rules.get(rule):
            data[rule] = rules[rule]
    days = form.get("window_days") or ()
    data["send_window"] = {
        "start": _one(form, "window_start"),
        "end": _one(form, "window_end"),
        "days": [d for d in WEEKDAYS if d in days],
    }
    data["merge"] = _one(form, "merge") == "on"
    return data


def _load(me: Caller, name: str) -> dict[str, Any]:
    with me.read() as session:
        row = admin.get_cycle(session, tenant(session, me), name)
        return {
            "name": row.name,
            "status": row.status.value,
            "version": row.version,
            "config": dict(row.config),
            "updated_by": row.updated_by,
            "updated_at": row.updated_at,
        }


def _reminders(config: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in parse_cycle(config).reminders:
        languages = template_languages(r.template)
        builtin = r.template if isinstance(r.template, str) else None
        out.append({"name": r.name, "languages": languages, "builtin": builtin, "reminder": r})
    return out


def _builders(me: Caller, config: dict[str, Any]) -> dict[str, rulebuilder.Builder]:
    with me.read() as session:
        t = tenant(session, me)
        return reminders_rules.started(session, t, config, preview=me.can("rules:read"))


def _cycle_page(
    request: Request, me: Caller, name: str, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    cycle = _load(me, name)
    ctx.setdefault("values", form_values(cycle["config"]))
    if "builders" not in ctx:
        ctx["builders"] = _builders(me, cycle["config"])
    ctx.setdefault("yaml_text", as_yaml(cycle["config"]))
    return page(
        request,
        me,
        "reminders/cycle.html",
        status=status,
        tabs=TABS,
        cycle=cycle,
        reminders=_reminders(cycle["config"]),
        weekdays=WEEKDAYS,
        rules=RULES,
        rule_labels=LABELS,
        no_rule=NONE,
        can_manage=me.can("policies:manage"),
        errors=ctx.pop("errors", {}),
        **ctx,
    )


def cycle_page(
    request: Request, name: str, saved: str | None = None, me: Caller = Depends(signed_in())
) -> Any:
    flash = f"The cycle is saved (version {saved})." if saved and saved.isdigit() else None
    return _cycle_page(request, me, name, flash=flash)


def _save(me: Caller, data: dict[str, Any]) -> tuple[int, list[str]]:
    """Save as ``PUT /v1/engagement/cycles/{name}`` does: the new version, and the advice
    on rules unknown for many of the records they read."""
    with me.write() as session:
        t = tenant(session, me)
        row = admin.save_cycle(session, t, me.actor, data, at=me.now())
        found = admin.cycle_warnings(session, t, row.config, as_of=today(me, t))
        return row.version, [message(w.message, w.fix, w.where) for w in found]


def _saved(request: Request, me: Caller, name: str, done: tuple[int, list[str]]) -> Response:
    """Back to the cycle; with advice, the page shows it at once (it is not stored)."""
    version, warnings = done
    if not warnings:
        return RedirectResponse(f"/reminders/cycles/{quote(name)}?saved={version}", 303)
    flash = f"The cycle is saved (version {version}), with advice on its rules."
    return _cycle_page(request, me, name, flash=flash, warnings=warnings)


async def save_cycle(
    request: Request, name: str, me: Caller = Depends(signed_in("policies:manage"))
) -> Response:
    form = rulebuilder.form_of(await request.form())
    return await run_in_threadpool(_save_form, request, me, name, form)


def _save_form(request: Request, me: Caller, name: str, form: Form) -> Response:
    """The rules from their builders' fields, then the cycle saved as the API saves it; a
    problem comes back beside its field (422), nothing stored."""
    stored = _load(me, name)["config"]
    with me.read() as session:
        t = tenant(session, me)
        preview = me.can("rules:read")
        got = reminders_rules.read(session, t, form, as_of=today(me, t), preview=preview)
    data = config_from_form(stored, form, got.rules)
    errors = got.errors
    if not errors:
        try:
            return _saved(request, me, name, _save(me, data))
        except ArpolicyError as exc:
            errors = by_field(exc, CYCLE_FIELDS, "form")
    return _cycle_page(
        request,
        me,
        name,
        status=422,
        values=form_values(data),
        builders=got.builders,
        errors=errors,
    )


def yaml_cycle(text: str, name: str | None) -> dict[str, Any]:
    """The cycle in the YAML text (a mapping, named ``name`` when given)."""
    data = yaml_data(text)
    if not isinstance(data, dict):
        raise ValidationError(
            "the text holds no cycle", where="yaml", fix="give the cycle as name:, reminders: ..."
        )
    if name is not None and data.get("name") != name:
        raise ValidationError(
            f"the cycle is named {data.get('name')!r}, this page is {name!r}",
            where="yaml",
            fix=f"keep name: {name} (create a cycle under a new name from New cycle)",
        )
    return data


@router.post("/reminders/cycles/{name:path}/yaml", response_class=HTMLResponse)
async def save_yaml(
    request: Request, name: str, me: Caller = Depends(signed_in("policies:manage"))
) -> Response:
    text = str((await request.form()).get("yaml", ""))
    try:
        done = await run_in_threadpool(lambda: _save(me, yaml_cycle(text, name)))
    except ArpolicyError as exc:
        errors = {"yaml": message(exc.message, exc.fix, exc.where)}
        errors = by_field(exc, {}, "yaml") if getattr(exc, "errors", None) else errors
        return await run_in_threadpool(
            lambda: _cycle_page(request, me, name, status=422, yaml_text=text, errors=errors)
        )
    return await run_in_threadpool(_saved, request, me, name, done)


def _preview(me: Caller, name: str, reminder: str, customer: str) -> dict[str, Any]:
    with me.read() as session:
        t = tenant(session, me)
        row = admin.get_cycle(session, t, name)
        found = find_customer(session, t, customer)
        shown = preview(session, t, row.config, reminder, found, today(me, t))
        return {"customer": found.name, "external_id": found.external_id, "previews": shown}


@router.get("/reminders/cycles/{name:path}/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    name: str,
    reminder: str = "",
    customer: str = "",
    me: Caller = Depends(signed_in()),
) -> Any:
    """The reminder's templates for the customer (htmx: the preview block alone)."""
    errors: dict[str, str] = {}
    result: dict[str, Any] | None = None
    if not customer.strip():
        errors["customer"] = "Give a customer's id (external id), e.g. from Customers."
    else:
        try:
            result = _preview(me, name, reminder, customer)
        except ArpolicyError as exc:
            key = "reminder" if exc.where == "reminder" else "customer"
            errors[key] = message(exc.message, exc.fix)
    ctx = {"chosen": {"reminder": reminder, "customer": customer}, "result": result}
    return _cycle_page(
        request,
        me,
        name,
        status=422 if errors else 200,
        preview_errors=errors,
        fragment="preview",
        **ctx,
    )


# after the routes above: a cycle's name may hold a "/" (config.NAME)
router.get("/reminders/cycles/{name:path}", response_class=HTMLResponse)(cycle_page)
router.post("/reminders/cycles/{name:path}", response_class=HTMLResponse)(save_cycle)
