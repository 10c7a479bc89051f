"""Decision tables in bulk: the records each rule of a table matches, selected by the
database one rule at a time (each rule's condition is an ordinary bound condition, with the
table's dates and rates), and the outcome each record gets, as
:func:`~arpolicy.rules.table_to_python` gives it for one record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from arpolicy.rules import ast as a
from arpolicy.rules.binding import BoundRule


@dataclass(frozen=True, slots=True)
class Group:
    """The records that get one outcome: those of table rule ``rule`` (1-based), or with
    ``rule`` None those of ``otherwise`` (then ``ids`` is empty: every other record)."""

    rule: int | None
    outcome: Any
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Decisions:
    """What a decision table decides for a level's records."""

    table: a.DecisionTable
    hits: tuple[tuple[int, ...], ...]
    """Per table rule, the ids its condition matches, in id order."""

    @property
    def first(self) -> bool:
        return self.table.hit_policy is a.HitPolicy.FIRST

    @property
    def matched(self) -> list[int]:
        """Ids some rule matches (the ones a table's explanation answers yes for)."""
        return sorted(set().union(*self.hits))

    def outcome(self, record_id: int) -> Any:
        """The outcome of one record (the default, or None / [], when no rule matches)."""
        outcomes = [
            rule.then.value
            for rule, ids in zip(self.table.rules, self.hits, strict=True)
            if record_id in ids
        ]
        default = self.table.default
        if self.first:
            return outcomes[0] if outcomes else (default.value if default else None)
        return outcomes or ([default.value] if default else [])

    def groups(self) -> list[Group]:
        """One group per table rule: with ``first`` the records it decides (matched by no
        earlier rule), with ``collect`` every record it matches; then ``otherwise``."""
        taken: set[int] = set()
        found = []
        for n, (rule, ids) in enumerate(zip(self.table.rules, self.hits, strict=True), 1):
            mine = tuple(i for i in ids if i not in taken) if self.first else ids
            if self.first:
                taken.update(ids)
            found.append(Group(n, rule.then.value, mine))
        if self.table.default is not None:
            found.append(Group(None, self.table.default.value, ()))
        return found


def decide_table(bound: BoundRule, select: Callable[[BoundRule], list[int]]) -> Decisions:
    """Select each rule's condition of the bound table with ``select`` (a level's
    selection of one bound condition)."""
    table = bound.rule
    if not isinstance(table, a.DecisionTable):
        raise TypeError("this rule is a condition: select it, it decides no outcome")
    hits = tuple(tuple(select(replace(bound, rule=r.when, compiled={}))) for r in table.rules)
    return Decisions(table, hits)
