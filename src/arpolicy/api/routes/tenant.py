"""The caller's tenant and its settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select

from arpolicy.api.context import Api, require
from arpolicy.api.schemas import Input, Output
from arpolicy.api.types import Locale, Text64, Text200
from arpolicy.audit import snapshot
from arpolicy.audit.service import changed
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import zone
from arpolicy.ledger.tenants import check_ageing_bounds, check_locale
from arpolicy.models import Tenant

router = APIRouter(prefix="/tenant", tags=["tenant"])


class TenantRead(Output):
    id: int
    slug: str
    name: str
    base_currency: str
    timezone: str
    locale: str
    ageing_bounds: list[int]
    created_at: datetime | None


class TenantUpdate(Input):
    """The base currency is fixed at creation: every stored base amount depends on it."""

    name: Text200 | None = None
    timezone: Text64 | None = Field(default=None, examples=["Europe/Berlin"])
    locale: Locale | None = Field(default=None, examples=["de_DE"])
    ageing_bounds: list[int] | None = Field(default=None, max_length=20, examples=[[30, 60, 90]])


@router.get("", response_model=TenantRead)
def read_tenant(api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return TenantRead.model_validate(
            session.scalar(select(Tenant).where(Tenant.id == api.tenant_id))
        )


@router.patch("", response_model=TenantRead)
def update_tenant(body: TenantUpdate, api: Api = Depends(require("settings:manage"))) -> Any:
    patch = body.model_dump(exclude_unset=True)
    for name, value in patch.items():
        if value is None:
            raise ValidationError(
                f"{name} cannot be null", where=f"body.{name}", fix="give a value"
            )
    checks: dict[str, Callable[[Any], object]] = {
        "timezone": zone,
        "locale": check_locale,
        "ageing_bounds": check_ageing_bounds,
    }
    for name, check in checks.items():
        if name in patch:
            try:
                check(patch[name])
            except ValidationError as exc:
                exc.where = f"body.{name}"
                raise
    with api.write() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.id == api.tenant_id)).one()
        before = snapshot(tenant)
        for name, value in patch.items():
            setattr(tenant, name, value)
        session.flush()
        old, new = changed(before, snapshot(tenant))
        if new:
            api.audit(session, "tenant.updated", "tenant", tenant.id, before=old, after=new)
        return TenantRead.model_validate(tenant)
