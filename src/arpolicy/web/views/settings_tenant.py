"""Settings > Organisation (also the page at ``/settings``): the tenant's name, time zone, locale, ageing buckets, payment
link and bank details (``GET/PATCH /v1/tenant``). Everyone signed in reads them; changing
them needs settings:manage. The base currency is fixed at creation and only shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from arpolicy.api.routes.tenant import TenantRead, TenantUpdate, read_tenant, update_tenant_settings
from arpolicy.exceptions import ArpolicyError, ValidationError
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.views.settings import field_errors, form_values, settings_page

router = APIRouter(include_in_schema=False)
TEXT = ("name", "timezone", "locale", "ageing_bounds", "payment_link_url")
BANK = ("account_holder", "iban", "bic", "bank_name")
FIELDS = {f"bank_details.{name}": f"bank_{name}" for name in BANK} | {
    "bank_details": "bank_account_holder"
}


def _values(tenant: TenantRead) -> dict[str, str]:
    bank = tenant.bank_details
    values = {
        "name": tenant.name,
        "timezone": tenant.timezone,
        "locale": tenant.locale,
        "ageing_bounds": ", ".join(str(b) for b in tenant.ageing_bounds),
        "payment_link_url": tenant.payment_link_url or "",
    }
    for name in BANK:
        values[f"bank_{name}"] = (getattr(bank, name) or "") if bank is not None else ""
    return values


def _show(
    request: Request, me: Caller, values: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    tenant = read_tenant(api=me)
    return settings_page(
        request,
        me,
        "tenant.html",
        tenant=tenant,
        values=values or _values(tenant),
        editable=me.can("settings:manage"),
        **context,
    )


@router.get("/settings", response_class=HTMLResponse)
@router.get("/settings/tenant", response_class=HTMLResponse)
def tenant_settings(request: Request, me: Caller = Depends(signed_in("ledger:read"))) -> Response:
    return _show(request, me)


def _patch(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API's TenantUpdate body (ValidationError beside a bad field)."""
    patch: dict[str, Any] = {name: values[name] for name in ("name", "timezone", "locale")}
    bounds = [part.strip() for part in values["ageing_bounds"].split(",") if part.strip()]
    if not all(part.isdigit() for part in bounds):
        raise ValidationError(
            "the ageing buckets are not whole numbers of days",
            where="ageing_bounds",
            fix="write the upper bound of each bucket in days, separated by commas: 30, 60, 90",
        )
    patch["ageing_bounds"] = [int(part) for part in bounds]
    patch["payment_link_url"] = values["payment_link_url"] or None
    bank = {name: values[f"bank_{name}"] or None for name in BANK}
    patch["bank_details"] = bank if any(bank.values()) else None
    return patch


@router.post("/settings/tenant", response_class=HTMLResponse)
async def save_tenant(
    request: Request, me: Caller = Depends(signed_in("settings:manage"))
) -> Response:
    form = await request.form()
    values = form_values(form, *TEXT, *(f"bank_{name}" for name in BANK))
    return await run_in_threadpool(_save, request, me, values)


def _save(request: Request, me: Caller, values: dict[str, str]) -> Response:
    try:
        body = TenantUpdate.model_validate(_patch(values))
        update_tenant_settings(body, api=me)
    except (PydanticError, ArpolicyError) as exc:
        errors, summary = field_errors(exc, FIELDS)
        return _show(request, me, values, status=422, errors=errors, error=summary)
    return _show(request, me, flash="The organisation's settings are saved.")
