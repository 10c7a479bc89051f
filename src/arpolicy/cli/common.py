"""What every command needs: settings, an engine, the tenant, and error handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import pydantic
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from arpolicy.cli import terminal
from arpolicy.config import Settings
from arpolicy.exceptions import ArpolicyError, ConfigurationError
from arpolicy.kit.clock import FIXED_NOTE, Clock, clock_at
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
    """The settings from the environment; a bad ``ARPOLICY_*`` value is a clear error (exit
    2) naming the variable, not a traceback."""
    try:
        return Settings()
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = "ARPOLICY_" + ".".join(str(p) for p in first.get("loc", ())).upper()
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigurationError(
            f"{message}{more}",
            where=name,
            fix=f"correct {name} in the environment, or unset it for the default (README, Configuration)",
        ) from None


NowOption = typer.Option(
    None,
    "--now",
    help="Fix the clock at this aware ISO instant, e.g. 2026-12-01T09:30:00+01:00 "
    "(rehearsals, support; default $ARPOLICY_NOW, else the real time).",
)
_announced: set[str] = set()


def clock(now: str | None = None) -> Clock:
    """The real clock, or a fixed one (``--now``, else ``$ARPOLICY_NOW``), announced on
    stderr so nobody works on a frozen clock without knowing."""
    where, value = ("--now", now) if now else ("ARPOLICY_NOW", settings().now)
    fixed = clock_at(value, where=where)
    if value and value not in _announced:
        _announced.add(value)
        terminal.note(f"note: {where} {fixed.now().isoformat()}: {FIXED_NOTE}")
    return fixed


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


def parse_as_of(value: str | None, tenant: Tenant, on: Clock | None = None) -> Any:
    """The ``--as-of`` date, or the tenant's local today from the injected clock (``on``,
    default :func:`clock`)."""
    from datetime import date

    from arpolicy.exceptions import ValidationError
    from arpolicy.kit.clock import local_today

    if value is None:
        return local_today(on or clock(), tenant.timezone)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a date", where="--as-of", fix="write dates as YYYY-MM-DD"
        ) from None
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        raise ValidationError(
            f"{value} is outside the dates arpolicy works with",
            where="--as-of",
            fix="give a date from 1900-01-01 to 2999-12-31",
        )
    return day
