"""What the Settings tests read back from the database (tests/web/test_settings_*.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent
from arpolicy.tenancy.rls import scope_tenant


def rows(engine: Engine, tenant_id: int, model: Any, **where: Any) -> list[Any]:
    """``model``'s rows of the tenant (detached), by id, filtered by equal columns."""
    with transaction(engine, write=False) as db:
        scope_tenant(db, tenant_id)
        stmt = select(model).where(model.tenant_id == tenant_id).order_by(model.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        found = list(db.scalars(stmt))
        db.expunge_all()
    return found


def actions(engine: Engine, tenant_id: int, prefix: str = "") -> list[tuple[str, str]]:
    """``(action, actor)`` of the tenant's audit events whose action starts with ``prefix``."""
    return [
        (e.action, e.actor)
        for e in rows(engine, tenant_id, AuditEvent)
        if e.action.startswith(prefix)
    ]
