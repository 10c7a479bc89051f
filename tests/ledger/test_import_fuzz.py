"""Hostile import rows never break an import: whatever the values (JSON nested hundreds of
levels deep, numbers of thousands of digits, NUL, lone surrogates, odd Unicode, very long
text, values of the wrong JSON type), an import of customers or invoices either succeeds or
reports its bad rows, in CSV, JSON Lines and rows given to ``import_rows``, on SQLite and
PostgreSQL. Nothing else is ever raised, a report can always be printed and sent as JSON,
and after a refused import the tables hold exactly what they held before."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arpolicy.ledger.importing import ImportReport, import_file, import_rows, limits
from arpolicy.models import Customer, CustomFieldDefinition, Document
from tests.fixtures.factories import create_rate
from tests.ledger.test_import_support import ledger, snapshot

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Raw:
    """A value written into a JSON line as this JSON text (deep nesting, huge literals)."""

    text: str
    python: Any


def deep(levels: int) -> Raw:
    inner: Any = "x"
    for _ in range(min(levels, 40)):  # as Python objects: deep enough to be refused
        inner = {"a": inner}
    return Raw('{"a": ' * levels + '"x"' + "}" * levels, inner)


def number(digits: str) -> Raw:
    return Raw(digits, Decimal(digits))


ODD = "\u202e\u200b\ufeff\u0301\uffff\U0010ffff\r\n\t\",;'=|\\"
special = st.one_of(st.just("\x00"), st.sampled_from("\x00\ud800\udfff"), st.sampled_from(ODD))
odd_text = st.builds(lambda a, c, b: a + c + b, st.text(max_size=6), special, st.text(max_size=6))
long_text = st.builds(
    lambda c, n: c * n,
    st.sampled_from("aé€😀\x00"),
    st.sampled_from([101, 301, 1001, 5000, 140_000]),
)
EDGES = [
    "92233720368547758.07",
    "92233720368547758.08",
    "-92233720368547758.09",
    "9223372036854775807",
    "1e999999999999999999",
    "0" * 40 + "1",
    "-0",
    "9" * 5000,
    "1." + "0" * 500,
    "12.345",
]
huge = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str), st.sampled_from(EDGES)
)
wrong_type = st.one_of(
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([{"amount": "1.00", "currency": "USD"}, {"amount": {"x": 1}, "currency": 1}]),
    st.integers(min_value=10, max_value=990).map(deep),
    st.sampled_from(["9" * 5000, "1" + "0" * 25, "-" + "9" * 30, "1.5e3"]).map(number),
)
hostile = st.one_of(odd_text, long_text, huge, wrong_type)
AMOUNTS = {"reported_balance", "amount", "balance", "cf.score", "net_term_days"}


def hostile_for(name: str) -> st.SearchStrategy[Any]:
    """Hostile values, biased to what breaks the column: numbers for amounts, text else."""
    return st.one_of(huge, hostile) if name in AMOUNTS else st.one_of(odd_text, odd_text, hostile)


# Valid values: a row is valid but for the hostile values put in, so that they reach the
# checks (and the database) instead of hiding behind another error of the row.
CUSTOMER = {
    "external_id": st.sampled_from(["C1", "C2", "C3"]),
    "name": st.sampled_from(["ACME", "Beta GmbH"]),
    "currency": st.sampled_from(["USD", "EUR", "JPY"]),
    "reported_balance": st.sampled_from(["12", "-5", "0"]),
    "net_term_days": st.sampled_from(["30", "0", 45]),
    "country": st.sampled_from(["DE", "US"]),
    "timezone": st.sampled_from(["Europe/Berlin", "UTC"]),
    "locale": st.sampled_from(["en_US", "de_DE"]),
    "parent": st.sampled_from(["C1", ""]),
    "billing_city": st.sampled_from(["Köln", "Paris"]),
    "cf.note": st.sampled_from(["hello", ""]),
    "cf.score": st.sampled_from(["1.5", "-3"]),
    "cf.limit": st.sampled_from(["12.30 EUR", "5 USD"]),
}
INVOICE = {
    "number": st.sampled_from(["INV-0", "INV-1", "INV-2"]),
    "customer": st.just("C1"),
    "currency": st.sampled_from(["USD", "EUR"]),
    "amount": st.sampled_from(["100.00", "1"]),
    "balance": st.sampled_from(["0", "1", ""]),
    "document_date": st.just("2026-01-01"),
    "due_date": st.sampled_from(["2026-01-31", "2026-01-01"]),
    "location": st.sampled_from(["Berlin", ""]),
    "disputed": st.sampled_from(["true", "no"]),
    "cf.po": st.sampled_from(["PO-1", ""]),
}
COLUMNS = {"customers": CUSTOMER, "invoices": INVOICE}
REQUIRED = {"customers": ("external_id", "name"), "invoices": tuple(INVOICE)[:7]}
KEYS = {"customers": "external_id", "invoices": "number"}


@st.composite
def rows(draw: Any, kind: str) -> list[dict[str, Any]]:
    """1 to 3 rows of one header, each with up to 2 hostile values."""
    spec = COLUMNS[kind]
    names = list(REQUIRED[kind]) + draw(
        st.lists(st.sampled_from([c for c in spec if c not in REQUIRED[kind]]), unique=True)
    )
    out = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        row = {name: draw(spec[name]) for name in names}
        row[KEYS[kind]] = f"K{index}" if index else row[KEYS[kind]]  # no duplicate keys
        hostiles = draw(st.integers(min_value=0, max_value=2))
        picked = st.lists(st.sampled_from(names), min_size=hostiles, max_size=hostiles, unique=True)
        for name in draw(picked):
            row[name] = draw(hostile_for(name))
        out.append(row)
    return out


def as_text(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value) if not isinstance(value, str) else value


def csv_bytes(data: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(data[0]))
    for row in data:
        writer.writerow([as_text(v) for v in row.values()])
    return out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate: not UTF-8


def json_value(value: Any, ascii_only: bool) -> str:
    if isinstance(value, Raw):
        return value.text
    try:
        return json.dumps(value, ensure_ascii=ascii_only)
    except ValueError:  # NaN is written by json.dumps; this is only a safety net
        return "null"


def jsonl_bytes(data: list[dict[str, Any]], ascii_only: bool) -> bytes:
    lines = []
    for row in data:
        nested: dict[str, dict[str, Any]] = {}
        parts = []
        for name, value in row.items():
            if name.startswith("cf."):
                nested.setdefault("custom_fields", {})[name[3:]] = value
            elif name.startswith("billing_"):
                nested.setdefault("billing_address", {})[name[8:]] = value
            else:
                parts.append(f"{json.dumps(name)}: {json_value(value, ascii_only)}")
        for key, values in nested.items():
            inner = ", ".join(
                f"{json.dumps(k)}: {json_value(v, ascii_only)}" for k, v in values.items()
            )
            parts.append(f"{json.dumps(key)}: {{{inner}}}")
        lines.append("{" + ", ".join(parts) + "}")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def python_rows(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in data:
        obj: dict[str, Any] = {}
        for name, value in row.items():
            value = value.python if isinstance(value, Raw) else value
            if name.startswith("cf."):
                obj.setdefault("custom_fields", {})[name[3:]] = value
            elif name.startswith("billing_"):
                obj.setdefault("billing_address", {})[name[8:]] = value
            else:
                obj[name] = value
        out.append(obj)
    return out


@pytest.fixture
def tenant(session: Any) -> Any:
    """USD tenant with customer C1 and invoice INV-0, an EUR rate and custom fields."""
    t, _, _ = ledger(session)
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.0850")
    for entity, key, kind, extra in (
        ("customer", "note", "string", {}),
        ("customer", "score", "number", {}),
        ("customer", "limit", "money", {}),
        ("document", "po", "string", {}),
    ):
        session.add(
            CustomFieldDefinition(
                tenant_id=t.id, entity=entity, key=key, label=key, type=kind, **extra
            )
        )
    session.flush()
    return t


def check(report: ImportReport) -> None:
    """A report anyone can print and send: reasons and fixes, values cut, UTF-8 safe."""
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")
    for error in report.errors:
        assert error.line >= 1 and error.reason and error.fix, error
        assert error.value is None or len(error.value) <= limits.SHOWN_LENGTH + 30, error
        assert error.column is None or len(error.column) <= limits.SHOWN_LENGTH + 30, error
    stored = report.inserted + report.updated
    assert not report.applied or stored == report.rows - report.rejected, report


def strings(value: Any) -> Any:
    """Every text in stored rows (JSON columns included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def attempt(
    session: Any,
    tenant: Any,
    tmp_path: Path,
    kind: str,
    fmt: str,
    data: Any,
    partial: bool,
    ascii_only: bool = True,
) -> None:
    tables = (Customer, Document)
    before = [snapshot(session, model, tenant) for model in tables]
    savepoint = session.begin_nested()
    try:
        if fmt == "rows":
            report = import_rows(session, tenant, kind, python_rows(data), partial=partial)
        else:
            path = tmp_path / f"{kind}.{fmt}"
            path.write_bytes(csv_bytes(data) if fmt == "csv" else jsonl_bytes(data, ascii_only))
            rejects = tmp_path / f"rejects.{fmt}"
            report = import_file(session, tenant, kind, path, partial=partial, rejects_path=rejects)
            if report.rejects_path:
                Path(report.rejects_path).read_text(encoding="utf-8")
        check(report)
        after = [snapshot(session, model, tenant) for model in tables]
        if not report.applied:
            assert after == before, report.errors
        assert not any(limits.UNSTORABLE.search(text) for text in strings(after))  # both dbs
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("kind", ["customers", "invoices"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "rows"])
def test_hostile_rows_are_imported_or_reported(session, tenant, tmp_path, kind, fmt):
    @FUZZ
    @given(data=rows(kind), partial=st.booleans(), ascii_only=st.booleans())
    def run(data: list[dict[str, Any]], partial: bool, ascii_only: bool) -> None:
        attempt(session, tenant, tmp_path, kind, fmt, data, partial, ascii_only)

    run()
