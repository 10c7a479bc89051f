"""A large file parsed in a second process (pipeline.py) gives exactly what one process gives:
the same stored rows, the same report, the same reject file, the same errors.

The threshold is lowered so that files of a few thousand rows take the pipeline; every test
runs the file both ways on the same data (each in a savepoint rolled back afterwards).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.ledger.importing import import_file, importer, pipeline
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.models import Customer, CustomFieldDefinition, Document, Tenant
from tests.fixtures.factories import create_customer, create_rate, create_tenant
from tests.ledger.test_import_support import snapshot

HEADER = "number,customer,currency,amount,balance,document_date,due_date,location,cf.po,cf.approved"
CURRENCIES = ("USD", "EUR", "GBP")
BOOM = "INV-700,C1,EUR,123.45,,2025-01-01,2025-02-01,,,"


@pytest.fixture
def pipelined(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every file takes the pipeline; the list counts the pipelined runs."""
    calls: list[int] = []
    real = importer.run_pipelined

    def spy(*args: Any) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(pipeline, "MIN_ROWS", 0)
    monkeypatch.setattr(importer, "run_pipelined", spy)
    return calls


@pytest.fixture
def tenant(sqlite_session: Session) -> Tenant:
    """USD tenant, customers C0..C49 (uncommitted: the caller's transaction), EUR and GBP
    rates, two custom fields of documents."""
    session = sqlite_session
    t = create_tenant(session)
    for i in range(50):
        create_customer(session, t, external_id=f"C{i}")
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.0850")
    create_rate(session, t, "GBP", "USD", date(2025, 1, 1), "1.2590")
    for key, kind in (("po", "string"), ("approved", "boolean")):
        session.add(
            CustomFieldDefinition(tenant_id=t.id, entity="document", key=key, label=key, type=kind)
        )
    session.flush()
    return t


def invoices(n: int, start: int = 0, bad: dict[int, str] | None = None) -> str:
    lines = [HEADER]
    for i in range(start, start + n):
        cur = CURRENCIES[i % 3]
        lines.append(
            (bad or {}).get(
                i,
                f"INV-{i},C{i % 50},{cur},{i % 997}.{i % 100:02d},,2025-0{1 + i % 9}-1{i % 10},"
                f"2025-1{i % 3}-01,L{i % 7},PO-{i},{'true' if i % 2 else ''}",
            )
        )
    return "\n".join(lines) + "\n"


def both(
    session: Session, tenant: Tenant, path: Path, calls: list[int], **kw: Any
) -> tuple[Any, ...]:
    """Import ``path`` in one process, then pipelined: (report, stored rows, reject file,
    bytes of progress) of each must be equal; returns the pipelined ones."""
    results = []
    for parallel in (False, True):
        before = len(calls)
        seen: list[int] = []
        savepoint = session.begin_nested()
        try:
            report = import_file(
                session, tenant, "invoices", path, parallel=parallel, progress=seen.append, **kw
            )
            rows = snapshot(session, Document, tenant)
            rejects = Path(report.rejects_path).read_text() if report.rejects_path else None
        finally:
            savepoint.rollback()
            if report.rejects_path:
                Path(report.rejects_path).unlink()
        assert len(calls) == before + parallel
        results.append((report.to_dict(), rows, rejects, sum(seen)))
    assert results[0] == results[1]
    return results[1]


def test_a_clean_file_stores_the_same_rows(sqlite_session, tenant, tmp_path, pipelined):
    path = tmp_path / "invoices.csv"
    path.write_text(invoices(2000))
    report, rows, _, progress = both(sqlite_session, tenant, path, pipelined)
    assert report["applied"] and report["inserted"] == 2000 and len(rows) == 2000
    assert progress > 0  # and the same as in one process
    assert {r for row in rows for r in row if r in ("EUR", "GBP")} == {"EUR", "GBP"}


def test_updates_of_stored_rows_are_the_same(sqlite_session, tenant, tmp_path, pipelined):
    import_file(sqlite_session, tenant, "invoices", _file(tmp_path, "first.csv", invoices(1500)))
    path = _file(tmp_path, "invoices.csv", invoices(1000, start=1000))
    report, rows, _, _ = both(sqlite_session, tenant, path, pipelined)
    assert (report["inserted"], report["updated"], len(rows)) == (500, 500, 2000)


