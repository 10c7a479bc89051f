from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from tests.fixtures.factories import create_customer, create_document, create_payment, create_tenant


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """Tables print their cells whole, whatever terminal runs the tests (a narrow one wraps
    a cell over lines, and a test reading it would fail on that machine only)."""
    monkeypatch.setenv("COLUMNS", "400")


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """A migrated SQLite file that CLI commands use through ARPOLICY_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", "shop")
    engine = make_engine(url)
    upgrade(engine)
    return engine


@pytest.fixture
def shop(cli_db):
    with transaction(cli_db) as s:
        t = create_tenant(s, "shop", base_currency="USD")
        a = create_customer(s, t, external_id="A1", name='=HYPERLINK("http://x")')
        b = create_customer(s, t, external_id="B2", name="[bold]Bob[/bold]")
        create_document(s, t, a, "100.00", number="I-1", due_date=date(2026, 6, 1))
        create_document(s, t, a, "50.00", number="I-2", due_date=date(2026, 7, 15))
        create_document(s, t, b, "20.00", number="I-3", due_date=date(2026, 2, 1))
        create_payment(s, t, b, "5.00")
    return cli_db


@pytest.fixture
def runner():
    return CliRunner()
