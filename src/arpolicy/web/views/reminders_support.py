"""What the reminders screens share (docs/web/reminders.md): the tenant and its day, the
problems of a cycle or of the settings mapped to the form field they belong beside, the
tabs of the screen."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.ledger import tenant_of
from arpolicy.exceptions import ArpolicyError
from arpolicy.kit.clock import local_today
from arpolicy.models import Customer, Tenant
from arpolicy.web.context import Caller

TABS = (
    ("/reminders", "Cycles"),
    ("/reminders/today", "Today's dry run"),
    ("/reminders/forecast", "Forecast"),
    ("/reminders/emails", "Emails"),
    ("/reminders/replies", "Replies and bounces"),
    ("/reminders/tasks", "Tasks"),
)
PAGE = 50

CYCLE_FIELDS = {
    "name": "form",
    "status": "status",
    "priority": "priority",
    "description": "description",
    "customer": "customer",
    "invoice": "invoice",
    "payment": "payment",
    "send_window": "send_window",
    "merge": "merge",
    "reminders": "form",
}
"""The first word of a problem's ``where`` -> the field of the cycle form it goes beside."""


def tenant(session: Session, me: Caller) -> Tenant:
    return tenant_of(session, me)


def today(me: Caller, t: Tenant) -> date:
    return local_today(me.clock, t.timezone)


def message(what: str, fix: str | None, where: str | None = None) -> str:
    text = f"{where}: {what}" if where else what
    return f"{text}. Fix: {fix}" if fix else text


def problems(exc: ArpolicyError) -> list[dict[str, str]]:
    """Every problem of the error, each ``{"where", "what", "fix"}``."""
    found = getattr(exc, "errors", None)
    if found:
        return [dict(p) for p in found]
    return [{"where": exc.where or "", "what": exc.message, "fix": exc.fix or ""}]


def by_field(
    exc: ArpolicyError, fields: dict[str, str], default: str, prefix: str = ""
) -> dict[str, str]:
    """The error's problems keyed by the form field they belong beside (several in one
    field are joined); a problem of no known field goes beside ``default``."""
    out: dict[str, list[str]] = {}
    for p in problems(exc):
        where = p.get("where", "")
        if prefix and where.startswith(prefix):
            where = where[len(prefix) :]
        head = re.split(r"[ .\[]", where, maxsplit=1)[0] if where else ""
        name = fields.get(head, default)
        shown = where if name == default or where != head else None
        out.setdefault(name, []).append(message(p["what"], p.get("fix"), shown))
    return {k: " · ".join(v) for k, v in out.items()}


def customers_of(session: Session, tenant_id: int, ids: Any) -> dict[int, tuple[str, str]]:
    """(external id, name) of each customer in ``ids``: one query for a page of rows."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    c = Customer
    stmt = select(c.id, c.external_id, c.name).where(c.tenant_id == tenant_id, c.id.in_(wanted))
    return {i: (e, n) for i, e, n in session.execute(stmt)}
