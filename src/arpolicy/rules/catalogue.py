"""The field catalogue: what a rule may read at each level, with types and operators.

Naming scheme (one, everywhere): a level's own fields are flat snake_case names
(``balance``, ``due_date``); the fields of the customer an invoice or a payment profile
belongs to are the customer-level names prefixed with ``customer.`` (``customer.country``);
custom fields are ``cf.<key>`` (``customer.cf.<key>`` from below the customer). A record
handed to a compiled rule is a mapping keyed by exactly these names.

Record value types, by field type: number -> Decimal, integer -> int, money and
base_money -> :class:`~arpolicy.kit.money.Money`, date -> date, datetime -> aware datetime,
string / enum / code -> str, boolean -> bool; a missing value is None or an absent key.

Text comparisons: a string field (names, free text: ``segment``, ``region``, a string
custom field) compares case-insensitively, both sides lower-cased by Unicode's full
mapping (Python's ``str.lower``; see :func:`fold`); enums, codes and owners compare
exactly (an owner literal is first resolved to the user's stored e-mail, see
:mod:`arpolicy.rules.people`).

SQL seam: every field names the ``column`` it maps to in the bulk-evaluation source (the
field name with ``.`` turned into ``__``; money columns hold integer minor units and are
suffixed ``_minor``), ``currency_column`` for money in the record's own currency, and
``json_key`` for custom fields stored in a JSON column.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from difflib import get_close_matches
from itertools import pairwise
from typing import Any

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money, check_currency
from arpolicy.rules.people import Directory


class Type(enum.StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    MONEY = "money"
    """An amount in the record's own currency (an invoice's balance)."""
    BASE_MONEY = "base_money"
    """An amount in the tenant's base currency (converted balance, customer totals)."""
    DATE = "date"
    DATETIME = "datetime"
    """An instant; compared with dates by the tenant's local day."""
    STRING = "string"
    ENUM = "enum"
    CODE = "code"
    """A code compared by membership: currency, country, language, owner."""
    BOOLEAN = "boolean"


class Level(enum.StrEnum):
    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"


ORDERED_OPS = ("<", "<=", ">", ">=", "=", "!=", "between")
SET_OPS = ("=", "!=", "includes", "excludes")
EMPTY_OPS = ("is empty", "is not empty")
NUMERIC = frozenset({Type.NUMBER, Type.INTEGER, Type.MONEY, Type.BASE_MONEY})
DATES = frozenset({Type.DATE, Type.DATETIME})
TEXTUAL = frozenset({Type.STRING, Type.ENUM, Type.CODE})


FOLDED = frozenset({Type.STRING})
"""Field types compared case-insensitively."""


def fold(text: str) -> str:
    """The case-insensitive form of a string value: Unicode lower-casing (``Straße`` and
    ``STRASSE`` differ, as they do in PostgreSQL's ICU ``lower``, which SQL uses)."""
    return text.lower()


def operators_for(type_: Type, nullable: bool) -> tuple[str, ...]:
    if type_ in NUMERIC:
        ops: tuple[str, ...] = ORDERED_OPS
    elif type_ in DATES:
        ops = (*ORDERED_OPS, "in")
    elif type_ in TEXTUAL:
        ops = SET_OPS
    else:
        ops = ("is",)
    return ops + EMPTY_OPS if nullable else ops


