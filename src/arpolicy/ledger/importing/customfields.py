"""Custom field values: ``cf.<key>`` columns checked against the tenant's definitions and
stored in their canonical JSON form (numbers and money amounts as strings, money as
``{"amount", "currency"}``, dates as ISO text, booleans as JSON booleans)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arpolicy.ledger.importing import limits
from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import Column
from arpolicy.models import CustomFieldDefinition, FieldType

PREFIX = "cf."
STRING_LENGTH = limits.CUSTOM_TEXT_LENGTH


def column(definition: CustomFieldDefinition) -> Column:
    """The import column of a custom field definition."""
    kind = FieldType(definition.type)
    described = f"Custom field {definition.label!r} ({kind.value}"
    if kind is FieldType.ENUM:
        described += ": " + "|".join(definition.options or [])
    if kind is FieldType.MONEY:
        described += f" in {definition.currency}" if definition.currency else ', "12.30 EUR"'
    return Column(
        PREFIX + definition.key,
        f"custom {kind.value}",
        described + ").",
        parser(definition),
        bool(definition.required),
        writes=("custom_fields",),
        text=kind is FieldType.STRING,
    )


def parser(definition: CustomFieldDefinition) -> Callable[[str], Any]:
    kind = FieldType(definition.type)
    if kind is FieldType.STRING:
        return p.text(STRING_LENGTH)
    if kind is FieldType.NUMBER:
        return _number
    if kind is FieldType.DATE:
        return lambda cell: p.iso_date(cell).isoformat()
    if kind is FieldType.BOOLEAN:
        return p.boolean
    if kind is FieldType.ENUM:
        return _enum(definition.options or [])
    return _money(definition.currency, PREFIX + definition.key)


def _number(cell: str) -> str:
    if len(cell) > STRING_LENGTH:
        raise FieldError(
            f"is {len(cell)} characters long; a number field holds at most {STRING_LENGTH}",
            f"shorten it to {STRING_LENGTH} characters",
        )
    return str(Decimal(p.amount(cell)))


def _enum(options: list[str]) -> Callable[[str], str]:
    allowed = set(options)

    def parse(cell: str) -> str:
        if cell not in allowed:
            raise FieldError(
                "is not one of the field's options", "use one of: " + ", ".join(options)
            )
        return cell

    return parse


def _money(fixed: str | None, name: str) -> Callable[[str], dict[str, str]]:
    example = f"12.30 {fixed or 'EUR'}"

    def parse(cell: str) -> dict[str, str]:
        parts = cell.split()
        if len(parts) == 1 and fixed:
            parts.append(fixed)
        if len(parts) != 2:
            raise FieldError("is not an amount and a currency", f'write "{example}"')
        value, code = p.amount(parts[0]), p.currency(parts[1])
        if fixed and code != fixed:
            raise FieldError(
                f"is in {code}; the field holds {fixed}", f"give the amount in {fixed}"
            )
        return _canonical(value, code, name)

    return parse


def _canonical(value: str, code: str, name: str) -> dict[str, str]:
    return {"amount": p.show_minor(p.to_minor(value, code, name), code), "currency": code}


def export_value(definition: CustomFieldDefinition, value: Any) -> str:
    """The cell text of a stored value (what :func:`parser` reads back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return f"{value.get('amount', '')} {value.get('currency', '')}".strip()
    return str(value)
