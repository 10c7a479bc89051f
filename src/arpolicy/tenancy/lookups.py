"""Tenant-scoped lookups every module shares: a record by id or by its id in the billing
system, only ever among the tenant's own rows, or a 404 that says what was missing and how
to find the right one. Another tenant's record is "not found", never "forbidden"."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.exceptions import NotFoundError

T = TypeVar("T")


def get_or_404(
    session: Session,
    model: type[T],
    tenant_id: int,
    record_id: int,
    *,
    what: str,
    fix: str,
    where: str | None = None,
) -> T:
    """The tenant's ``model`` row with this id, or NotFoundError ("no <what> <id>")."""
    column: Any = model
    found = session.scalar(
        select(model).where(column.tenant_id == tenant_id, column.id == record_id)
    )
    if found is None:
        raise NotFoundError(f"no {what} {record_id}", where=where, fix=fix)
    return found


def by_external_id(
    session: Session,
    model: type[T],
    tenant_id: int,
    external_id: str,
    *,
    what: str,
    fix: str,
    where: str | None = None,
    tenant_label: str | None = None,
) -> T:
    """The tenant's ``model`` row with this id in the billing system, or NotFoundError
    (naming the tenant when ``tenant_label`` is given: the CLI serves several)."""
    column: Any = model
    found = session.scalar(
        select(model).where(column.tenant_id == tenant_id, column.external_id == external_id)
    )
    if found is None:
        scope = f" in tenant {tenant_label}" if tenant_label else ""
        raise NotFoundError(f"no {what} {external_id!r}{scope}", where=where, fix=fix)
    return found