def test_bad_rows_and_duplicates_reject_the_file(sqlite_session, tenant, tmp_path, pipelined):
    bad = {
        10: "INV-10,C999,USD,1.00,,2025-01-01,2025-02-01,,,",
        700: "INV-5,C1,USD,1.00,,2025-01-01,2025-02-01,,,",
        1500: "INV-1500,C1,USD,1.001,,2025-01-01,2025-02-01,,,",
        1900: "INV-1900,C1",
    }
    path = _file(tmp_path, "invoices.csv", invoices(2000, bad=bad))
    report, rows, _, _ = both(sqlite_session, tenant, path, pipelined)
    assert not report["applied"] and report["rejected"] == 4 and rows == []


def test_partial_keeps_the_good_rows_and_the_same_rejects(
    sqlite_session, tenant, tmp_path, pipelined
):
    bad = {i: f"INV-{i},C{i},USD,x,,2025-01-01,2025-02-01,,," for i in range(0, 2000, 37)}
    bad[1999] = "INV-3,C1,USD,1.00,,2025-01-01,2025-02-01,,,"
    path = _file(tmp_path, "invoices.csv", invoices(2000, bad=bad))
    report, rows, rejects, _ = both(sqlite_session, tenant, path, pipelined, partial=True)
    assert report["applied"] and report["rejected"] == len(bad)
    assert len(rows) == 2000 - len(bad) and rejects.count("\n") == len(bad) + 1


def test_json_lines_are_the_same(sqlite_session, tenant, tmp_path, pipelined):
    lines = [
        json.dumps(
            {
                "number": f"J-{i}",
                "customer": f"C{i % 50}",
                "currency": "EUR",
                "amount": f"{i}.50",
                "document_date": "2025-03-01",
                "due_date": "2025-04-01",
                "custom_fields": {"po": f"P{i}"},
            }
        )
        for i in range(1200)
    ]
    lines[600] = "not json"
    path = _file(tmp_path, "invoices.jsonl", "\n".join(lines) + "\n")
    report, rows, rejects, _ = both(sqlite_session, tenant, path, pipelined, partial=True)
    assert report["rejected"] == 1 and len(rows) == 1199 and "not json" in rejects


@pytest.mark.parametrize(
    "text",
    [
        "number,customer,bogus\nINV-1,C1,x\n",
        HEADER + "\n",
        (invoices(1000) + "INV-X,C1,USD,1.00,,2025-01-01,2025-02-01,\xff,,\n").encode("latin-1"),
        invoices(300, bad={5: "INV-5,C999,USD,1.00,,2025-01-01,2025-02-01,,,"}) + 'INV-Y,"C1,USD\n',
    ],
    ids=["bad-header", "no-rows", "not-utf8", "broken-quote"],
)
def test_file_problems_give_the_same_report(sqlite_session, tenant, tmp_path, pipelined, text):
    path = tmp_path / "invoices.csv"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)  # type: ignore[operator]
    report, rows, _, _ = both(sqlite_session, tenant, path, pipelined)
    assert report["file_error"] and not report["applied"] and rows == []


def test_an_error_in_the_child_is_raised_in_the_parent(
    sqlite_session, tenant, tmp_path, pipelined, monkeypatch
):
    real = Context.to_base

    def to_base(ctx: Any, minor: int, *args: Any) -> Any:
        if minor == 12345:
            raise ValidationError("boom", fix="none")
        return real(ctx, minor, *args)

    monkeypatch.setattr(Context, "to_base", to_base)
    path = _file(tmp_path, "invoices.csv", invoices(1000, bad={700: BOOM}))
    with pytest.raises(ValidationError, match="boom") as caught:
        import_file(sqlite_session, tenant, "invoices", path, parallel=True)
    assert pipelined and "parse process" in "".join(caught.value.__notes__)
    assert snapshot(sqlite_session, Document, tenant) == []


