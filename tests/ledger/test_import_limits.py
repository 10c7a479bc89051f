"""Values no database can store are row errors before anything is written, alike on SQLite
and PostgreSQL and alike in CSV, JSON Lines and rows given to ``import_rows``: NUL, lone
surrogates, amounts beyond BIGINT minor units, integers beyond their column, JSON nested too
deep or custom fields too large. A database error nobody foresaw ends the import with
:class:`ImportFailed` (no SQL, no row data) and nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from arpolicy.ledger.importing import import_rows, limits
from arpolicy.ledger.importing.limits import ImportFailed
from arpolicy.models import Customer, CustomFieldDefinition, Document
from tests.ledger.test_import_support import INVOICE_HEADER, ledger, load, only_error, snapshot

DOC = {
    "number": "INV-9",
    "customer": "C1",
    "currency": "USD",
    "amount": "1.00",
    "document_date": "2026-01-01",
    "due_date": "2026-01-31",
}
TOO_LARGE = "is too large: the largest amount arpolicy stores in USD is 92233720368547758.07"


def jsonl(*rows: dict[str, Any] | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def problem(report: Any) -> tuple[Any, ...]:
    """The one error of a refused import, without its line (CSV counts the header)."""
    error = only_error(report)
    assert error.reason and error.fix
    return error.column, error.value, error.reason, error.fix


def tables(session: Any, tenant: Any) -> Any:
    return snapshot(session, Customer, tenant), snapshot(session, Document, tenant)


def test_nul_is_the_same_row_error_in_every_format(session, tmp_path):
    tenant, _, _ = ledger(session)
    before = tables(session, tenant)
    csv_report = load(session, tenant, tmp_path, "customers", "external_id,name\nC9,A\x00B\n")
    escaped = load(
        session,
        tenant,
        tmp_path,
        "customers",
        jsonl('{"external_id": "C9", "name": "A\\u0000B"}'),
        name="c.jsonl",
    )
    raw = load(
        session,
        tenant,
        tmp_path,
        "customers",
        jsonl('{"external_id": "C9", "name": "A\x00B"}'),
        name="r.jsonl",
    )
    rows = import_rows(session, tenant, "customers", [{"external_id": "C9", "name": "A\x00B"}])
    expected = problem(csv_report)
    assert expected[:2] == ("name", "A\\u0000B") and "NUL" in expected[2]
    assert problem(escaped) == problem(raw) == problem(rows) == expected
    assert (csv_report.errors[0].line, escaped.errors[0].line, rows.errors[0].line) == (2, 1, 1)
    assert tables(session, tenant) == before


def test_a_lone_surrogate_is_a_row_error(session, tmp_path):
    tenant, _, _ = ledger(session)
    before = tables(session, tenant)
    text = jsonl({**DOC, "custom_fields": {}, "location": "x\ud800y"})
    report = load(session, tenant, tmp_path, "invoices", text, name="i.jsonl")
    column, value, reason, _ = problem(report)
    assert (column, value) == ("location", "x\\ud800y") and "U+D800" in reason
    rows = import_rows(session, tenant, "invoices", [{**DOC, "location": "x\ud800y"}])
    assert problem(rows) == problem(report)
    key = import_rows(session, tenant, "invoices", [{**DOC, "\udfff": "1"}])
    assert "column name" in only_error(key).reason and only_error(key).column == "\\udfff"
    assert json.dumps([e.value for e in report.errors]).encode()  # printable and sendable
    assert tables(session, tenant) == before


def test_nul_in_a_csv_header_rejects_the_file(session, tmp_path):
    tenant, _, _ = ledger(session)
    report = load(session, tenant, tmp_path, "customers", "e\x00x\x00t\x00,name\nC9,A\n")
    assert report.file_error is not None and "NUL" in report.file_error.reason
    assert "UTF-16" in report.file_error.fix


@pytest.mark.parametrize(
    "amount", ["92233720368547758.08", "-92233720368547758.08", "9" * 5000, "1" + "0" * 30]
)
def test_amounts_beyond_bigint_are_row_errors(session, tmp_path, amount):
    tenant, _, _ = ledger(session)
    before = tables(session, tenant)
    row = f"INV-9,C1,USD,{amount},,2026-01-01,2026-01-31"
    csv_report = load(session, tenant, tmp_path, "invoices", f"{INVOICE_HEADER}\n{row}\n")
    column, value, reason, fix = problem(csv_report)
    assert (column, reason) == ("amount", TOO_LARGE) and "-92233720368547758.07" in fix
    assert value == limits.clip(amount) and len(value) < 130
    no_amount = json.dumps({k: v for k, v in DOC.items() if k != "amount"})
    as_number = jsonl(no_amount[:-1] + f', "amount": {amount}}}')
    for text in (jsonl({**DOC, "amount": amount}), as_number):
        report = load(session, tenant, tmp_path, "invoices", text, name="i.jsonl")
        assert problem(report) == (column, value, reason, fix)
    assert problem(import_rows(session, tenant, "invoices", [{**DOC, "amount": amount}])) == (
        column,
        value,
        reason,
        fix,
    )
    rows = import_rows(session, tenant, "invoices", [{**DOC, "amount": 10**5000}])
    assert only_error(rows).reason == TOO_LARGE
    assert tables(session, tenant) == before


def test_the_largest_amount_of_a_currency_is_stored_exactly(session):
    tenant, _, _ = ledger(session)
    report = import_rows(session, tenant, "invoices", [{**DOC, "amount": "92233720368547758.07"}])
    assert report.ok, report.errors
    session.expire_all()
    stored = session.scalar(select(Document.amount_minor).where(Document.number == "INV-9"))
    assert stored == limits.INT64 == 2**63 - 1
    report = import_rows(
        session,
        tenant,
        "customers",
        [
            {
                "external_id": "K1",
                "name": "K",
                "currency": "KWD",
                "reported_balance": "-9223372036854775.807",
            },
            {
                "external_id": "K2",
                "name": "K",
                "currency": "KWD",
                "reported_balance": "9223372036854775.808",
            },
        ],
    )
    error = only_error(report)
    assert (error.line, error.column) == (2, "reported_balance")
    assert "KWD is 9223372036854775.807" in error.reason


def test_integers_beyond_their_column_are_row_errors(session, tmp_path):
    tenant, _, _ = ledger(session)
    digits = "9" * 5000
    csv_report = load(
        session, tenant, tmp_path, "customers", f"external_id,name,net_term_days\nC9,N,{digits}\n"
    )
    text = jsonl(f'{{"external_id": "C9", "name": "N", "net_term_days": {digits}}}')
    report = load(session, tenant, tmp_path, "customers", text, name="c.jsonl")
    assert problem(report) == problem(csv_report)
    assert "out of range (0 to 3650)" in problem(report)[2]
    rows = import_rows(
        session,
        tenant,
        "customers",
        [{"external_id": "C9", "name": "N", "net_term_days": 10**5000 - 1}],
    )
    assert problem(rows) == problem(report)


def test_instants_beyond_utc_are_row_errors(session, tmp_path):
    tenant, _, _ = ledger(session)
    text = (
        "external_id,customer,attempted_at,status,currency,amount\n"
        "A1,C1,0001-01-01T00:00:00+01:00,failure,USD,1.00\n"
    )
    error = only_error(load(session, tenant, tmp_path, "payment-attempts", text))
    assert error.column == "attempted_at" and "outside the range of UTC" in error.reason


def deep(levels: int, inner: str = '"x"') -> str:
    return '{"a": ' * levels + inner + "}" * levels


@pytest.mark.parametrize("levels", [990, limits.MAX_JSON_DEPTH - 1, limits.MAX_JSON_DEPTH - 2])
def test_json_nested_too_deep_is_a_row_error(session, tmp_path, levels):
    tenant, _, _ = ledger(session)
    session.add(
        CustomFieldDefinition(
            tenant_id=tenant.id, entity="customer", key="k", label="K", type="string"
        )
    )
    session.flush()
    before = tables(session, tenant)
    good = '{"external_id": "C8", "name": "Fine"}'
    line = f'{{"external_id": "C9", "name": "N", "custom_fields": {{"k": {deep(levels)}}}}}'
    report = load(session, tenant, tmp_path, "customers", jsonl(good, line), name="c.jsonl")
    column, value, reason, fix = problem(report)
    assert report.errors[0].line == 2 and column == "cf.k"
    assert value.startswith('{"a": {"a":') and len(value) < 130
    if levels + 2 > limits.MAX_JSON_DEPTH:  # the row and custom_fields are 2 levels
        assert f"more than {limits.MAX_JSON_DEPTH} levels" in reason and "amount" in fix
    else:  # parsed: a custom field value is never an object
        assert reason == "is a JSON object"
    top = f'{{"external_id": "C9", "name": {"[" * 500 + "]" * 500}}}'
    report = load(session, tenant, tmp_path, "customers", jsonl(top), name="t.jsonl")
    assert only_error(report).column == "name" and "levels deep" in only_error(report).reason
    assert tables(session, tenant) == before


def test_custom_fields_are_bounded_like_the_api(session, tmp_path):
    tenant, _, _ = ledger(session)
    session.add(
        CustomFieldDefinition(
            tenant_id=tenant.id, entity="customer", key="n", label="N", type="number"
        )
    )
    session.flush()
    many = {f"k{i}": "x" for i in range(limits.MAX_CUSTOM_FIELDS + 1)}
    report = import_rows(
        session, tenant, "customers", [{"external_id": "C9", "name": "N", "custom_fields": many}]
    )
    assert (
        only_error(report).column == "custom_fields" and "at most 200" in only_error(report).reason
    )
    long = "1" * (limits.CUSTOM_TEXT_LENGTH + 1)
    report = import_rows(
        session,
        tenant,
        "customers",
        [{"external_id": "C9", "name": "N", "custom_fields": {"n": long}}],
    )
    assert only_error(report).column == "cf.n" and "at most 1000" in only_error(report).reason
    options = "|".join(f"o{i}" for i in range(limits.MAX_OPTIONS + 1))
    text = f"entity,key,label,type,options\ncustomer,e,E,enum,{options}\n"
    error = only_error(load(session, tenant, tmp_path, "custom-fields", text))
    assert error.column == "options" and "at most 100 options" in error.fix


def test_long_values_are_shown_cut_and_rejects_keep_the_row(session, tmp_path):
    tenant, _, _ = ledger(session)
    name = "N" * 5000
    rejects = tmp_path / "bad.jsonl"
    text = jsonl(
        {"external_id": "C9", "name": name},
        '{"external_id": "C7", "name": "\\ud800"}',
        '{"external_id": "C8", "name": ' + "[" * 900 + "]" * 900 + "}",
    )
    report = load(
        session,
        tenant,
        tmp_path,
        "customers",
        text,
        name="c.jsonl",
        partial=True,
        rejects_path=rejects,
    )
    assert report.rejected == 3 and report.inserted == 0
    first = report.errors[0]
    assert first.value == "N" * limits.SHOWN_LENGTH + "... (5000 characters)"
    back = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert back[0]["name"] == name and back[1]["name"] == "\ud800"
    assert back[2]["original_line"].startswith('{"external_id": "C8"')


def test_an_unforeseen_database_error_is_a_clean_error(session, monkeypatch):
    """With the amount check loosened, the database refuses the amount itself: the import
    ends with ImportFailed (no SQL, no row data), nothing is stored and the caller's
    transaction goes on."""
    tenant, _, _ = ledger(session)
    before = tables(session, tenant)
    monkeypatch.setattr(limits, "INT64", 2**80)
    row = {**DOC, "number": "SECRET-ROW", "amount": "1" + "0" * 19}
    with pytest.raises(ImportFailed) as caught:
        import_rows(session, tenant, "invoices", [row])
    error = caught.value
    assert error.status == 422 and "nothing was imported" in error.message and error.fix
    assert "SECRET" not in str(error) and "INSERT" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    assert tables(session, tenant) == before
