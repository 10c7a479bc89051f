"""``arpolicy import`` / ``arpolicy export`` through the command line."""

from __future__ import annotations

import csv
import io
import json
import uuid
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def on_both(request, tmp_path, monkeypatch):
    """The command on each database: a fresh SQLite file, or the tests' PostgreSQL database
    (a tenant of its own, committed like the command commits). -> (cli, customers count)"""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        upgrade(make_engine(url))
    else:
        url = request.getfixturevalue("pg_engine").url.render_as_string(hide_password=False)
    engine = make_engine(url)
    slug = f"cli{uuid.uuid4().hex[:10]}"
    with transaction(engine) as session:
        tenant_id = create_tenant(session, slug, base_currency="USD").id
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", slug)
    cli = typer.Typer()
    ledgerio.register(cli)

    def customers() -> int:
        with transaction(engine, write=False) as session:
            q = select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant_id)
            return session.scalar(q) or 0

    yield cli, customers
    engine.dispose()


HOSTILE = {
    "nul.csv": (b"external_id,name\nC1,A\x00B\n", "│ 2 │ name │ A\\u0000B │ contains the NUL"),
    "nul.jsonl": (b'{"external_id": "C1", "name": "A\\u0000B"}\n', "│ 1 │ name │ A\\u0000B │"),
    "surrogate.jsonl": (b'{"external_id": "C1", "name": "A\\ud800"}\n', "U+D800"),
    "deep.jsonl": (
        (
            '{"external_id": "C1", "name": "A", "custom_fields": {"k": '
            + '{"a": ' * 990
            + "1"
            + "}" * 990
            + "}}\n"
        ).encode(),
        "│ 1 │ cf.k │",
    ),
    "large.csv": (
        b"external_id,name,currency,reported_balance\nC1,A,USD,99999999999999999999\n",
        "│ 2 │ reported_balance │ 99999999999999999999 │ is too large",
    ),
}


def test_values_no_database_can_store_exit_2_with_the_row_error(on_both, tmp_path):
    cli, customers = on_both
    for name, (content, shown) in HOSTILE.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run(cli, "import", "customers", path)
        assert result.exit_code == 2, (name, result.output[-2000:])
        assert shown in result.text, (name, result.text[-2000:])
        assert "rejected because of 1 bad row(s); nothing was changed" in result.text
    assert customers() == 0


def test_an_unforeseen_database_error_exits_2_without_row_data(on_both, tmp_path, monkeypatch):
    from arpolicy.ledger.importing import limits

    cli, customers = on_both
    monkeypatch.setattr(limits, "INT64", 2**80)  # the database refuses the amount itself
    path = tmp_path / "customers.csv"
    path.write_text(
        "external_id,name,currency,reported_balance\nC1,SECRET,USD,10000000000000000000\n",
        encoding="utf-8",
    )
    result = run(cli, "import", "customers", path)
    assert result.exit_code == 2, result.output
    assert "the database refused a value of the import" in result.text
    assert "nothing was imported" in result.text and "fix:" in result.text
    for leak in ("SECRET", "INSERT", "Traceback", "10000000000000000000"):
        assert leak not in result.output
    assert customers() == 0
