"""Tenants: creating them, finding them, validating and changing their settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from babel import Locale, UnknownLocaleError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from arpolicy.audit.service import Actor, changed, record, snapshot
from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.kit.bank import BankDetails
from arpolicy.kit.clock import zone
from arpolicy.kit.money import check_currency
from arpolicy.models import DEFAULT_AGEING_BOUNDS, Tenant
from arpolicy.tenancy.rls import on_postgres, scope_tenant, tenant_directory, tenant_of_slug

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def check_locale(value: str) -> str:
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValidationError(
            f"{value!r} is not a known locale", fix="use a locale such as en_US, de_DE or fr_FR"
        ) from None
    return value


def check_ageing_bounds(bounds: Sequence[int]) -> list[int]:
    values = list(bounds)
    if not values or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in values):
        raise ValidationError(
            f"ageing bounds {values!r} must be positive whole numbers of days",
            fix="give increasing upper bounds, e.g. 30,60,90,120",
        )
    if values != sorted(set(values)):
        raise ValidationError(
            f"ageing bounds {values!r} must strictly increase", fix="e.g. 30,60,90,120"
        )
    return values


def create_tenant(
    session: Session,
    slug: str,
    *,
    name: str | None = None,
    base_currency: str = "USD",
    timezone: str = "UTC",
    locale: str = "en_US",
    ageing_bounds: Sequence[int] = DEFAULT_AGEING_BOUNDS,
) -> Tenant:
    if not SLUG.match(slug):
        raise ValidationError(
            f"{slug!r} is not a valid tenant slug",
            fix="use lower-case letters, digits and dashes, starting with a letter or digit",
        )
    if tenant_of_slug(session, slug) is not None:
        raise ConflictError(f"tenant {slug!r} already exists", fix="pick another slug")
    zone(timezone)
    settings = {
        "base_currency": check_currency(base_currency),
        "locale": check_locale(locale),
        "ageing_bounds": check_ageing_bounds(ageing_bounds),
    }
    tenant = Tenant(
        id=_new_tenant_id(session), slug=slug, name=name or slug, timezone=timezone, **settings
    )
    session.add(tenant)
    session.flush()
    return tenant


def _new_tenant_id(session: Session) -> int | None:
    """On PostgreSQL, the new tenant's id, drawn before the insert and made the
    transaction's tenant: row-level security admits the new row, and the rest of the
    transaction can fill the tenant. (None on SQLite: the insert assigns it.)"""
    if not on_postgres(session):
        return None
    new_id = int(session.scalar(text("SELECT nextval(pg_get_serial_sequence('tenants', 'id'))")))
    scope_tenant(session, new_id)
    return new_id


def get_tenant(session: Session, slug: str) -> Tenant:
    """The tenant with ``slug``; on PostgreSQL the transaction is scoped to it, so what
    follows reads and writes its rows under row-level security."""
    tenant_id = tenant_of_slug(session, slug)
    tenant = None
    if tenant_id is not None:
        scope_tenant(session, tenant_id)
        tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        known = [s for _, s in tenant_directory(session, limit=10)]
        raise NotFoundError(
            f"no tenant {slug!r}",
            fix=(
                f"known tenants: {', '.join(known)}"
                if known
                else "create one with `arpolicy tenants create SLUG` or `arpolicy demo`"
            ),
        )
    return tenant


# ----------------------------------------------------------------------------- settings
CUSTOMER_NUMBER = "{customer_number}"
"""In a payment link: the customer's number (its external id), URL-encoded."""
PAYMENT_LINK_FIX = (
    "give the https address of your payment page, e.g. https://pay.example.com/"
    "{customer_number} or https://pay.example.com/?customer={customer_number} "
    "({customer_number} stands for the customer's number), or a plain https URL"
)
MAX_LINK = 500


