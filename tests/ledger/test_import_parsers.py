"""The fast paths of the importer agree with the reference implementations, and the docs
list every column of every kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money, MoneyPrecisionError
from arpolicy.ledger.importing import KINDS, describe
from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.docs import render
from arpolicy.ledger.importing.report import FieldError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import.md"
amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)


@given(amounts, st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_to_minor_agrees_with_money_parse(value, code):
    text = f"{value:f}"
    try:
        expected = Money.parse(text, code).minor_units()
    except MoneyPrecisionError:
        with pytest.raises(FieldError):
            p.to_minor(p.amount(text), code, "amount")
        return
    assert p.to_minor(p.amount(text), code, "amount") == expected


@given(
    st.integers(-(10**12), 10**12),
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.decimals(min_value=Decimal("0.0001"), max_value=1000, places=6),
)
def test_base_conversion_agrees_with_rate_table(minor, code, rate):
    table = RateTable([(code, "USD", date(2026, 1, 1), rate)])
    ctx = Context.__new__(Context)
    ctx.base, ctx.base_exp, ctx._fx, ctx._rates = "USD", 2, {}, table
    got = ctx.to_base(minor, code, date(2026, 3, 1), "currency")
    want = table.convert(Money.from_minor(minor, code), "USD", date(2026, 3, 1))
    assert got == (want.converted.minor_units(), want.rate, want.rate_on)


@pytest.mark.parametrize("text", ["12", "-0.50", "12.500", "0.1"])
def test_plain_amounts(text):
    assert p.to_minor(p.amount(text), "USD", "amount") == Money.parse(text, "USD").minor_units()


@pytest.mark.parametrize(
    "text", ["1,234.50", "1e3", "$12", "12.", ".5", "+12", "١٢", "NaN", "1 234"]
)
def test_amounts_that_are_not_plain_are_refused(text):
    with pytest.raises(FieldError):
        p.amount(text)


@given(st.text(max_size=12))
def test_formula_escaping_is_reversible(text):
    escaped = p.escape_text(text)
    assert p.unescape_text(escaped) == text if escaped else text == ""
    assert escaped[:1] not in p.FORMULA_TRIGGERS


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-x", "@A1", "\tx", "\rx", "'=x", "''-x"])
def test_cells_a_spreadsheet_would_run_are_escaped(cell):
    assert p.escape_text(cell) == "'" + cell
    assert p.unescape_text("'" + cell) == cell


def test_boolean_words():
    assert [p.boolean(w) for w in ("TRUE", "Yes", "1", "false", "NO", "0")] == [True] * 3 + [
        False
    ] * 3
    with pytest.raises(FieldError, match="yes/no"):
        p.boolean("y")


def test_instants_need_an_offset_and_are_stored_in_utc():
    assert p.instant("2026-01-31T10:30:00+01:00").isoformat() == "2026-01-31T09:30:00+00:00"
    with pytest.raises(FieldError) as caught:
        p.instant("2026-01-31T10:30:00")
    assert "2026-01-31T10:30:00Z" in caught.value.fix


def test_docs_list_every_column_of_every_kind():
    text = DOCS.read_text(encoding="utf-8")
    for name in KINDS:
        assert f"### {name}" in text
        for column in describe(name):
            assert f"`{column.name}`" in text, (name, column.name)


def test_docs_column_reference_is_current():
    """Regenerate with: python -m arpolicy.ledger.importing.docs docs/import.md"""
    assert render() in DOCS.read_text(encoding="utf-8")


def test_every_write_target_is_a_table_column():
    for kind in KINDS.values():
        table = kind.model.__table__
        for column in kind.columns:
            for target in column.writes if column.writes is not None else (column.name,):
                assert target in table.c, (kind.name, column.name, target)
        assert all(c in table.c for c in (*kind.key, *kind.always)), kind.name


def test_describe_unknown_kind_suggests():
    from arpolicy.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        describe("invoice")
    assert "did you mean invoices?" in (caught.value.fix or "")
