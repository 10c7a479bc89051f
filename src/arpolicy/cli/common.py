"""What every command needs: settings, an engine, the tenant, and error handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from arpolicy.cli import terminal
from arpolicy.config import Settings
from arpolicy.exceptions import ArpolicyError, ConfigurationError
from arpolicy.kit.clock import Clock, SystemClock
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import is_current
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import Tenant

F = TypeVar("F", bound=Callable[..., Any])

TenantOption = typer.Option(
    None, "--tenant", "-t", help="Tenant slug (default: $ARPOLICY_TENANT or 'demo')."
)
JsonOption = typer.Option(False, "--json", help="Stable JSON on stdout instead of a table.")


def settings() -> Settings:
    return Settings()


def clock() -> Clock:
    return SystemClock()


def engine(check_schema: bool = True) -> Engine:
    eng = make_engine(settings().database_url)
    if check_schema and not is_current(eng):
        raise ConfigurationError(
            "the database schema is missing or out of date",
            fix="run `arpolicy init` to create or migrate it",
        )
    return eng


@contextmanager
def tenant_session(slug: str | None, *, write: bool = False) -> Iterator[tuple[Session, Tenant]]:
    """One transaction on the tenant ``slug``, scoped to it for PostgreSQL's row-level
    security (by get_tenant), so commands work when connected as the service role."""
    with transaction(engine(), write=write) as session:
        yield session, get_tenant(session, slug or settings().tenant)


def handle_errors(fn: F) -> F:
    """Print domain errors as 'error: ... fix: ...' on stderr and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ArpolicyError as exc:
            terminal.fail(exc)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


AsOfOption = typer.Option(
    None, "--as-of", help="Date the figures are computed for (default: today in the tenant's zone)."
)


def parse_as_of(value: str | None, tenant: Tenant) -> Any:
    """The ``--as-of`` date, or the tenant's local today from the injected clock."""
    from datetime import date

    from arpolicy.exceptions import ValidationError
    from arpolicy.kit.clock import local_today

    if value is None:
        return local_today(clock(), tenant.timezone)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a date", where="--as-of", fix="write dates as YYYY-MM-DD"
        ) from None
