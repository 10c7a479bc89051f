"""Tenants: creating them, finding them, validating their settings."""

from __future__ import annotations

import re
from collections.abc import Sequence

from babel import Locale, UnknownLocaleError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.kit.clock import zone
from arpolicy.kit.money import check_currency
from arpolicy.kit.rls import on_postgres, scope_tenant, tenant_directory, tenant_of_slug
from arpolicy.models import DEFAULT_AGEING_BOUNDS, Tenant

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
