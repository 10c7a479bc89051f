"""Steps dropped past their meaning (a before-due reminder once the invoice is due, a
due-date reminder after its day): listed in every run's report while they are due, and
recorded once in the audit log (``engagement.step_dropped`` on the document) by the first
real run that drops them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.engagement.decide import Outcome
from arpolicy.models import AuditEvent, EmailMode, Tenant

ACTION = "engagement.step_dropped"
CHUNK = 5_000


def listed(outcomes: Sequence[Outcome], limit: int) -> list[dict[str, Any]]:
    """The dropped steps as the run's report shows them."""
    out: list[dict[str, Any]] = []
    for o in outcomes:
        if not o.dropped or o.cycle is None:
            continue
        names = [r.name for r in o.cycle.cycle.reminders]
        for inv, step, why in o.dropped:
            if len(out) >= limit:
                return out
            out.append({"customer_id": o.customer_id, "cycle": o.cycle.cycle.name,
                        "invoice": inv.number, "reminder": names[step.reminder],
                        "step": step.on.isoformat(), "reason": why,
                        "overtaken": [f"{names[j]} of {on}" for on, j, _k in o.overtaken.get(inv.id, ())]})  # fmt: skip
    return out


def record(
    session: Session, tenant: Tenant, actor: Actor, outcomes: Sequence[Outcome],
    modes: Mapping[int, EmailMode], now: datetime,
) -> int:  # fmt: skip
    """An audit event per dropped step not recorded before; how many were new."""
    items: dict[str, tuple[Outcome, Any, Any, str]] = {}
    for o in outcomes:
        for inv, step, why in o.dropped:
            assert o.cycle is not None
            name = o.cycle.cycle.reminders[step.reminder].name
            key = f"{o.cycle.id}:{modes[o.cycle.id].value}:{name}:{inv.id}:{step.on.isoformat()}"
            items[key] = (o, inv, step, why)
    if not items:
        return 0
    ids = sorted({str(inv.id) for _o, inv, _s, _w in items.values()})
    seen: set[str] = set()
    a = AuditEvent
    for k in range(0, len(ids), CHUNK):
        rows = session.execute(select(a.after).where(
            a.tenant_id == tenant.id, a.entity == "document", a.action == ACTION,
            a.entity_id.in_(ids[k : k + CHUNK]))).scalars()  # fmt: skip
        seen |= {str(after.get("key")) for after in rows if after}
    new = [(key, v) for key, v in items.items() if key not in seen]
    for key, (o, inv, step, why) in new:
        assert o.cycle is not None
        name = o.cycle.cycle.reminders[step.reminder].name
        audit_record(session, actor, ACTION, "document", inv.id, at=now,
                     after={"key": key, "cycle": o.cycle.cycle.name, "reminder": name,
                            "step": step.on.isoformat(), "customer_id": o.customer_id},
                     reason=f"{inv.number}: {name} dropped: {why}")  # fmt: skip
    return len(new)
