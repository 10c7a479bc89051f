"""Shared fixtures and record builders for the rule-language tests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arpolicy.kit.money import Money
from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import Catalogue, FieldSet, Type

AS_OF = date(2026, 11, 23)
CUSTOM = [
    ("customer", "tier", "enum", ["gold", "silver", "bronze"], None),
    ("customer", "credit_limit", "money", None, "EUR"),
    ("document", "po_number", "string", None, None),
    ("document", "approved", "boolean", None, None),
]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return catalogue_for("EUR", [30, 60, 90, 120], CUSTOM)


@pytest.fixture(scope="session")
def invoice(catalogue: Catalogue) -> FieldSet:
    return catalogue.level("invoice")


@pytest.fixture(scope="session")
def customer(catalogue: Catalogue) -> FieldSet:
    return catalogue.level("customer")


def typed(fields: FieldSet, name: str, text: str) -> Any:
    """A record value from its golden-file spelling, typed by the field."""
    text = text.strip()
    if text in ("(missing)", "null"):
        return None
    t = fields[name].type
    if t in (Type.MONEY, Type.BASE_MONEY):
        amount, currency = text.split()
        return Money.parse(amount, currency)
    if t is Type.NUMBER:
        return Decimal(text)
    if t is Type.INTEGER:
        return int(text)
    if t is Type.DATE:
        return date.fromisoformat(text)
    if t is Type.DATETIME:
        return datetime.fromisoformat(text)
    if t is Type.BOOLEAN:
        return {"yes": True, "no": False}[text]
    if text.startswith('"'):
        import json

        return json.loads(text)
    return text
