"""Names and free text compare case-insensitively in the database as in Python (Unicode
letters included), enums and codes exactly; owners are named by e-mail or by name. On
SQLite and PostgreSQL; each selection equals what ``to_python`` matches on the records."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.selection import records, select
from arpolicy.models import CustomFieldDefinition, FieldEntity, FieldType
from arpolicy.rules import RuleError, bind, check, parse, to_python
from tests.fixtures.factories import create_customer, create_document, create_tenant, create_user

AS_OF = date(2026, 11, 23)


@pytest.fixture
def shop(session):
    t = create_tenant(session)
    session.add(
        CustomFieldDefinition(
            tenant_id=t.id,
            entity=FieldEntity.DOCUMENT,
            key="po_number",
            label="PO",
            type=FieldType.STRING,
        )
    )
    anna = create_user(session, t, email="anna.berg@shop.example", name="Anna Berg")
    bob = create_user(session, t, email="bob@shop.example", name="Bob Stone")
    c = {
        "upper": create_customer(
            session, t, segment="ZÜRICH", region="EMEA", finance_owner_id=anna.id
        ),
        "lower": create_customer(
            session,
            t,
            segment="zürich",
            region="emea",
            finance_owner_id=bob.id,
            sales_owner_id=anna.id,
        ),
        "ascii": create_customer(session, t, segment="Zurich", region="Emea"),
        "none": create_customer(session, t),
    }
    d = {
        "upper": create_document(
            session,
            t,
            c["upper"],
            transaction_type="INVOICE",
            custom_fields={"po_number": "PO-ÄÖ-1"},
        ),
        "lower": create_document(
            session,
            t,
            c["lower"],
            transaction_type="invoice",
            custom_fields={"po_number": "po-äö-1"},
        ),
        "none": create_document(session, t, c["none"]),
    }
    return t, {k: v.id for k, v in c.items()}, {k: v.id for k, v in d.items()}


def run(session, t, text: str, level: str) -> list[int]:
    """The ids the database selects, checked against the Python compiler on the records."""
    fields = tenant_catalogue(session, t).level(level)
    bound = bind(check(parse(text), fields), AS_OF)
    ids = select(session, t, bound, fields)
    fn = to_python(bound, fields)
    assert ids == [i for i, r in records(session, t, fields, AS_OF) if fn(r)], text
    return ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("segment = zürich", ["upper", "lower"]),
        ('segment = "ZÜRICH"', ["upper", "lower"]),
        ("segment includes (ZuRiCh, Zürich)", ["upper", "lower", "ascii"]),
        ("segment != ZURICH", ["upper", "lower"]),
        ("segment excludes (zürich)", ["ascii"]),
        ("region = emea and segment = ZÜRICH", ["upper", "lower"]),
        ("not (region = EmEa)", []),
        ("finance_owner = Anna Berg", ["upper"]),
        ('finance_owner includes ("BOB STONE", anna.berg@shop.example)', ["upper", "lower"]),
        ("sales_owner = ANNA.BERG@SHOP.EXAMPLE", ["lower"]),
        ("finance_owner != anna berg", ["lower"]),
    ],
)
def test_customer_text_is_case_insensitive_and_owners_go_by_name(session, shop, text, expected):
    t, customers, _ = shop
    assert run(session, t, text, "customer") == sorted(customers[k] for k in expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("transaction_type = Invoice", ["upper", "lower"]),
        ('cf.po_number = "po-äö-1"', ["upper", "lower"]),
        ('cf.po_number includes ("PO-ÄÖ-1")', ["upper", "lower"]),
        ('cf.po_number != "PO-äÖ-1"', []),
        ("customer.segment = ZÜRICH and customer.finance_owner = Bob Stone", ["lower"]),
        ("document_type = invoice and customer.region = EMEA", ["upper", "lower"]),
    ],
)
def test_invoice_text_custom_fields_included(session, shop, text, expected):
    t, _, documents = shop
    assert run(session, t, text, "invoice") == sorted(documents[k] for k in expected)


def test_enums_and_codes_stay_exact(session, shop):
    t, _, _ = shop
    fields = tenant_catalogue(session, t).level("invoice")
    for text, fix in (
        ("document_type = Invoice", "did you mean invoice?"),
        ("currency = usd", "currency codes are upper case: USD"),
    ):
        with pytest.raises(RuleError) as err:
            check(parse(text), fields)
        assert fix in err.value.problems[0].fix, text
