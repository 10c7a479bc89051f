"""``arpolicy demo`` through a small Typer app (the full CLI is assembled in main.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from arpolicy.cli import common, demo
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.models import Customer, Document, FxRate, Tenant
from tests.fixtures.factories import create_tenant


@pytest.fixture
def demo_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A callback keeps ``demo`` a subcommand."""

    demo.register(app)
    return app


@pytest.fixture
def demo_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def run(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["demo", *args])


def tenants(engine) -> dict[str, int]:
    with transaction(engine, write=False) as s:
        rows = s.execute(
            select(Tenant.slug, func.count(Customer.id))
            .outerjoin(Customer, Customer.tenant_id == Tenant.id)
            .group_by(Tenant.slug)
        ).all()
    return {slug: n for slug, n in rows}


def test_loads_a_demo_tenant_and_prints_counts(demo_app, demo_db):
    result = run(demo_app, "--customers", "20", "--seed", "3", "--today", "2026-11-23")
    assert result.exit_code == 0, result.output
    assert "loaded demo tenant demo: 20 customers as of 2026-11-23 (seed 3)" in result.output
    assert "payment_attempts" in result.output and "total" in result.output
    assert tenants(demo_db) == {"demo": 20}
    with transaction(demo_db, write=False) as s:
        latest = s.scalar(select(func.max(Document.document_date)))
    assert latest is not None and latest <= date(2026, 11, 23)


def test_json_summary_matches_the_database(demo_app, demo_db):
    result = run(demo_app, "--customers", "8", "--today", "2026-11-23", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tenant"] == "demo" and summary["today"] == "2026-11-23"
    with transaction(demo_db, write=False) as s:
        docs = s.scalar(select(func.count()).select_from(Document))
    assert summary["rows"]["documents"] == docs > 0
    assert summary["rows"]["customers"] == 8


def test_if_empty_skips_a_database_with_any_tenant(demo_app, demo_db):
    with transaction(demo_db) as s:
        create_tenant(s, "shop")
    result = run(demo_app, "--if-empty", "--customers", "5")
    assert result.exit_code == 0, result.output
    assert "no demo loaded" in result.output
    assert tenants(demo_db) == {"shop": 0}


def test_if_empty_loads_an_empty_database_once(demo_app, demo_db):
    for _ in range(2):
        result = run(demo_app, "--if-empty", "--customers", "5", "--today", "2026-11-23")
        assert result.exit_code == 0, result.output
    assert "no demo loaded" in result.output
    assert tenants(demo_db) == {"demo": 5}


def test_an_existing_tenant_is_an_error_with_a_fix(demo_app, demo_db):
    assert run(demo_app, "--customers", "3", "--today", "2026-11-23").exit_code == 0
    result = run(demo_app, "--customers", "3")
    assert result.exit_code == 2
    assert "tenant 'demo' already exists" in result.stderr
    assert "fix:" in result.stderr and "--if-empty" in result.stderr
    assert tenants(demo_db) == {"demo": 3}
    other = run(demo_app, "--customers", "4", "--tenant", "demo-2", "--today", "2026-11-23")
    assert other.exit_code == 0, other.output
    assert tenants(demo_db) == {"demo": 3, "demo-2": 4}


def test_today_defaults_to_the_tenant_zone_of_the_injected_clock(demo_app, demo_db, monkeypatch):
    # 03:00 UTC on 1 March is still 28 February in New York.
    monkeypatch.setattr(common, "clock", lambda: FixedClock(datetime(2026, 3, 1, 3, tzinfo=UTC)))
    result = run(demo_app, "--customers", "12", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["today"] == "2026-02-28"
    with transaction(demo_db, write=False) as s:
        assert s.scalar(select(func.max(FxRate.valid_on))) == date(2026, 2, 1)
        assert s.scalar(select(func.max(Document.document_date))) <= date(2026, 2, 28)


def test_a_bad_date_is_an_error(demo_app, demo_db):
    result = run(demo_app, "--today", "2026-13-01")
    assert result.exit_code == 2
    assert "--today" in result.stderr and "YYYY-MM-DD" in result.stderr
    assert tenants(demo_db) == {}


def test_an_unmigrated_database_points_at_init(demo_app, tmp_path, monkeypatch):
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run(demo_app, "--customers", "1")
    assert result.exit_code == 2
    assert "arpolicy init" in result.stderr
