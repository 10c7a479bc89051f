"""PostgreSQL row-level security: the tenant of a transaction, and the lookups that come
before it is known.

Every tenant table admits only the rows of the tenant named by ``app.tenant_id`` (migration
c3e5a7b9d1f3). :func:`scope_tenant` sets it for the current transaction; with none set, a
query sees nothing. The few questions asked before the tenant is known (whose API key is
this, which tenant has this slug, which tenants have due outbox messages, which tenants
exist) go through SECURITY DEFINER functions that return tenant ids only; the caller then
scopes the transaction and reads the rows under row-level security.

On SQLite there is no row-level security: the same helpers answer with plain queries and
:func:`scope_tenant` does nothing, so callers are written once for both databases.

Unlike the rest of ``kit`` this module knows a few tables: it is the Python half of that
migration (and :func:`grant_service_role` the operator's half). See docs/security.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from arpolicy.exceptions import ConfigurationError
from arpolicy.models import ApiKey, OutboxMessage, OutboxStatus, Tenant

DEFINER_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("arpolicy_tenant_of_key", "text"),
    ("arpolicy_tenant_of_slug", "text"),
    ("arpolicy_tenant_directory", ""),
    ("arpolicy_tenants_with_due_outbox", "timestamptz, text, integer"),
)
"""(name, argument types) of the SECURITY DEFINER lookups the service role may execute."""


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def scope_tenant(session: Session, tenant_id: int) -> None:
    """Tell PostgreSQL's row-level security which tenant this transaction belongs to (until
    it ends, or until scoped again)."""
    if on_postgres(session):
        session.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


def tenant_of_key(session: Session, prefix: str) -> int | None:
    """The tenant id of the API key with ``prefix``, or None."""
    if on_postgres(session):
        found = session.scalar(select(func.arpolicy_tenant_of_key(prefix)))
    else:
        found = session.scalar(select(ApiKey.tenant_id).where(ApiKey.prefix == prefix))
    return None if found is None else int(found)


def tenant_of_slug(session: Session, slug: str) -> int | None:
    """The id of the tenant with ``slug``, or None."""
    if on_postgres(session):
        found = session.scalar(select(func.arpolicy_tenant_of_slug(slug)))
    else:
        found = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    return None if found is None else int(found)


def tenant_directory(session: Session, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, slug) of every tenant, by slug: for operator commands and per-tenant jobs."""
    if on_postgres(session):
        query = text(
            "SELECT tenant_id, tenant_slug FROM arpolicy_tenant_directory() "
            "ORDER BY tenant_slug LIMIT :n"
        )
        rows = session.execute(query, {"n": limit}).all()  # LIMIT NULL: no limit
    else:
        rows = session.execute(
            select(Tenant.id, Tenant.slug).order_by(Tenant.slug).limit(limit)
        ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def tenants_with_due_outbox(
    session: Session, now: datetime, *, kind: str | None = None, limit: int = 100
) -> list[int]:
    """Ids of tenants with pending outbox messages (of ``kind``, or any) due by ``now``,
    the one whose oldest due message has waited longest first."""
    if on_postgres(session):
        query = text("SELECT * FROM arpolicy_tenants_with_due_outbox(:now, :kind, :limit)")
        rows = session.scalars(query, {"now": now, "kind": kind, "limit": limit})
        return [int(t) for t in rows]
    due = (
        select(OutboxMessage.tenant_id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .group_by(OutboxMessage.tenant_id)
        .order_by(func.min(OutboxMessage.next_attempt_at), OutboxMessage.tenant_id)
        .limit(limit)
    )
    if kind is not None:
        due = due.where(OutboxMessage.kind == kind)
    return [int(t) for t in session.scalars(due)]


ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY_TABLES = frozenset({"audit_events"})
"""Tables the service role may read and insert into, never update or delete from."""
READ_ONLY_TABLES = frozenset({"alembic_version"})
"""Tables the service role may only read (the health check reads the schema version)."""


@dataclass
class Grants:
    """What :func:`grant_service_role` did."""

    role: str
    created: bool
    read_write: list[str] = field(default_factory=list)
    append_only: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)


def grant_service_role(engine: Engine, role: str, *, login: bool = True) -> Grants:
    """Create ``role`` if it is missing and give it exactly what the service needs, as the
    connected role (the owner of the tables, which ran the migrations): SELECT, INSERT,
    UPDATE, DELETE on every table of the schema except the audit log (SELECT, INSERT) and
    alembic_version (SELECT); USAGE on the sequences; EXECUTE on the definer lookups.
    Idempotent: earlier grants on the schema's tables are revoked and given again. The role
    must own nothing and must not bypass row-level security."""
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            "roles and row-level security exist only on PostgreSQL",
            fix="point ARPOLICY_DATABASE_URL at PostgreSQL (on SQLite the service is the owner)",
        )
    if not ROLE_NAME.match(role):
        raise ConfigurationError(
            f"{role!r} is not a plain role name",
            fix="use lower-case letters, digits and underscores, e.g. arpolicy_app",
        )
    with engine.begin() as conn:
        created = _ensure_role(conn, role, login)
        _check_role(conn, role)
        return _grant(conn, role, created)


