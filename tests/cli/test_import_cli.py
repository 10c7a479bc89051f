"""``arpolicy import`` / ``arpolicy export`` through the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from arpolicy.cli import ledgerio
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import Customer, Document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture
def app(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        create_tenant(session, "acme", base_currency="USD")
    engine.dispose()
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", "acme")
    cli = typer.Typer()
    ledgerio.register(cli)
    cli.engine_url = url  # type: ignore[attr-defined]
    return cli


def count(app, model) -> int:
    engine = make_engine(app.engine_url)
    with transaction(engine, write=False) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def run(app, *args):
    result = runner.invoke(app, [str(a) for a in args])
    result.text = " ".join(result.output.split())  # Rich wraps at the terminal's width
    return result


def test_import_examples_then_report(app):
    for name in ("users.csv", "custom-fields.csv", "fx-rates.csv", "customers.csv"):
        result = run(app, "import", name.rsplit(".", 1)[0], EXAMPLES / name)
        assert result.exit_code == 0, result.output
    assert "4 rows, 4 inserted, 0 updated, 0 rejected" in result.text
    assert count(app, Customer) == 4


def test_bad_file_exits_2_lists_problems_and_changes_nothing(app, tmp_path):
    run(app, "import", "users", EXAMPLES / "users.csv")
    run(app, "import", "custom-fields", EXAMPLES / "custom-fields.csv")
    bad = tmp_path / "customers.csv"
    rows = "".join(f"C{i},Name {i},{'de' if i == 3 else 'DE'},saas\n" for i in range(1, 60))
    bad.write_text("external_id,name,country,cf.industry\n" + rows, encoding="utf-8")
    result = run(app, "import", "customers", bad)
    assert result.exit_code == 2
    assert "│ 4 │ country │ de │" in result.text and "write DE" in result.text
    assert "rejected because of 1 bad row(s); nothing was changed" in result.text
    assert count(app, Customer) == 0


def test_partial_imports_good_rows_and_warns(app, tmp_path):
    run(app, "import", "customers", write_customers(tmp_path))
    bad = tmp_path / "invoices.csv"
    bad.write_text(
        "number,customer,currency,amount,document_date,due_date\n"
        "I1,K1,USD,1.00,2026-01-01,2026-01-31\nI2,K1,USD,abc,2026-01-01,2026-01-31\n",
        encoding="utf-8",
    )
    result = run(app, "import", "invoices", bad, "--partial")
    assert result.exit_code == 0, result.output
    assert "1 row(s) were not imported; they are in" in result.text
    assert (tmp_path / "invoices.csv.rejects.csv").exists()
    assert count(app, Document) == 1


def write_customers(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,name\nK1,One\nK2,=Two\n", encoding="utf-8")
    return path


def test_json_report(app, tmp_path):
    result = run(app, "import", "customers", write_customers(tmp_path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["inserted"], data["ok"], data["applied"], data["errors"]) == (2, True, True, [])


def test_unknown_kind_and_format_are_clear(app, tmp_path):
    result = run(app, "import", "customer", write_customers(tmp_path))
    assert result.exit_code == 2 and "did you mean customers?" in result.text
    result = run(app, "import", "customers", write_customers(tmp_path), "--format", "xlsx")
    assert result.exit_code == 2 and "--format csv" in result.text
    result = run(app, "import", "customers", tmp_path / "missing.csv")
    assert result.exit_code == 2 and "does not exist" in result.text


def test_export_to_stdout_and_file_round_trips(app, tmp_path):
    run(app, "import", "customers", write_customers(tmp_path))
    result = run(app, "export", "customers")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == ["One", "'=Two"]
    out = tmp_path / "export.csv"
    result = run(app, "export", "customers", "--out", out)
    assert result.exit_code == 0 and "exported 2 customers" in result.text
    result = run(app, "import", "customers", out, "--json")
    assert json.loads(result.stdout)["updated"] == 2
    assert run(app, "export", "customers").stdout == out.read_text(encoding="utf-8")


def test_error_table_shows_the_first_fifty(app, tmp_path):
    bad = tmp_path / "customers.csv"
    bad.write_text(
        "external_id,name,country\n" + "".join(f"C{i},N,xx\n" for i in range(60)), encoding="utf-8"
    )
    result = run(app, "import", "customers", bad)
    assert result.exit_code == 2
    assert "│ 51 │ country │ xx │" in result.text and "│ 52 │" not in result.text
    assert "... and 10 more" in result.text