PYTHON_TYPES: dict[Type, tuple[type, ...]] = {
    Type.NUMBER: (Decimal, int),
    Type.INTEGER: (int,),
    Type.MONEY: (Money,),
    Type.BASE_MONEY: (Money,),
    Type.DATE: (date,),
    Type.DATETIME: (datetime,),
    Type.STRING: (str,),
    Type.ENUM: (str,),
    Type.CODE: (str,),
    Type.BOOLEAN: (bool,),
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    type: Type
    level: Level
    operators: tuple[str, ...]
    nullable: bool
    doc: str
    column: str
    values: tuple[str, ...] = ()
    """Allowed values of an enum field."""
    code: str | None = None
    """What a code field holds: ``currency``, ``country``, ``language`` or ``user``."""
    currency: str | None = None
    """The one currency of a base_money field, or of a money custom field when fixed."""
    currency_column: str | None = None
    json_key: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    """Other spellings of enum values, ``(spelling, value)``: ``cheque`` for ``check``."""

    def canonical(self, value: str) -> str:
        """The enum value ``value`` spells (itself when it is no alias)."""
        return dict(self.aliases).get(value, value)

    directory: Directory | None = field(default=None, repr=False, compare=False)
    """The users an owner field (code ``user``) may name (see :mod:`arpolicy.rules.people`)."""

    def accepts(self, value: object) -> bool:
        """Whether ``value`` has this field's record type (None is always accepted)."""
        if value is None:
            return True
        if isinstance(value, bool) and self.type is not Type.BOOLEAN:
            return False
        if self.type is Type.DATE and isinstance(value, datetime):
            return False
        if self.type is Type.DATETIME:
            return isinstance(value, datetime) and value.utcoffset() is not None
        return isinstance(value, PYTHON_TYPES[self.type])


CUSTOM_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
CUSTOM_TYPES = {
    "string": Type.STRING,
    "number": Type.NUMBER,
    "money": Type.MONEY,
    "date": Type.DATE,
    "boolean": Type.BOOLEAN,
    "enum": Type.ENUM,
}


@dataclass(frozen=True, slots=True)
class CustomField:
    """What the catalogue needs of a :class:`~arpolicy.models.CustomFieldDefinition`."""

    entity: str
    """``customer`` or ``document``."""
    key: str
    type: str
    options: tuple[str, ...] = ()
    currency: str | None = None
    label: str | None = None

    @classmethod
    def of(cls, item: Any) -> CustomField:
        """From a tuple ``(entity, key, type, options, currency)`` or a definition row."""
        if isinstance(item, CustomField):
            return item
        if isinstance(item, tuple | list):
            entity, key, type_, options, currency = item
            label = None
        else:
            entity, key, type_ = item.entity, item.key, item.type
            options, currency, label = item.options, item.currency, item.label
        return cls(str(entity), key, str(type_), tuple(options or ()), currency, label)


class FieldSet(Mapping[str, Field]):
    """The fields of one level, by name: what one compiled rule reads."""

    def __init__(self, level: Level, base_currency: str, fields: Iterable[Field]) -> None:
        self.level = level
        self.base_currency = base_currency
        self._fields = {f.name: f for f in fields}

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"<FieldSet {self.level.value}: {len(self)} fields>"

    def with_directory(self, directory: Directory) -> FieldSet:
        """The same fields, the owner fields resolving names in ``directory``."""
        fields = [replace(f, directory=directory) if f.code == "user" else f for f in self.values()]
        return FieldSet(self.level, self.base_currency, fields)

    def nearest(self, name: str, n: int = 3) -> list[str]:
        """The closest field names, for "did you mean" hints."""
        names = list(self._fields)
        for exact in ("customer." + name, name.removeprefix("customer.")):
            if exact != name and exact in self._fields:
                return [exact]
        found = get_close_matches(name, names, n=n, cutoff=0.6)
        if not found and "." not in name:
            found = get_close_matches("customer." + name, names, n=n, cutoff=0.8)
        if not found:
            found = sorted(x for x in names if name and (x.endswith(name) or name in x))[:n]
        return found

    def check_record(self, record: Mapping[str, Any]) -> list[str]:
        """Problems with a record's value types (for tests and data loaders)."""
        problems = []
        for key, value in record.items():
            f = self._fields.get(key)
            if f is None:
                continue
            if not f.accepts(value):
                problems.append(f"{key}: {value!r} is not of type {f.type.value}")
            elif isinstance(value, Money) and f.currency and value.currency != f.currency:
                problems.append(f"{key}: {value} is not in {f.currency}")
        return problems


StandardFields = Callable[[str, tuple[int, ...], list["CustomField"]], dict[Level, FieldSet]]
"""Builds every level's fields from (base currency, ageing bounds, custom fields)."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every level's fields for one tenant."""

    base_currency: str
    ageing_bounds: tuple[int, ...]
    levels: Mapping[Level, FieldSet] = field(repr=False)

    @classmethod
    def build(
        cls,
        base_currency: str,
        ageing_bounds: Sequence[int],
        custom_fields: Iterable[Any],
        users: Iterable[tuple[str, str]] | Directory | None,
        *,
        standard: StandardFields,
    ) -> Catalogue:
        """The catalogue of one tenant: the ``standard`` fields (handed in by the ledger,
        :func:`arpolicy.ledger.fields.catalogue_for`), its custom fields and its users.
        ``users``: ``(email, name)`` of the tenant's users, which owner literals must name
        (None: owner literals are taken as written)."""
        check_currency(base_currency)
        bounds = tuple(ageing_bounds)
        if not bounds or bounds[0] <= 0 or any(b <= a for a, b in pairwise(bounds)):
            raise ValidationError(
                f"ageing bounds {list(bounds)} must be increasing",
                fix="give increasing day counts, e.g. [30, 60, 90, 120]",
            )
        customs = [CustomField.of(c) for c in custom_fields]
        for c in customs:
            _check_custom(c)
        levels = standard(base_currency, bounds, customs)
        if users is not None:
            directory = users if isinstance(users, Directory) else Directory.of(users)
            levels = {lv: fs.with_directory(directory) for lv, fs in levels.items()}
        return cls(base_currency, bounds, levels)

    def level(self, level: Level | str) -> FieldSet:
        try:
            return self.levels[Level(level)]
        except ValueError:
            raise ValidationError(
                f"{level!r} is not a rule level",
                fix="use one of: " + ", ".join(v.value for v in Level),
            ) from None


def _check_custom(c: CustomField) -> None:
    where = f"custom field {c.key!r}"
    if not isinstance(c.key, str) or not CUSTOM_KEY.match(c.key):
        raise ValidationError(
            f"{where}: keys must be lower-case snake_case",
            fix="use letters, digits and underscores, starting with a letter, e.g. region_code",
        )
    if c.entity not in ("customer", "document"):
        raise ValidationError(f"{where}: unknown entity {c.entity!r}", fix="customer or document")
    if c.type not in CUSTOM_TYPES:
        raise ValidationError(
            f"{where}: unknown type {c.type!r}", fix="use one of: " + ", ".join(CUSTOM_TYPES)
        )
    if c.type == "enum" and not c.options:
        raise ValidationError(f"{where}: an enum needs options", fix="list its allowed values")
    if c.currency is not None:
        check_currency(c.currency)
