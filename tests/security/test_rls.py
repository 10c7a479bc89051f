"""Row-level security as the service role sees it (PostgreSQL).

The service role owns nothing and is no superuser, so the policies bind it: with no tenant
set it sees and writes nothing; with tenant A set it sees exactly A's rows and cannot write
a row of B. The truth to compare with is read as the superuser, whom the policies never
bind. Each test runs twice: owner = superuser, and owner = a plain role (whom FORCE binds).
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from arpolicy.models import Base
from arpolicy.tenancy.rls import scope_tenant
from tests.security.seeding import ROW_LEVEL_SECURITY_TABLES, RlsDatabase

pytestmark = pytest.mark.postgres

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c)
ALL_TABLES = [*TENANT_TABLES, "tenants"]
REFUSED = "violates row-level security policy"
SEEDED_TABLES = ROW_LEVEL_SECURITY_TABLES  # seeding.py writes a row in each of them


def _key(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def _visible(conn: Connection, table: str) -> list[int]:
    """The tenant ids of the rows of ``table`` this connection sees."""
    return list(conn.scalars(text(f"SELECT {_key(table)} FROM {table}")))


def _stored(rls_db: RlsDatabase, table: str, tenant_id: int) -> int:
    with rls_db.truth.connect() as conn:
        return int(
            conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE {_key(table)} = :t"), {"t": tenant_id}
            )
        )


def _scoped(conn: Connection, tenant_id: int | None) -> None:
    if tenant_id is not None:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


def _refused(conn: Connection, sql: str, params: dict[str, object], match: str = REFUSED) -> None:
    with pytest.raises(DBAPIError, match=match), conn.begin_nested():
        conn.execute(text(sql), params)


def test_the_service_role_is_bound_by_the_policies(rls_db):
    with rls_db.truth.connect() as conn:
        flags = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": rls_db.app_role},
        ).one()
        owned = conn.scalar(
            text("SELECT count(*) FROM pg_class WHERE pg_get_userbyid(relowner) = :r"),
            {"r": rls_db.app_role},
        )
    assert tuple(flags) == (False, False) and owned == 0


def test_every_tenant_has_rows_in_every_table(rls_db):
    """Else the tests below would prove nothing. (Tables added after the seed was written
    are still checked below, but vacuously until seeding.py fills them too.)"""
    for table in [*SEEDED_TABLES, "tenants"]:
        assert _stored(rls_db, table, rls_db.a.tenant_id) > 0, table
        assert _stored(rls_db, table, rls_db.b.tenant_id) > 0, table


def test_with_no_tenant_set_every_table_is_empty(rls_db):
    # FORCE binds the owner too, unless it is a superuser (whom nothing binds)
    engines: list[Engine] = [rls_db.app] + ([rls_db.owner] if rls_db.owner_role else [])
    for engine in engines:
        with engine.connect() as conn:
            assert current_setting(conn) in (None, "")
            seen = {table: _visible(conn, table) for table in ALL_TABLES}
        assert seen == {table: [] for table in ALL_TABLES}, engine.url.username


def current_setting(conn: Connection) -> str | None:
    return conn.scalar(text("SELECT current_setting('app.tenant_id', true)"))


def test_with_no_tenant_set_inserts_are_refused(rls_db):
    a = rls_db.a.tenant_id
    with rls_db.app.connect() as conn, conn.begin():
        for table in TENANT_TABLES:  # the policy is checked before NOT NULL and the like
            _refused(conn, f"INSERT INTO {table} (tenant_id) VALUES (:t)", {"t": a})
        _refused(
            conn,
            "INSERT INTO tenants (slug, name, base_currency, timezone, locale, ageing_bounds) "
            "VALUES ('rls-x', 'X', 'USD', 'UTC', 'en_US', '[30]')",
            {},
        )
        for table in ALL_TABLES:
            if table == "audit_events":
                continue  # not even the owner may change it (test_audit_log.py)
            updated = conn.execute(text(f"UPDATE {table} SET {_key(table)} = {_key(table)}"))
            deleted = conn.execute(text(f"DELETE FROM {table}"))
            assert (updated.rowcount, deleted.rowcount) == (0, 0), table


def test_a_tenant_sees_exactly_its_own_rows(rls_db):
    a = rls_db.a.tenant_id
    with rls_db.app.connect() as conn, conn.begin():
        _scoped(conn, a)
        seen = {table: Counter(_visible(conn, table)) for table in ALL_TABLES}
    assert seen == {table: Counter({a: _stored(rls_db, table, a)}) for table in ALL_TABLES}


def test_a_tenant_cannot_write_another_tenants_rows(rls_db):
    a, b = rls_db.a.tenant_id, rls_db.b.tenant_id
    before = {table: _stored(rls_db, table, b) for table in ALL_TABLES}
    with rls_db.app.connect() as conn, conn.begin():
        _scoped(conn, a)
        for table in TENANT_TABLES:
            _refused(conn, f"INSERT INTO {table} (tenant_id) VALUES (:t)", {"t": b})
        for table in ALL_TABLES:
            if table == "audit_events":
                continue
            where = {"t": b}
            updated = conn.execute(
                text(f"UPDATE {table} SET {_key(table)} = {_key(table)} WHERE {_key(table)} = :t"),
                where,
            )
            deleted = conn.execute(text(f"DELETE FROM {table} WHERE {_key(table)} = :t"), where)
            assert (updated.rowcount, deleted.rowcount) == (0, 0), table
        # moving one of A's rows to B is refused by WITH CHECK
        contact = conn.scalar(text("SELECT min(id) FROM contacts"))
        _refused(conn, "UPDATE contacts SET tenant_id = :b WHERE id = :id", {"b": b, "id": contact})
        conn.rollback()
    assert {table: _stored(rls_db, table, b) for table in ALL_TABLES} == before


def test_the_tenant_lasts_one_transaction(rls_db):
    a = rls_db.a.tenant_id
    with rls_db.app.connect() as conn:
        with conn.begin():
            _scoped(conn, a)
            assert _visible(conn, "tenants") == [a]
        with conn.begin():
            assert current_setting(conn) == ""  # set once, '' afterwards: hence NULLIF
            assert _visible(conn, "tenants") == []


def test_scope_tenant_switches_within_a_transaction(rls_db):
    from sqlalchemy.orm import Session

    a, b = rls_db.a.tenant_id, rls_db.b.tenant_id
    with rls_db.app.connect() as conn, conn.begin(), Session(bind=conn) as session:
        scope_tenant(session, a)
        assert set(session.scalars(text("SELECT tenant_id FROM customers"))) == {a}
        scope_tenant(session, b)
        assert set(session.scalars(text("SELECT tenant_id FROM customers"))) == {b}


def test_the_lookups_return_tenant_ids_and_nothing_else(rls_db):
    a, b = rls_db.a, rls_db.b
    prefix = "_".join(a.key.split("_", 2)[:2])
    with rls_db.app.connect() as conn, conn.begin():
        assert conn.scalar(text("SELECT arpolicy_tenant_of_key(:p)"), {"p": prefix}) == a.tenant_id
        assert conn.scalar(text("SELECT arpolicy_tenant_of_key('arp_nope')")) is None
        assert conn.scalar(text("SELECT arpolicy_tenant_of_slug(:s)"), {"s": b.slug}) == b.tenant_id
        assert conn.scalar(text("SELECT arpolicy_tenant_of_slug('no-such-tenant')")) is None
        listed = conn.execute(
            text("SELECT tenant_slug, tenant_id FROM arpolicy_tenant_directory()")
        )
        directory = {slug: tenant_id for slug, tenant_id in listed}
        assert directory[a.slug] == a.tenant_id and directory[b.slug] == b.tenant_id
        due = set(
            conn.scalars(
                text(
                    "SELECT * FROM arpolicy_tenants_with_due_outbox('2100-01-01', 'webhook', 1000)"
                )
            )
        )
        assert {a.tenant_id, b.tenant_id} <= due
        # the lookups leave nothing behind: the transaction still sees no row
        assert conn.scalar(text("SELECT current_setting('app.definer_lookup', true)")) == ""
        assert _visible(conn, "api_keys") == [] and _visible(conn, "tenants") == []


def test_the_lookup_switch_does_nothing_for_the_service_role(rls_db):
    """The switch the definer functions turn on is honoured only for their owner."""
    with rls_db.app.connect() as conn, conn.begin():
        conn.execute(text("SELECT set_config('app.definer_lookup', 'on', true)"))
        assert [_visible(conn, t) for t in ("tenants", "api_keys", "outbox")] == [[], [], []]


def test_the_lookups_are_pinned_definer_functions_not_open_to_public(rls_db):
    with rls_db.truth.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner), "
                "has_function_privilege(:app, p.oid, 'EXECUTE'), "
                "EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0) "
                "FROM pg_proc p WHERE p.proname LIKE 'arpolicy_tenant%'"
            ),
            {"app": rls_db.app_role},
        ).all()
    owner = rls_db.owner_role or "postgres"
    assert sorted(r[0] for r in rows) == [
        "arpolicy_tenant_directory",
        "arpolicy_tenant_of_key",
        "arpolicy_tenant_of_slug",
        "arpolicy_tenants_with_due_outbox",
    ]
    for name, definer, config, proowner, app_may, public_may in rows:
        assert definer and proowner == owner, name
        assert config == ["search_path=pg_catalog, public, pg_temp"], name
        assert app_may and not public_may, name
