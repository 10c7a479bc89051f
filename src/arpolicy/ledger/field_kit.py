"""The building blocks of the standard field catalogue (:mod:`arpolicy.ledger.fields`): type
shorthands, payment method spellings, and :func:`make`, a field with its column and
operators."""

from __future__ import annotations

import enum

from arpolicy.models import METHOD_ALIASES
from arpolicy.rules.catalogue import Field, Level, Type, operators_for

B, M, N, INT = Type.BASE_MONEY, Type.MONEY, Type.NUMBER, Type.INTEGER
METHODS = tuple(METHOD_ALIASES.items())
"""Other spellings of payment methods (cheque = check), on every payment method field."""
D, DT, S, E, C, BOOL = Type.DATE, Type.DATETIME, Type.STRING, Type.ENUM, Type.CODE, Type.BOOLEAN


def values_of(e: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(m.value for m in e)


def make(
    level: Level,
    name: str,
    label: str,
    type_: Type,
    nullable: bool,
    doc: str,
    **extra: object,
) -> Field:
    column = name.replace(".", "__")
    if type_ in (Type.MONEY, Type.BASE_MONEY) and "json_key" not in extra:
        column += "_minor"
    extra.setdefault("column", column)
    return Field(
        name=name,
        label=label,
        type=type_,
        level=level,
        operators=operators_for(type_, nullable),
        nullable=nullable,
        doc=doc,
        **extra,  # type: ignore[arg-type]
    )
