"""Pages: one Jinja2 environment over ``web/templates`` (autoescaped), with filters that
write money in the tenant's locale (Babel) and instants in the tenant's time zone.

``page(request, caller, "customers/list.html", ...)`` renders a whole page; an htmx
request for the same view renders only the template's ``content`` block when the template
has a ``fragment`` for it (``fragment="rows"`` renders the block named ``rows``), so a
list re-sorts or pages without a reload and with the same markup.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from arpolicy.kit.money import Money
from arpolicy.web.nav import menu

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


class Formats:
    """Money, numbers and dates as the tenant writes them."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.locale = locale or "en_US"
        self.zone = ZoneInfo(timezone or "UTC")

    def money(self, value: Money | None, missing: str = "—") -> str:
        if value is None:
            return missing
        return format_currency(value.amount, value.currency, locale=self.locale)

    def number(self, value: int | Decimal | None, missing: str = "—") -> str:
        return missing if value is None else format_decimal(value, locale=self.locale)

    def percent(self, value: Decimal | float | None, missing: str = "—") -> str:
        return missing if value is None else format_percent(value, locale=self.locale)

    def day(self, value: date | None, missing: str = "—") -> str:
        return missing if value is None else format_date(value, "medium", locale=self.locale)

    def instant(self, value: datetime | None, missing: str = "—") -> str:
        if value is None:
            return missing
        local = value.astimezone(self.zone)
        return format_datetime(local, "medium", locale=self.locale)

    def iso(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(self.zone).isoformat()


def formats_of(caller: Any) -> Formats:
    tenant = getattr(caller, "tenant", None)
    return Formats(getattr(tenant, "locale", "en_US"), getattr(tenant, "timezone", "UTC"))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(
    request: Request,
    caller: Any,
    template: str,
    *,
    status: int = 200,
    fragment: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` for ``caller`` (None on the signed-out pages). With ``fragment``
    and an htmx request, only that block is rendered."""
    env = environment()
    compiled = env.get_template(template)
    values = {
        "request": request,
        "me": caller,
        "fmt": formats_of(caller),
        "menu": menu(caller) if caller is not None else [],
        "csrf_token": getattr(caller, "csrf_token", "") or context.pop("csrf_token", ""),
        "path": request.url.path,
        **context,
    }
    if fragment is not None and is_htmx(request):
        block = compiled.blocks[fragment]
        html = "".join(block(compiled.new_context(values)))
    else:
        html = compiled.render(values)
    return HTMLResponse(Markup(html), status_code=status, headers=headers)
