"""Helpers shared by repositories: every query is scoped by tenant."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import NotFoundError

T = TypeVar("T")


def scoped(model: type[T], tenant_id: int) -> Select[Any]:
    """``SELECT model WHERE tenant_id = :tenant_id``: the start of every tenant query."""
    return select(model).where(model.tenant_id == tenant_id)  # type: ignore[attr-defined]


def get_or_404(session: Session, model: type[T], tenant_id: int, **key: Any) -> T:
    stmt = scoped(model, tenant_id).filter_by(**key)
    obj: T | None = session.scalars(stmt).one_or_none()
    if obj is None:
        what = ", ".join(f"{k}={v!r}" for k, v in key.items())
        raise NotFoundError(
            f"no {model.__name__.lower()} with {what}", fix="check the id and the tenant"
        )
    return obj
