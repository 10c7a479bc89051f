"""explain: text and JSON of each condition's actual value and verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from arpolicy.kit.money import Money
from arpolicy.rules import bind, explain, explainer, parse

AS_OF = date(2026, 11, 23)


def test_text_of_every_kind_of_condition(invoice):
    rule = parse(
        "balance > 500 USD and due_date < 30 days ago and customer.country includes (DE, AT)"
        " and document_type excludes (credit_note) and cf.po_number is not empty"
        ' and transaction_type = "sale & lease" and last_email_at >= 2026-11-01'
        " and days_past_due between 1 and 90 and cf.approved is no"
    )
    record = {
        "balance": Money(Decimal("812.4"), "USD"),
        "due_date": date(2026, 5, 1),
        "document_type": "invoice",
        "cf.po_number": "PO-1",
        "transaction_type": "sale & lease",
        "last_email_at": datetime(2026, 11, 2, 8, 15, tzinfo=UTC),
        "days_past_due": 206,
        "cf.approved": False,
    }
    exp = explain(bind(rule, AS_OF, tz="Europe/Berlin"), record, invoice)
    assert exp.text() == "\n".join(
        [
            "all: no",
            "  balance 812.40 USD > 500.00 USD: yes",
            "  due_date 2026-05-01 < 2026-10-24 (30 days ago): yes",
            "  customer.country (missing) includes (DE, AT): unknown",
            "  document_type invoice excludes (credit_note): yes",
            "  cf.po_number PO-1 is not empty: yes",
            '  transaction_type "sale & lease" = "sale & lease": yes',
            "  last_email_at 2026-11-02T09:15+01:00 >= 2026-11-01: yes",
            "  days_past_due 206 between 1 and 90: no",
            "  cf.approved no is no: yes",
        ]
    )
    assert not exp.matched and exp.verdict == "no"


def test_json_form(invoice):
    rule = parse("balance > 500 USD and not (customer.country = DE)")
    exp = explain(bind(rule, AS_OF), {"balance": Money(Decimal("600"), "USD")}, invoice)
    assert exp.to_json() == {
        "all": [
            {
                "field": "balance",
                "op": ">",
                "verdict": "yes",
                "actual": {"amount": "600.00", "currency": "USD"},
                "expected": {"amount": "500", "currency": "USD"},
                "text": "balance 600.00 USD > 500.00 USD: yes",
            },
            {
                "not": {
                    "field": "customer.country",
                    "op": "=",
                    "verdict": "unknown",
                    "actual": None,
                    "expected": "DE",
                    "text": "customer.country (missing) = DE: unknown",
                },
                "verdict": "unknown",
            },
        ],
        "verdict": "unknown",
    }


def test_explainer_is_compiled_once(invoice):
    bound = bind(parse("disputed"), AS_OF)
    assert explainer(bound, invoice) is explainer(bound, invoice)
    assert explainer(bound, invoice)({"disputed": True}).matched
