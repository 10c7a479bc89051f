"""The catalogue: levels, naming, types, operators, custom fields and the SQL seam."""

from __future__ import annotations

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import Level, Type
from arpolicy.rules.printer import RESERVED


def test_levels_and_naming(catalogue):
    customer, invoice, payment = (catalogue.level(lv) for lv in Level)
    assert "outstanding" in customer and "customer.outstanding" in invoice
    assert "customer.outstanding" in payment and "balance" not in customer
    assert "cf.tier" in customer and "customer.cf.tier" in invoice and "cf.po_number" in invoice
    for fields in (customer, invoice, payment):
        for name, f in fields.items():
            assert f.name == name and f.level is fields.level
            assert not set(name.split(".")) & RESERVED, name


def test_ageing_fields_follow_the_tenants_bounds():
    fields = catalogue_for("USD", [15, 45]).level("customer")
    ageing = [n for n in fields if n.startswith("ageing_") and not n.endswith("_local")]
    assert ageing == ["ageing_current", "ageing_1_15", "ageing_16_45", "ageing_over_45"]
    assert fields["ageing_1_15"].currency == "USD"


def test_types_operators_and_enum_values(invoice):
    assert invoice["balance"].type is Type.MONEY
    assert invoice["converted_balance"].type is Type.BASE_MONEY
    assert invoice["converted_balance"].currency == "EUR"
    assert invoice["document_type"].values == ("invoice", "debit_note", "credit_note")
    assert invoice["disputed"].operators == ("is",)
    assert "is empty" in invoice["p2p_date"].operators
    assert "includes" in invoice["currency"].operators
    assert "in" in invoice["due_date"].operators


def test_sql_seam_every_field_names_its_column(catalogue):
    invoice = catalogue.level("invoice")
    assert invoice["balance"].column == "balance_minor"
    assert invoice["balance"].currency_column == "currency"
    assert invoice["converted_balance"].column == "base_balance_minor"
    assert invoice["customer.country"].column == "customer__country"
    assert invoice["customer.outstanding_local"].currency_column == "customer__local_currency"
    assert (invoice["cf.po_number"].column, invoice["cf.po_number"].json_key) == (
        "custom_fields",
        "po_number",
    )
    assert invoice["customer.cf.tier"].column == "customer__custom_fields"


def test_custom_fields_from_definition_rows():
    class Row:
        entity, key, type, options, currency, label = (
            "customer",
            "region",
            "enum",
            ["n"],
            None,
            "Region",
        )

    fields = catalogue_for("EUR", custom_fields=[Row()]).level("customer")
    assert fields["cf.region"].values == ("n",) and fields["cf.region"].label == "Region"


@pytest.mark.parametrize(
    ("custom", "match"),
    [
        (("customer", "Bad Key", "string", None, None), "snake_case"),
        (("vendor", "x", "string", None, None), "unknown entity"),
        (("customer", "x", "float", None, None), "unknown type"),
        (("customer", "x", "enum", [], None), "needs options"),
        (("customer", "x", "money", None, "usd"), "ISO 4217"),
    ],
)
def test_bad_custom_fields(custom, match):
    with pytest.raises(ValidationError, match=match):
        catalogue_for("EUR", custom_fields=[custom])


def test_bad_tenant_settings(catalogue):
    with pytest.raises(ValidationError, match="increasing"):
        catalogue_for("EUR", [60, 30])
    with pytest.raises(ValidationError, match="rule level"):
        catalogue.level("order")


def test_record_types_are_checked_on_request(invoice):
    from datetime import date, datetime

    assert invoice.check_record({"due_date": datetime(2026, 1, 1)}) == [
        "due_date: datetime.datetime(2026, 1, 1, 0, 0) is not of type date"
    ]
    assert invoice.check_record({"days_past_due": True, "due_date": date(2026, 1, 1)}) == [
        "days_past_due: True is not of type integer"
    ]
