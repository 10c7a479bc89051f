"""row level security

PostgreSQL only (nothing to do on SQLite): row-level security enabled and forced on every
tenant table, one policy per table that admits only the rows of the transaction's tenant
(``app.tenant_id``, set by :func:`arpolicy.tenancy.rls.scope_tenant`), and the SECURITY DEFINER
functions for the few lookups that happen before the tenant is known. With no tenant set a
query sees nothing and an insert is refused. See docs/security.md.

The tables are listed here, not read from the models: a migration is frozen. A later
migration that creates a tenant table lists it in its own ``ROW_LEVEL_SECURITY_TABLES``
(tests/security/test_rls_coverage.py fails until it does).

Revision ID: c3e5a7b9d1f3
Revises: b2d4f6a8c0e1
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "c3e5a7b9d1f3"
down_revision: str | None = "b2d4f6a8c0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_LEVEL_SECURITY_TABLES: tuple[str, ...] = (
    "allocations",
    "api_keys",
    "audit_events",
    "contacts",
    "custom_field_definitions",
    "customers",
    "delivery_attempts",
    "disputes",
    "documents",
    "fx_rates",
    "idempotency_records",
    "outbox",
    "payment_attempts",
    "payment_sources",
    "payments",
    "promises_to_pay",
    "sales_orders",
    "subscriptions",
    "users",
    "webhook_endpoints",
)
"""Every table with a ``tenant_id`` at this revision (``tenants`` is keyed by ``id``)."""

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
"""The transaction's tenant, or NULL (which matches no row) when none is set. NULLIF
because a setting once set in a session reads '' after its transaction ends."""

LOOKUP = "app.definer_lookup"
"""Switched on only inside the definer functions below, and honoured only for the role
that owns them (``definer_lookup`` policies): it lets them read across tenants when that
role is not a superuser, since FORCE makes the policies bind the owner too. (Set in the
body, not by a ``SET`` clause: PostgreSQL 15 allows that clause for a custom setting only
to superusers.)"""

LOOKUP_TABLES = ("tenants", "api_keys", "outbox")
"""The tables the definer functions read."""


def _function(name: str, params: str, returns: str, query: str, schema: str) -> str:
    """A SECURITY DEFINER function around ``query``, with a pinned search_path, that turns
    the lookup switch on for the query only (a rolled-back savepoint undoes it too)."""
    if returns.startswith(("SETOF", "TABLE")):
        declare, run, done = "", f"RETURN QUERY {query};", "RETURN;"
    else:
        declare, run, done = f"DECLARE found {returns};", f"found := ({query});", "RETURN found;"
    return f"""
        CREATE FUNCTION {name}({params}) RETURNS {returns}
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, {schema}, pg_temp
        AS $fn$
        {declare}
        BEGIN
            PERFORM set_config('{LOOKUP}', 'on', true);
            {run}
            PERFORM set_config('{LOOKUP}', '', true);
            {done}
        END
        $fn$
    """


def _functions(schema: str) -> dict[str, tuple[str, str]]:
    """name -> (argument types, CREATE statement). Each reads one table and returns only
    tenant ids (and slugs)."""
    return {
        "arpolicy_tenant_of_key": (
            "text",
            _function(
                "arpolicy_tenant_of_key",
                "key_prefix text",
                "integer",
                f"SELECT k.tenant_id FROM {schema}.api_keys k WHERE k.prefix = key_prefix",
                schema,
            ),
        ),
        "arpolicy_tenant_of_slug": (
            "text",
            _function(
                "arpolicy_tenant_of_slug",
                "tenant_slug text",
                "integer",
                f"SELECT t.id FROM {schema}.tenants t WHERE t.slug = tenant_slug",
                schema,
            ),
        ),
        "arpolicy_tenant_directory": (
            "",
            _function(
                "arpolicy_tenant_directory",
                "",
                "TABLE (tenant_id integer, tenant_slug text)",
                f"SELECT t.id, t.slug::text FROM {schema}.tenants t ORDER BY t.slug",
                schema,
            ),
        ),
        "arpolicy_tenants_with_due_outbox": (
            "timestamptz, text, integer",
            _function(
                "arpolicy_tenants_with_due_outbox",
                "due_at timestamptz, message_kind text, max_tenants integer",
                "SETOF integer",
                f"SELECT o.tenant_id FROM {schema}.outbox o "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= due_at "
                "AND (message_kind IS NULL OR o.kind = message_kind) "
                "GROUP BY o.tenant_id ORDER BY min(o.next_attempt_at), o.tenant_id "
                "LIMIT max_tenants",
                schema,
            ),
        ),
    }


def _schema() -> str:
    bind = op.get_bind()
    name = bind.execute(text("SELECT current_schema()")).scalar_one()
    return str(bind.dialect.identifier_preparer.quote(name))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ROW_LEVEL_SECURITY_TABLES:
        _protect(table, "tenant_id")
    _protect("tenants", "id")
    for table in LOOKUP_TABLES:
        op.execute(
            f"CREATE POLICY definer_lookup ON {table} AS PERMISSIVE FOR SELECT "
            f"TO CURRENT_USER USING (current_setting('{LOOKUP}', true) = 'on')"
        )
    for name, (signature, create) in _functions(_schema()).items():
        op.execute(create)
        op.execute(f"REVOKE ALL ON FUNCTION {name}({signature}) FROM PUBLIC")


def _protect(table: str, column: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
        f"USING ({column} = {CURRENT_TENANT}) WITH CHECK ({column} = {CURRENT_TENANT})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (signature, _) in _functions(_schema()).items():
        op.execute(f"DROP FUNCTION IF EXISTS {name}({signature})")
    for table in LOOKUP_TABLES:
        op.execute(f"DROP POLICY IF EXISTS definer_lookup ON {table}")
    for table in (*ROW_LEVEL_SECURITY_TABLES, "tenants"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
