"""Every tenant table is under row-level security. Migrations are frozen, so each one that
creates tenant tables lists them in its ``ROW_LEVEL_SECURITY_TABLES``; this fails when a
model table with ``tenant_id`` is in no such list, or when the database disagrees."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import alembic_config, upgrade
from arpolicy.models import Base
from tests.conftest import new_pg_database

TENANT_TABLES = {t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c}


def _listed() -> set[str]:
    listed: set[str] = set()
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        listed |= set(getattr(script.module, "ROW_LEVEL_SECURITY_TABLES", ()))
    return listed


def test_every_tenant_table_is_listed_by_a_migration():
    listed = _listed()
    assert TENANT_TABLES - listed == set(), (
        "tenant tables without row-level security: add them to ROW_LEVEL_SECURITY_TABLES "
        "of the migration that creates them (see 20261123_c3e5a7b9d1f3_row_level_security.py)"
    )
    assert listed - TENANT_TABLES == set(), "listed tables that no model has (or no tenant_id)"


@pytest.mark.postgres
def test_every_table_is_enabled_forced_and_has_its_policy(pg_engine):
    with pg_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p "
                " WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation'), "
                "(SELECT pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p "
                " WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation') "
                "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
            )
        ).all()
    found = {r[0]: r[1:] for r in rows}
    for table in Base.metadata.tables:
        enabled, forced, using, check = found[table]
        column = "id" if table == "tenants" else "tenant_id"
        assert enabled and forced, table
        assert (
            using
            == check
            == (
                f"({column} = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))"
                "::integer)"
            )
        ), table


@pytest.mark.postgres
def test_the_migration_goes_down_and_up_again():
    url, drop = new_pg_database()
    engine = make_engine(url)
    try:
        upgrade(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "b2d4f6a8c0e1")
        with engine.connect() as conn:
            on = conn.scalar(text("SELECT count(*) FROM pg_class WHERE relrowsecurity"))
            functions = conn.scalar(
                text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'arpolicy_tenant%'")
            )
        assert (on, functions) == (0, 0)
        upgrade(engine)
    finally:
        engine.dispose()
        drop()