def test_values_no_database_can_store_are_the_same_row_errors(
    sqlite_session, tenant, tmp_path, pipelined
):
    bad = {
        10: "INV-10,C1,USD,1.00,,2025-01-01,2025-02-01,L\x00,,",
        900: "INV-900,C1,USD,92233720368547758.08,,2025-01-01,2025-02-01,,,",
        1500: f"INV-1500,C1,USD,{'9' * 5000},,2025-01-01,2025-02-01,,,",
    }
    path = _file(tmp_path, "invoices.csv", invoices(2000, bad=bad))
    report, rows, rejects, _ = both(sqlite_session, tenant, path, pipelined, partial=True)
    assert [(e["line"], e["column"]) for e in report["errors"]] == [
        (12, "location"),
        (902, "amount"),
        (1502, "amount"),
    ]
    assert len(rows) == 1997 and "\x00" in rejects


def test_a_database_error_of_a_pipelined_import_is_clean(
    sqlite_session, tenant, tmp_path, pipelined, monkeypatch
):
    from arpolicy.ledger.importing import limits

    monkeypatch.setattr(limits, "INT64", 2**80)  # the database refuses the amount itself
    bad = {700: "INV-700,C1,USD,10000000000000000000,,2025-01-01,2025-02-01,,,"}
    path = _file(tmp_path, "invoices.csv", invoices(1000, bad=bad))
    with pytest.raises(limits.ImportFailed, match="nothing was imported"):
        import_file(sqlite_session, tenant, "invoices", path, parallel=True)
    assert pipelined and snapshot(sqlite_session, Document, tenant) == []


def test_a_child_that_dies_is_an_error(sqlite_session, tenant, tmp_path, pipelined, monkeypatch):
    real = Context.to_base

    def to_base(ctx: Any, minor: int, *args: Any) -> Any:
        if minor == 12345:
            os._exit(3)
        return real(ctx, minor, *args)

    monkeypatch.setattr(Context, "to_base", to_base)
    path = _file(tmp_path, "invoices.csv", invoices(1000, bad={700: BOOM}))
    with pytest.raises(pipeline.ParseProcessError, match="exit code 3"):
        import_file(sqlite_session, tenant, "invoices", path, parallel=True)
    assert snapshot(sqlite_session, Document, tenant) == []


def test_kinds_with_self_references_stay_in_one_process(
    sqlite_session, tenant, tmp_path, pipelined
):
    text = "external_id,name,parent\nP1,Parent,\nK1,Kid,P1\n"
    report = import_file(
        sqlite_session, tenant, "customers", _file(tmp_path, "c.csv", text), parallel=True
    )
    assert report.applied and not pipelined
    assert len(snapshot(sqlite_session, Customer, tenant)) == 52


def test_small_files_and_the_default_stay_in_one_process(sqlite_session, tenant, tmp_path):
    path = _file(tmp_path, "invoices.csv", invoices(50))
    assert not pipeline.usable(sqlite_session, get_kind("invoices"), 50)
    assert import_file(sqlite_session, tenant, "invoices", path, parallel=True).applied


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_command_line_pipelines_large_files(tmp_path, monkeypatch, pipelined):
    from typer.testing import CliRunner

    from arpolicy.cli import ledgerio
    from arpolicy.kit.db import make_engine, transaction
    from arpolicy.kit.migrate import upgrade
    from arpolicy.ledger.tenants import create_tenant as create_named_tenant

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        create_named_tenant(session, "acme", base_currency="USD")
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    monkeypatch.setenv("ARPOLICY_TENANT", "acme")
    cli = typer.Typer()
    ledgerio.register(cli)
    runner = CliRunner()
    customers = "external_id,name\n" + "".join(f"C{i},Customer {i}\n" for i in range(50))
    rates = "from_currency,to_currency,valid_on,rate\nEUR,USD,2025-01-01,1.08\nGBP,USD,2025-01-01,1.25\n"
    fields = "entity,key,label,type\ndocument,po,PO,string\ndocument,approved,Approved,boolean\n"
    for kind, text in (("custom-fields", fields), ("fx-rates", rates), ("customers", customers)):
        result = runner.invoke(cli, ["import", kind, str(_file(tmp_path, f"{kind}.csv", text))])
        assert result.exit_code == 0, result.output
    pipelined.clear()  # (small files above: customers have self references anyway)
    path = _file(tmp_path, "invoices.csv", invoices(3000))
    result = runner.invoke(cli, ["import", "invoices", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert pipelined and json.loads(result.output)["inserted"] == 3000
    with transaction(engine, write=False) as session:
        assert session.query(Document).count() == 3000
    engine.dispose()
