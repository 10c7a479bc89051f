"""``arpolicy init``, ``serve`` and ``tenants``."""

from __future__ import annotations

import typer
from sqlalchemy import select

from arpolicy.cli import terminal
from arpolicy.cli.common import JsonOption, engine, handle_errors, settings
from arpolicy.cli.tenant_settings import describe, tenants_set
from arpolicy.kit.db import transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import Tenant
from arpolicy.tenancy.rls import scope_tenant, tenant_directory

tenants = typer.Typer(help="Create, list and set up tenants (merchants).", no_args_is_help=True)
tenants.command("set")(tenants_set)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.add_typer(tenants, name="tenants")


@handle_errors
def init(
    app_role: str = typer.Option(
        None,
        "--app-role",
        metavar="ROLE",
        help="PostgreSQL: also create ROLE if missing and grant it what the service needs "
        "(as `arpolicy db grant ROLE`); run init as the owner, the service as ROLE.",
    ),
) -> None:
    """Create the database or migrate it to the current schema (idempotent)."""
    eng = engine(check_schema=False)
    upgrade(eng)
    terminal.say(f"database ready: {eng.url.render_as_string(hide_password=True)}")
    if app_role:
        from arpolicy.cli import db
        from arpolicy.tenancy.rls import grant_service_role

        db.report(grant_service_role(eng, app_role))


@handle_errors
def serve(
    host: str = typer.Option(None, help="Interface to bind (default $ARPOLICY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default $ARPOLICY_PORT or 8000)."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Server processes sharing the port (one per core serves most)."
    ),
) -> None:
    """Start the HTTP service: the web app at /, the API under /v1 (docs at /docs), health
    at /health."""
    import uvicorn

    from arpolicy.app import create_app

    s = settings()
    bind, at, level = host or s.host, port or s.port, s.log_level
    shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    terminal.say(f"web app: http://{shown}:{at}/  API: http://{shown}:{at}/v1 (docs at /docs)")
    if workers == 1:
        uvicorn.run(create_app(s), host=bind, port=at, log_level=level)
        return
    # Each worker process builds its own app (and database engine) from the same settings.
    uvicorn.run(
        "arpolicy.app:create_app",
        factory=True,
        workers=workers,
        host=bind,
        port=at,
        log_level=level,
    )


@tenants.command("create")
@handle_errors
def tenants_create(
    slug: str,
    name: str = typer.Option(None, help="Display name (default: the slug)."),
    base_currency: str = typer.Option("USD", help="ISO 4217 code all figures are converted to."),
    timezone: str = typer.Option("UTC", help="IANA zone that decides the tenant's 'today'."),
    locale: str = typer.Option("en_US", help="Default locale for formatting."),
    ageing: str = typer.Option("30,60,90,120", help="Ageing bucket upper bounds in days."),
) -> None:
    """Create a tenant."""
    try:
        bounds = [int(b) for b in ageing.split(",")]
    except ValueError:
        bounds = [-1]
    with transaction(engine()) as session:
        t = create_tenant(
            session,
            slug,
            name=name,
            base_currency=base_currency,
            timezone=timezone,
            locale=locale,
            ageing_bounds=bounds,
        )
        terminal.say(f"created tenant {t.slug} (id {t.id}, base currency {t.base_currency})")


@tenants.command("list")
@handle_errors
def tenants_list(as_json: bool = JsonOption) -> None:
    """List tenants."""
    with transaction(engine(), write=False) as session:
        rows = []
        for tenant_id, _ in tenant_directory(session):  # row-level security: one at a time
            scope_tenant(session, tenant_id)
            rows.append(session.scalars(select(Tenant).where(Tenant.id == tenant_id)).one())
        data = [describe(t) for t in rows]
    if as_json:
        terminal.print_json(data)
        return
    terminal.table(
        "Tenants",
        [
            ("slug", "left"),
            ("name", "left"),
            ("base", "left"),
            ("timezone", "left"),
            ("ageing", "left"),
        ],
        [
            [
                d["slug"],
                d["name"],
                d["base_currency"],
                d["timezone"],
                ",".join(map(str, d["ageing_bounds"])),
            ]
            for d in data
        ],
    )
