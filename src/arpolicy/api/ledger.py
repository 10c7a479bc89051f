"""How the ledger resources' routes read one record and write: through the ledger write
service (arpolicy.ledger.writing), which validates, locks, audits, announces and fires the
ledger hooks exactly as for the CLI, imports and jobs.

What stays here is HTTP's part: the body's fields (``exclude_unset``: a PATCH changes only
what it gives), errors located in the body (``body.amount.currency``), and the permission
some fields need (``owners:write`` to set a customer's owners), checked before the write.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, Forbidden
from arpolicy.ledger.writing import LedgerWrites, Resource
from arpolicy.ledger.writing.service import find
from arpolicy.models import Tenant

Gated = dict[str, tuple[str, Any]]
"""Body field -> (permission needed to change it, its default on create)."""


def tenant_of(session: Session, api: Api) -> Tenant:
    """The caller's tenant in ``session``: the row authentication read this request, taken
    into the session as it is (no query), or read when the caller has none."""
    if api.tenant is not None:
        return session.merge(api.tenant, load=False)
    tenant = session.get(Tenant, api.tenant_id)
    assert tenant is not None
    return tenant


def writes(session: Session, api: Api) -> LedgerWrites:
    """The write service for the caller, its errors located in the body."""
    return LedgerWrites(session, tenant_of(session, api), api.actor, clock=api.clock, origin="body")


def get_or_404(session: Session, api: Api, res: Resource, record_id: int) -> Any:
    return find(session, api.tenant_id, res, record_id)


def _gate(api: Api, gated: Gated, data: dict[str, Any], current: dict[str, Any]) -> None:
    for name, (permission, default) in gated.items():
        if name in data and data[name] != current.get(name, default) and not api.can(permission):
            raise Forbidden(
                f"changing {name} needs the {permission} permission",
                where=f"body.{name}",
                fix=f"leave {name} out, or use a key whose role has {permission}",
            )


def create(
    session: Session, api: Api, res: Resource, body: BaseModel, gated: Gated | None = None
) -> Any:
    """Create the record of ``body`` (409 when its key exists)."""
    data = body.model_dump(exclude_unset=True)
    _gate(api, gated or {}, data, {})
    return writes(session, api).create(res.kind, data)


def update(
    session: Session,
    api: Api,
    res: Resource,
    record_id: int,
    body: BaseModel,
    gated: Gated | None = None,
) -> Any:
    """Lay ``body`` over the stored record (404 for another tenant's)."""
    data = body.model_dump(exclude_unset=True)

    def guard(changes: dict[str, Any], current: dict[str, Any]) -> None:
        _gate(api, gated or {}, changes, current)

    return writes(session, api).update(res.kind, record_id, data, guard=guard)
