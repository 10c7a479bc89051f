"""``arpolicy demo``: load a realistic, deterministic demo tenant."""

from __future__ import annotations

import time
from datetime import date

import typer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from arpolicy.auth.passwords import check_new_password
from arpolicy.cli import common, terminal
from arpolicy.cli.common import JsonOption, handle_errors
from arpolicy.exceptions import ConflictError, ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.kit.db import transaction
from arpolicy.ledger.demo import DEMO_SLUG, DEMO_TIMEZONE, generate, write
from arpolicy.models import User, UserRole
from arpolicy.tenancy.rls import scope_tenant, tenant_directory, tenant_of_slug

DEMO_PASSWORD = "demo-password"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@handle_errors
def demo(
    customers: int = typer.Option(200, "--customers", min=0, help="How many customers."),
    seed: int = typer.Option(1, "--seed", help="Same seed, customers and date: same data."),
    tenant: str = typer.Option(DEMO_SLUG, "--tenant", "-t", help="Slug of the new tenant."),
    today: str = typer.Option(
        None,
        "--today",
        metavar="YYYY-MM-DD",
        help=f"The demo's 'today' (default: today in {DEMO_TIMEZONE}, the tenant's zone).",
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing if the database already has any tenant."
    ),
    password: str = typer.Option(
        DEMO_PASSWORD,
        "--password",
        help="The web app password of every demo user (a demo only: choose your own "
        "for anything else).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a demo tenant: customers in several countries, languages and currencies with
    invoices across every ageing bucket, payments, disputes, promises to pay, failed
    payment attempts, expiring cards and subscriptions in every state."""
    eng = common.engine()
    on = _today(today)
    with transaction(eng, write=False) as session:
        if if_empty and _has_tenant(session):
            terminal.say("the database already has a tenant: no demo loaded")
            _hint(session, tenant, None)
            return
        _check_free(session, tenant)
    check_new_password(password, email="", field="--password")
    started = time.perf_counter()
    data = generate(customers, seed, on)
    counts = data.counts()
    with (
        terminal.progress("writing the demo", total=sum(counts.values())) as advance,
        transaction(eng, write=True) as session,
    ):
        if if_empty and _has_tenant(session):
            terminal.say("the database already has a tenant: no demo loaded")
            return
        _check_free(session, tenant)
        write(session, tenant, data, progress=advance)
        cycles = install_example(session, tenant, on)
        set_passwords(session, tenant, password)
    seconds = time.perf_counter() - started
    summary = {"tenant": tenant, "customers": customers, "seed": seed, "today": on.isoformat()}
    if as_json:
        terminal.print_json({**summary, "rows": counts})
        return
    terminal.table(
        None,
        [("table", "left"), ("rows", "right")],
        list(counts.items()),
        footer=["total", sum(counts.values())],
    )
    terminal.say(
        f"loaded demo tenant {tenant}: {customers} customers as of {on.isoformat()} "
        f"(seed {seed}) in {seconds:.1f}s; engagement cycles {', '.join(cycles)} "
        "(arpolicy engage run --dry-run)"
    )
    with transaction(eng, write=False) as session:
        _hint(session, tenant, password)


def set_passwords(session: Session, slug: str, password: str) -> None:
    """Give every demo user the same web app password (one argon2 hash: a demo only)."""
    from arpolicy.auth.passwords import hash_password
    from arpolicy.ledger.tenants import get_tenant

    tenant = get_tenant(session, slug)
    session.execute(
        update(User)
        .where(User.tenant_id == tenant.id)
        .values(password_hash=hash_password(password))
    )


def _hint(session: Session, slug: str, password: str | None) -> None:
    """How to sign in to the web app as the demo's users of a few roles."""
    tenant_id = tenant_of_slug(session, slug)
    if tenant_id is None:
        return
    scope_tenant(session, tenant_id)
    roles = [UserRole.ADMIN, UserRole.FINANCE_MANAGER, UserRole.COLLECTOR, UserRole.SALES]
    found: dict[UserRole, str] = {}
    for user in session.scalars(
        select(User).where(User.tenant_id == tenant_id, User.active).order_by(User.id)
    ):
        found.setdefault(user.role, user.email)
    settings = common.settings()
    shown = password or f"the one given to `arpolicy demo` (default {DEMO_PASSWORD})"
    lines = [f"web app: {settings.public_url}/ organisation {slug}, password {shown}, as"]
    lines += [f"  {role.value}: {found[role]}" for role in roles if role in found]
    terminal.say("\n".join(lines))


def install_example(session: Session, slug: str, on: date) -> list[str]:
    """The example engagement cycles and settings (docs/engagement.md) for the demo."""
    from datetime import UTC, datetime, time

    from arpolicy.audit import Actor
    from arpolicy.engagement import admin
    from arpolicy.engagement.config import example_text, load_yaml
    from arpolicy.ledger.tenants import get_tenant

    tenant = get_tenant(session, slug)
    at = datetime.combine(on, time(0), tzinfo=UTC)
    actor = Actor(tenant.id, "system:demo")
    cycles, settings = load_yaml(example_text())
    if settings is not None:
        admin.save_settings(session, tenant, actor, settings.model_dump(mode="json"), at=at)
    for cycle in cycles:
        admin.save_cycle(session, tenant, actor, cycle.model_dump(mode="json"), at=at)
    return [c.name for c in cycles]


def _today(value: str | None) -> date:
    if value is None:
        return local_today(common.clock(), DEMO_TIMEZONE)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a date", where="--today", fix="write the date as YYYY-MM-DD"
        ) from None


def _has_tenant(session: Session) -> bool:
    return bool(tenant_directory(session, limit=1))  # row-level security hides the table


def _check_free(session: Session, slug: str) -> None:
    if tenant_of_slug(session, slug) is not None:
        raise ConflictError(
            f"tenant {slug!r} already exists",
            fix=f"load the demo under another slug (--tenant {slug}-2), add --if-empty to "
            "skip when the database has data, or point ARPOLICY_DATABASE_URL at a new database",
        )
