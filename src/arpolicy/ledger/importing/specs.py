"""How an import kind is described: its columns (name, type, required, description, parser),
its upsert key and the function that turns one row's parsed values into a table row.

The kinds themselves live in ``kinds_*.py``; :mod:`registry` collects them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arpolicy.ledger.importing import parsers as p

if TYPE_CHECKING:
    from arpolicy.ledger.importing.context import Context

Values = dict[str, Any]
Row = dict[str, Any]
Builder = Callable[["Context", Values], Row]
After = Callable[["Context", "set[Any]"], None]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    """Documented type: text, amount, currency, date, instant, boolean, integer, one of ..."""
    description: str
    parse: p.Parser
    required: bool = False
    writes: tuple[str, ...] | None = None
    """Table columns this file column sets (default: the column of the same name). A column
    absent from the file leaves them untouched when a stored row is updated."""
    text: bool = False
    """Free text: formula-escaped on export, unescaped on import."""
    follows: str | None = None
    """A column whose new value the import derives this one from when the row does not
    give it (``previous_last4`` follows ``last4``): an update of a stored record through the
    API that changes ``follows`` leaves this column out, so the import derives it."""


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    model: Any
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """Table columns (after tenant_id) of the unique key an upsert matches on."""
    build: Builder
    always: tuple[str, ...] = ()
    """Table columns written on every update (derived ones, such as base amounts)."""
    custom_fields: str | None = None
    """"customer" or "document": the kind takes ``cf.<key>`` columns."""
    self_ref: tuple[str, str] | None = None
    """(file column, table column) of a reference to a row of the same kind (a customer's
    parent, a user's manager): it may point at a row later in the same file."""
    after: After | None = None
    """Called once after all rows are written, with the keys of the rows written."""
    merge_json: tuple[str, ...] = ()
    """JSON columns updated key by key (custom fields, billing address)."""
    order: int = 0
    """Position in the documented import order."""
    aliases: dict[str, str] = field(default_factory=dict)
    file_key: Callable[[Values], Any] | None = None
    """The row's key as the file gives it (duplicates in one file are errors); default: the
    values of the columns named like ``key``."""

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


def text(name: str, length: int, description: str, *, required: bool = False, **kw: Any) -> Column:
    return Column(
        name, f"text (up to {length})", description, p.text(length), required, text=True, **kw
    )


def ref(name: str, what: str, description: str, *, required: bool = False, **kw: Any) -> Column:
    return Column(name, f"reference: {what}", description, p.text(100), required, text=True, **kw)


def money(name: str, description: str, *, required: bool = False, **kw: Any) -> Column:
    return Column(
        name,
        "amount",
        description + " In the row's currency, e.g. 1234.50; no more decimals than it has.",
        p.amount,
        required,
        **kw,
    )


def currency(description: str = "ISO 4217 code, upper case (USD, EUR, JPY).", **kw: Any) -> Column:
    return Column("currency", "currency", description, p.currency, **kw)


def day(name: str, description: str, *, required: bool = False, **kw: Any) -> Column:
    return Column(name, "date (YYYY-MM-DD)", description, p.iso_date, required, **kw)


def flag(name: str, description: str, **kw: Any) -> Column:
    return Column(name, "boolean (true/false, yes/no, 1/0)", description, p.boolean, **kw)


def choice(
    name: str,
    enum_cls: type[enum.Enum],
    description: str,
    aliases: dict[str, str] | None = None,
    **kw: Any,
) -> Column:
    values = "|".join(str(m.value) for m in enum_cls)
    also = "".join(f" ({k} = {v})" for k, v in (aliases or {}).items())
    return Column(name, f"one of {values}{also}", description, p.choice(enum_cls, aliases), **kw)


def external_id(what: str) -> Column:
    return text(
        "external_id", 100, f"The {what}'s id in the billing system (upsert key).", required=True
    )


def customer_ref(required: bool = True) -> Column:
    return ref(
        "customer",
        "customers",
        "External id of the customer.",
        required=required,
        writes=("customer_id",),
    )


def document_ref() -> tuple[Column, Column]:
    return (
        choice(
            "document_type",
            _doc_type(),
            "Type of the document referred to (default invoice).",
            writes=("document_id",),
        ),
        ref(
            "document_number",
            "documents",
            "Number of the document it concerns (optional).",
            writes=("document_id",),
        ),
    )


def _doc_type() -> type[enum.Enum]:
    from arpolicy.models import DocumentType

    return DocumentType
