"""The CLI connected as the service role (PostgreSQL row-level security), and the commands
that set the role up: `arpolicy db grant ROLE` and `arpolicy init --app-role ROLE`."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arpolicy.cli.main import app
from tests.security.conftest import admin_engine
from tests.security.seeding import RlsDatabase

pytestmark = pytest.mark.postgres


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def as_service(rls_db: RlsDatabase, monkeypatch: pytest.MonkeyPatch) -> RlsDatabase:
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", rls_db.app_url)
    monkeypatch.setenv("ARPOLICY_TENANT", rls_db.a.slug)
    return rls_db


@pytest.fixture
def as_owner(rls_db: RlsDatabase, monkeypatch: pytest.MonkeyPatch) -> RlsDatabase:
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", rls_db.owner_url)
    return rls_db


def _json(runner: CliRunner, *args: str) -> object:
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _count(rls_db: RlsDatabase, table: str, tenant_id: int) -> int:
    with rls_db.truth.connect() as conn:
        query = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t")
        return int(conn.scalar(query, {"t": tenant_id}))


def test_tenant_commands_work_as_the_service_role(runner, as_service):
    a, b = as_service.a, as_service.b
    customers = _json(runner, "customers", "list")["customers"]  # type: ignore[index]
    assert customers and len(customers) == _count(as_service, "customers", a.tenant_id)
    slugs = [t["slug"] for t in _json(runner, "tenants", "list")]  # type: ignore[attr-defined]
    assert a.slug in slugs and b.slug in slugs
    key = _json(runner, "keys", "create", "--name", "cli", "--tenant", b.slug)
    assert key["key"].startswith("arp_")  # type: ignore[index]
    events = _json(runner, "audit", "--tenant", b.slug)
    assert any(e["action"] == "api_key.created" for e in events)  # type: ignore[attr-defined]
    assert runner.invoke(app, ["report", "ageing", "--tenant", b.slug]).exit_code == 0


def test_an_unknown_tenant_lists_the_known_ones(runner, as_service):
    res = runner.invoke(app, ["customers", "list", "--tenant", "no-such-tenant"])
    assert res.exit_code == 2 and "no tenant 'no-such-tenant'" in res.stderr
    assert "known tenants:" in res.stderr


def test_tenants_and_demos_are_created_as_the_service_role(runner, as_service):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    res = runner.invoke(app, ["tenants", "create", slug, "--base-currency", "EUR"])
    assert res.exit_code == 0, res.output
    again = runner.invoke(app, ["tenants", "create", slug])
    assert again.exit_code == 2 and "already exists" in again.stderr
    demo = f"demo-{uuid.uuid4().hex[:8]}"
    args = ["demo", "--customers", "3", "--tenant", demo, "--today", "2026-11-23"]
    assert runner.invoke(app, args).exit_code == 0
    skipped = runner.invoke(app, [*args, "--if-empty"])
    assert skipped.exit_code == 0 and "already has a tenant" in skipped.output
    shown = _json(runner, "customers", "list", "--tenant", demo)
    assert len(shown["customers"]) == 3  # type: ignore[index]


def test_grant_is_idempotent(runner, as_owner):
    first = _json(runner, "db", "grant", as_owner.app_role)
    second = _json(runner, "db", "grant", as_owner.app_role)
    assert first == second and second["created"] is False  # type: ignore[index]
    assert second["append_only"] == ["audit_events"]  # type: ignore[index]
    assert second["read_only"] == ["alembic_version"]  # type: ignore[index]
    res = runner.invoke(app, ["init", "--app-role", as_owner.app_role])
    assert res.exit_code == 0 and f"role {as_owner.app_role}" in res.output


def test_grant_refuses_roles_that_row_level_security_would_not_bind(runner, as_owner):
    owner = as_owner.owner_role or "postgres"
    res = runner.invoke(app, ["db", "grant", owner])
    assert res.exit_code == 2 and "owns the tables" in res.stderr
    if as_owner.owner_role is not None:  # the superuser, seen from a plain owner
        res = runner.invoke(app, ["db", "grant", "postgres"])
        assert res.exit_code == 2 and "superuser" in res.stderr
    res = runner.invoke(app, ["db", "grant", "Robert'); DROP TABLE users;--"])
    assert res.exit_code == 2 and "plain role name" in res.stderr


def test_grant_creates_a_missing_role(runner, as_owner):
    role = f"arpolicy_new_{uuid.uuid4().hex[:8]}"
    try:
        res = runner.invoke(app, ["db", "grant", role])
        if as_owner.owner_role is not None:  # a plain owner may not create roles
            assert res.exit_code == 2 and "CREATE ROLE" in res.stderr
            return
        assert res.exit_code == 0 and f"created role {role}" in res.output
        with as_owner.truth.connect() as conn:
            login = conn.scalar(
                text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": role}
            )
        assert login is True
    finally:
        with as_owner.truth.connect() as conn, conn.begin():
            if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
                conn.execute(text(f"DROP OWNED BY {role}"))
        with admin_engine().connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))


def test_grant_is_for_postgresql_only(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert runner.invoke(app, ["init"]).exit_code == 0
    res = runner.invoke(app, ["db", "grant", "arpolicy_app"])
    assert res.exit_code == 2 and "only on PostgreSQL" in res.stderr