def check_payment_link(value: Any, where: str = "payment_link_url") -> str:
    """The payment page's URL: https, a host, no user or password, no spaces or quotes;
    ``{customer_number}`` only in the path, query or fragment. ValidationError otherwise."""
    url = str(value).strip()

    def bad(what: str) -> ValidationError:
        return ValidationError(
            f"{url!r} is not a usable payment link: {what}", where=where, fix=PAYMENT_LINK_FIX
        )

    if not url or len(url) > MAX_LINK:
        raise bad(f"it must have 1 to {MAX_LINK} characters")
    if re.search(r"[\s\x00-\x1f\x7f\"'<>\\`]", url):
        raise bad("it contains a space, a control character, a quote, <, >, \\ or `")
    unknown = re.findall(r"\{[^{}]*\}?", url.replace(CUSTOMER_NUMBER, ""))
    if unknown or "}" in url.replace(CUSTOMER_NUMBER, ""):
        raise bad(
            f"{(unknown or ['}'])[0]} is not a placeholder (the only one is {CUSTOMER_NUMBER})"
        )
    try:
        parts = urlsplit(url.replace(CUSTOMER_NUMBER, "C1"))
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError as exc:
        raise bad(f"it cannot be read ({exc})") from None
    if parts.scheme.lower() != "https":
        raise bad("it must start with https:// (customers pay on a secure page)")
    if not parts.hostname:
        raise bad("the host is missing")
    if parts.username is not None or parts.password is not None:
        raise bad("it must not carry a user or password")
    if CUSTOMER_NUMBER in urlsplit(url).netloc:
        raise bad(f"{CUSTOMER_NUMBER} may stand in the path, query or fragment, not the host")
    return url


def payment_link(template: str | None, customer_number: str) -> str | None:
    """The tenant's payment link for one customer (None when the tenant has none)."""
    if not template:
        return None
    return template.replace(CUSTOMER_NUMBER, quote(customer_number, safe=""))


def check_name(value: Any, where: str = "name") -> str:
    name = " ".join(str(value).split())
    if not name or len(name) > 200:
        raise ValidationError(
            "the tenant's name must have 1 to 200 characters",
            where=where,
            fix="give the name customers know you by (it signs the reminders)",
        )
    return name


def check_timezone(value: Any) -> str:
    zone(value)
    return str(value)


def check_bank_details(value: Any) -> dict[str, Any]:
    return BankDetails.check(value, "bank_details").to_json()


SETTINGS: dict[str, Callable[[Any], Any]] = {
    "name": check_name,
    "timezone": check_timezone,
    "locale": check_locale,
    "ageing_bounds": check_ageing_bounds,
    "payment_link_url": check_payment_link,
    "bank_details": check_bank_details,
}
"""The settings a tenant may change, each with its check (the value as stored)."""
CLEARABLE = ("payment_link_url", "bank_details")
"""Settings that may be removed (set to None)."""


def check_settings(patch: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """The ``patch`` validated and in its stored form; ValidationError at ``where`` + the
    setting's name (e.g. ``body.bank_details.iban``) for the first problem."""
    out: dict[str, Any] = {}
    for name, value in patch.items():
        check = SETTINGS.get(name)
        if check is None:
            raise ValidationError(
                f"{name!r} is not a tenant setting",
                where=f"{where}{name}",
                fix=f"the settings are {', '.join(SETTINGS)}",
            )
        if value is None:
            if name not in CLEARABLE:
                raise ValidationError(
                    f"{name} cannot be removed", where=f"{where}{name}", fix="give a value"
                )
            out[name] = None
            continue
        try:
            out[name] = check(value)
        except ValidationError as exc:
            inner = exc.where or name
            exc.where = f"{where}{inner if inner.startswith(name) else name}"
            raise
    return out


def update_tenant(
    session: Session,
    tenant: Tenant,
    patch: Mapping[str, Any],
    actor: Actor,
    at: datetime,
    where: str = "",
) -> dict[str, Any]:
    """Change the tenant's settings (validated first: nothing is changed on an error) and
    record ``tenant.updated`` with what changed; returns the changed values (empty: none)."""
    values = check_settings(patch, where)
    before = snapshot(tenant)
    for name, value in values.items():
        setattr(tenant, name, value)
    session.flush()
    old, new = changed(before, snapshot(tenant))
    if new:
        record(session, actor, "tenant.updated", "tenant", tenant.id, before=old, after=new, at=at)
    return new
