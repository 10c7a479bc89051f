"""A header's plan: which known column sits at which position, which table columns an
update writes, and what is wrong with the header (unknown, repeated or missing columns)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arpolicy.ledger.importing import customfields
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.fastparse import FastParser, compile_fields
from arpolicy.ledger.importing.report import RowError
from arpolicy.ledger.importing.specs import Column, Kind

Field = tuple[int, str, Callable[[str], Any], bool, str]
"""(position in the row, column name, parser, required, description): what the hot loop
needs of a column, unpacked once per header."""


@dataclass(slots=True)
class Plan:
    header: tuple[str, ...]
    columns: list[tuple[int, Column]]
    custom: tuple[str, ...]
    """Present ``cf.<key>`` columns (packed into ``values["custom_fields"]``)."""
    update: tuple[str, ...]
    """Table columns an update of a stored row writes."""
    problems: list[RowError] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    width: int = 0
    fast: FastParser | None = None

    def __post_init__(self) -> None:
        self.width = len(self.header)
        self.fields = [(i, c.name, c.parse, c.required, c.description) for i, c in self.columns]
        self.fast = compile_fields(self.fields)


def known_columns(ctx: Context, kind: Kind) -> dict[str, Column]:
    known = {c.name: c for c in kind.columns}
    if kind.custom_fields:
        for definition in ctx.fields(kind.custom_fields).values():
            column = customfields.column(definition)
            known[column.name] = column
    return known


PLANS_KEPT = 256
_PLANS: dict[tuple[Any, ...], Plan] = {}


def cached_plan(ctx: Context, kind: Kind, header: tuple[str, ...], line: int = 1) -> Plan:
    """:func:`make_plan`, made once per kind, header and custom field definitions (a plan
    compiles its parser: about a millisecond, the largest cost of a single write's
    validation). A plan is never changed once made, so one serves every import."""
    defined = ctx.fields(kind.custom_fields) if kind.custom_fields else {}
    shape = tuple(
        (d.key, str(d.type), d.label, tuple(d.options or ()), d.currency, bool(d.required))
        for d in defined.values()
    )
    key = (kind.name, header, line, shape)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) >= PLANS_KEPT:
            _PLANS.clear()
        found = _PLANS[key] = make_plan(ctx, kind, header, line)
    return found


def make_plan(ctx: Context, kind: Kind, header: tuple[str, ...], line: int = 1) -> Plan:
    known = known_columns(ctx, kind)
    columns: list[tuple[int, Column]] = []
    problems: list[RowError] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in positions:
            problems.append(
                RowError(
                    line,
                    name,
                    None,
                    f"appears twice (columns {positions[name] + 1} and {index + 1})",
                    "keep one of them",
                )
            )
        elif name in known:
            columns.append((index, known[name]))
        else:
            problems.append(_unknown(ctx, kind, known, name, index, line))
        positions.setdefault(name, index)
    for column in known.values():
        if column.required and column.name not in positions:
            problems.append(
                RowError(
                    line,
                    column.name,
                    None,
                    "is required but missing",
                    f"add a {column.name} column: {column.description}",
                )
            )
    custom = tuple(c.name for _, c in columns if c.name.startswith(customfields.PREFIX))
    return Plan(header, columns, custom, _update(kind, columns), problems)


def _update(kind: Kind, columns: list[tuple[int, Column]]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for _, column in columns:
        for target in (column.name,) if column.writes is None else column.writes:
            out[target] = None
    for target in kind.always:
        out[target] = None
    skip = {"tenant_id", *kind.key}
    return tuple(c for c in out if c not in skip)


def _unknown(
    ctx: Context, kind: Kind, known: dict[str, Column], name: str, index: int, line: int
) -> RowError:
    if not name:
        return RowError(line, f"#{index + 1}", None, "has no name", "name the column or delete it")
    if name.startswith(customfields.PREFIX) and kind.custom_fields:
        defined = ", ".join(sorted(ctx.fields(kind.custom_fields))) or "none yet"
        return RowError(
            line,
            name,
            None,
            f"is not a custom field of {kind.custom_fields}s",
            f"define it first (arpolicy import custom-fields FILE); defined keys: {defined}",
        )
    near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {near[0]}? " if near else ""
    return RowError(
        line,
        name,
        None,
        f"is not a column of {kind.name}",
        f"{hint}rename or remove it (columns: {', '.join(known)})",
    )