def _ensure_role(conn: Connection, role: str, login: bool) -> bool:
    me = conn.execute(text("SELECT current_user")).scalar_one()
    if role == me:
        raise ConfigurationError(
            f"{role} is the role connected now, which owns the tables",
            fix="name another role: the service must connect as a role that owns nothing",
        )
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        return False
    try:
        with conn.begin_nested():
            conn.execute(text(f"CREATE ROLE {role} {'LOGIN' if login else 'NOLOGIN'}"))
    except DBAPIError as exc:
        raise ConfigurationError(
            f"cannot create role {role}: {str(exc.orig).splitlines()[0]}",
            fix=f"create it as a superuser (CREATE ROLE {role} LOGIN PASSWORD '...'), "
            "then run this again",
        ) from None
    return True


def _check_role(conn: Connection, role: str) -> None:
    flags = conn.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).one()
    if flags.rolsuper or flags.rolbypassrls:
        raise ConfigurationError(
            f"{role} is a superuser or has BYPASSRLS: row-level security would not apply",
            fix=f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS, or name another role",
        )
    owned = conn.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = :r "
            "ORDER BY 1"
        ),
        {"r": role},
    ).all()
    if owned:
        raise ConfigurationError(
            f"{role} owns {', '.join(owned[:5])}: the owner is not bound by grants",
            fix="give the service a role that owns nothing (and the tables to the migrating role)",
        )


def _grant(conn: Connection, role: str, created: bool) -> Grants:
    done = Grants(role=role, created=created)
    schema = conn.dialect.identifier_preparer.quote(
        conn.execute(text("SELECT current_schema()")).scalar_one()
    )
    database = conn.dialect.identifier_preparer.quote(
        conn.execute(text("SELECT current_database()")).scalar_one()
    )
    # Usually already held through PUBLIC; granted only when not (which needs the owner).
    if not conn.execute(
        text("SELECT has_database_privilege(:r, current_database(), 'CONNECT')"), {"r": role}
    ).scalar_one():
        conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {role}"))
    if not conn.execute(
        text("SELECT has_schema_privilege(:r, current_schema(), 'USAGE')"), {"r": role}
    ).scalar_one():
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}"))
    conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}"))
    tables = conn.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
    ).all()
    for table in tables:
        quoted = conn.dialect.identifier_preparer.quote(table)
        if table in APPEND_ONLY_TABLES:
            privileges, bucket = "SELECT, INSERT", done.append_only
        elif table in READ_ONLY_TABLES:
            privileges, bucket = "SELECT", done.read_only
        else:
            privileges, bucket = "SELECT, INSERT, UPDATE, DELETE", done.read_write
        conn.execute(text(f"GRANT {privileges} ON {schema}.{quoted} TO {role}"))
        bucket.append(table)
    conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"))
    for name, args in DEFINER_FUNCTIONS:
        conn.execute(text(f"GRANT EXECUTE ON FUNCTION {schema}.{name}({args}) TO {role}"))
        done.functions.append(name)
    return done
