"""``explain(bound, record, fields)``: every condition's actual value and verdict.

The explanation is compiled once per bound rule (generated code like compile.py, with
three-valued verdicts: True, False, None for unknown, and no short-circuit so every
condition is reported). Evaluating a record yields two tuples (values and verdicts, in the
pre-order of the plan); text and JSON are rendered only when asked::

    all: yes
      balance 812.40 USD > 500.00 USD: yes
      due_date 2026-05-01 < 2026-10-24 (30 days ago): yes
      not: yes
        disputed no is yes: no
      customer.country (missing) includes (DE, AT): unknown

An amount compared with money in another currency shows its conversion at the bound rate
(on the evaluation date), then the comparison: ``balance 812.40 EUR = 877.39 USD at 1.08 on
2026-11-23 > 500.00 USD: yes``. The converted amount is shown to the literal currency's
minor unit, with more decimals where rounding would hide its difference from the literal;
the verdict always comes from the exact product (see :mod:`arpolicy.rules.fx`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arpolicy.kit.clock import zone
from arpolicy.kit.money import Money, exponent
from arpolicy.rules import ast as a
from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import FieldSet
from arpolicy.rules.checker import check
from arpolicy.rules.compile import Record, Source, V, cached
from arpolicy.rules.fx import BoundRate
from arpolicy.rules.jsonform import literal_json
from arpolicy.rules.lowering import AllPlan, AnyPlan, LeafPlan, NotPlan, Plan, Test, lower
from arpolicy.rules.printer import literal as print_literal
from arpolicy.rules.printer import string as print_string

WORDS = {True: "yes", False: "no", None: "unknown"}


def show_value(value: Any, tz: str) -> str:
    """An actual value as the explanation shows it."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        local = value.astimezone(zone(tz)) if value.utcoffset() is not None else value
        return local.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return print_string(str(value))
    return str(value)


def json_value(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class Conversion:
    """A record's amount in the currency of the literal it was compared with."""

    value: Money
    rate: BoundRate
    on: date
    """The evaluation date (the rate is the one in force that day)."""
    literals: tuple[Decimal, ...]

    @property
    def exact(self) -> Decimal:
        return self.rate.convert(self.value.amount)

    def shown(self) -> Decimal:
        """The converted amount to the literal currency's minor unit, or with as many more
        decimals as it takes to tell it from a literal it is not equal to."""
        exact = self.exact
        places = exponent(self.rate.target)
        while True:
            rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            if rounded == exact or all(rounded != x or exact == x for x in self.literals):
                return rounded
            places += 1

    def to_json(self) -> dict[str, Any]:
        """The shown amount, and the rate exactly as bound."""
        data = {"amount": format(self.shown(), "f"), "currency": self.rate.target}
        data |= {"rate": format(self.rate.rate, "f"), "on": self.on.isoformat()}
        if self.rate.valid_on is not None:
            data["rate_date"] = self.rate.valid_on.isoformat()
        if self.rate.via is not None:
            data["via"] = self.rate.via
        return data


def short_rate(rate: Decimal) -> str:
    """A rate to at most 10 significant digits, for reading (decisions record it exactly)."""
    shown = (
        rate
        if len(rate.as_tuple().digits) <= 10
        else rate.quantize(Decimal(1).scaleb(rate.adjusted() - 9), rounding=ROUND_HALF_UP)
    )
    return format(shown.normalize() if shown == shown.to_integral() else shown, "f")


def conversion_text(c: Conversion) -> str:
    """``877.39 USD at 1.08 on 2026-11-23`` (``via EUR`` for a cross rate)."""
    via = f" via {c.rate.via}" if c.rate.via else ""
    rate = short_rate(c.rate.rate)
    return f"{format(c.shown(), 'f')} {c.rate.target} at {rate}{via} on {c.on.isoformat()}"


def show_literal(lit: a.Literal, with_phrase: bool = True) -> str:
    if isinstance(lit, a.MoneyLit):
        places = exponent(lit.currency)
        return f"{lit.amount:.{max(places, -_exp(lit.amount))}f} {lit.currency}"
    if isinstance(lit, a.DateLit) and lit.phrase and with_phrase:
        return f"{lit.value.isoformat()} ({lit.phrase})"
    return print_literal(lit)


def _exp(d: Decimal) -> int:
    e = d.as_tuple().exponent
    return e if isinstance(e, int) else 0


def _range_phrase(low: a.Literal, high: a.Literal) -> str | None:
    if isinstance(low, a.DateLit) and isinstance(high, a.DateLit) and low.phrase == high.phrase:
        return low.phrase
    return None


def rhs(node: a.Leaf) -> str:
    """The operator and literal side of a leaf: ``> 500.00 USD``."""
    if isinstance(node, a.Compare):
        return f"{node.op} {show_literal(node.value)}"
    if isinstance(node, a.Between):
        low, high = node.low, node.high
        phrase = _range_phrase(low, high)
        if phrase:  # a bound date range: "between ... and ... (in the last 15 days)"
            plain = show_literal(low, False), show_literal(high, False)
            return f"between {plain[0]} and {plain[1]} ({phrase})"
        return f"between {show_literal(low)} and {show_literal(high)}"
    if isinstance(node, a.Includes | a.Excludes):
        word = "includes" if isinstance(node, a.Includes) else "excludes"
        return f"{word} (" + ", ".join(show_literal(v) for v in node.values) + ")"
    if isinstance(node, a.IsEmpty):
        return "is not empty" if node.negated else "is empty"
    if isinstance(node, a.BoolTest):
        return "is yes" if node.value else "is no"
    raise TypeError(f"unbound leaf {node!r}")


def expected_json(node: a.Leaf) -> Any:
    if isinstance(node, a.Compare):
        return literal_json(node.value)
    if isinstance(node, a.Between):
        return [literal_json(node.low), literal_json(node.high)]
    if isinstance(node, a.Includes | a.Excludes):
        return [literal_json(v) for v in node.values]
    if isinstance(node, a.BoolTest):
        return node.value
    return None


class ExplainPlan:
    """A bound rule's conditions in pre-order, and the generated evaluator."""

    def __init__(self, bound: BoundRule, fields: FieldSet) -> None:
        self.bound = bound
        self.nodes: list[Plan] = []
        self.depths: list[int] = []
        self.children: list[list[int]] = []
        rule = bound.rule
        conds = [r.when for r in rule.rules] if isinstance(rule, a.DecisionTable) else [rule]
        self.roots = [self._index(lower(c, fields, bound.tz, bound.fx), 0) for c in conds]
        self.evaluate = self._generate()

    def _index(self, p: Plan, depth: int) -> int:
        i = len(self.nodes)
        self.nodes.append(p)
        self.depths.append(depth)
        self.children.append([])
        if isinstance(p, AllPlan | AnyPlan):
            self.children[i] = [self._index(c, depth + 1) for c in p.items]
        elif isinstance(p, NotPlan):
            self.children[i] = [self._index(p.item, depth + 1)]
        return i

    def _lines(self, src: Source, i: int) -> list[str]:
        p = self.nodes[i]
        if isinstance(p, LeafPlan):
            checks, test = src.parts(p)
            lines = [f"v{i} = g({src.const(p.field.name)})"]
            if p.test in (Test.EMPTY, Test.NOT_EMPTY):
                return [*lines, f"s{i} = " + test.replace(V, f"v{i}")]
            present = " and ".join([f"{V} is not None", *checks]).replace(V, f"v{i}")
            return [*lines, f"s{i} = ({test.replace(V, f'v{i}')}) if ({present}) else None"]
        kids = self.children[i]
        lines = [line for k in kids for line in self._lines(src, k)]
        if isinstance(p, NotPlan):
            return [*lines, f"s{i} = None if s{kids[0]} is None else not s{kids[0]}"]
        win, lose = (False, True) if isinstance(p, AllPlan) else (True, False)
        wins = " or ".join(f"s{k} is {win}" for k in kids)
        unknown = " or ".join(f"s{k} is None" for k in kids)
        return [*lines, f"s{i} = {win} if ({wins}) else (None if ({unknown}) else {lose})"]

    def _generate(self) -> Callable[[Record], tuple[tuple[Any, ...], tuple[Any, ...]]]:
        src = Source()
        body = ["g = r.get"] + [line for root in self.roots for line in self._lines(src, root)]
        n = range(len(self.nodes))
        values = ", ".join(f"v{i}" if isinstance(self.nodes[i], LeafPlan) else "None" for i in n)
        verdicts = ", ".join(f"s{i}" for i in n)
        body.append(f"return ({values},), ({verdicts},)")
        fn: Callable[[Record], tuple[tuple[Any, ...], tuple[Any, ...]]]
        fn = src.function("explain", body)
        return fn


class Explanation:
    """Verdicts and actual values of one record under one bound rule."""

    __slots__ = ("plan", "values", "verdicts")

    def __init__(
        self, plan: ExplainPlan, values: tuple[Any, ...], verdicts: tuple[Any, ...]
    ) -> None:
        self.plan = plan
        self.values = values
        self.verdicts = verdicts

    @property
    def rule(self) -> a.Rule:
        return self.plan.bound.rule

    @property
    def verdict(self) -> str:
        """yes / no / unknown of a condition (of the outcome's existence for a table)."""
        if isinstance(self.rule, a.DecisionTable):
            return "yes" if self.matching() else "no"
        return WORDS[self.verdicts[0]]

    @property
    def matched(self) -> bool:
        return self.verdict == "yes"

    def matching(self) -> list[int]:
        """Indexes of the table rules whose condition is true."""
        return [n for n, root in enumerate(self.plan.roots) if self.verdicts[root] is True]

    @property
    def outcome(self) -> Any:
        """What :func:`~arpolicy.rules.table_to_python` returns for this record."""
        table = self.rule
        if not isinstance(table, a.DecisionTable):
            return self.matched
        hits = [table.rules[n].then.value for n in self.matching()]
        default = [table.default.value] if table.default is not None else []
        if table.hit_policy is a.HitPolicy.FIRST:
            return hits[0] if hits else (default or [None])[0]
        return hits or default

    # rendering ----------------------------------------------------------------------------
    def leaf_text(self, i: int) -> str:
        p = self.plan.nodes[i]
        assert isinstance(p, LeafPlan)
        actual = show_value(self.values[i], self.plan.bound.tz)
        conversion = self.conversion(i)
        if conversion is not None:
            actual += " = " + conversion_text(conversion)
        return f"{p.field.name} {actual} {rhs(p.node)}: {WORDS[self.verdicts[i]]}"

    def conversion(self, i: int) -> Conversion | None:
        """The conversion of a money value into the currency of the literal it is compared
        with, when the two differ (None otherwise, and for zero, which needs no rate)."""
        p, value = self.plan.nodes[i], self.values[i]
        if not isinstance(value, Money) or not isinstance(p, LeafPlan):
            return None
        lits = [lit for _, lit in a.literals(p.node) if isinstance(lit, a.MoneyLit) and lit.amount]
        if not lits or lits[0].currency == value.currency:
            return None
        bound = self.plan.bound
        rate = bound.fx.get(value.currency, lits[0].currency)
        return Conversion(value, rate, bound.as_of, tuple(lit.amount for lit in lits))

    def _lines(self, i: int, indent: int) -> list[str]:
        p = self.plan.nodes[i]
        pad = "  " * indent
        if isinstance(p, LeafPlan):
            return [pad + self.leaf_text(i)]
        name = "all" if isinstance(p, AllPlan) else "any" if isinstance(p, AnyPlan) else "not"
        lines = [f"{pad}{name}: {WORDS[self.verdicts[i]]}"]
        for k in self.plan.children[i]:
            lines += self._lines(k, indent + 1)
        return lines

    def lines(self) -> list[str]:
        table = self.rule
        if not isinstance(table, a.DecisionTable):
            return self._lines(0, 0)
        lines = [f"decide {table.hit_policy.value}: {json.dumps(self.outcome)}"]
        for n, root in enumerate(self.plan.roots):
            then = json.dumps(table.rules[n].then.value, ensure_ascii=False)
            lines.append(f"  rule {n + 1} then {then}: {WORDS[self.verdicts[root]]}")
            lines += self._lines(root, 2)
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def _json(self, i: int) -> dict[str, Any]:
        p = self.plan.nodes[i]
        verdict = WORDS[self.verdicts[i]]
        if isinstance(p, LeafPlan):
            data: dict[str, Any] = {"field": p.field.name, "op": rhs(p.node).split(" ")[0]}
            data["verdict"] = verdict
            data |= {"actual": json_value(self.values[i]), "text": self.leaf_text(i)}
            conversion = self.conversion(i)
            if conversion is not None:
                data["converted"] = conversion.to_json()
            expected = expected_json(p.node)
            if expected is not None:
                data["expected"] = expected
            return data
        kids = [self._json(k) for k in self.plan.children[i]]
        if isinstance(p, NotPlan):
            return {"not": kids[0], "verdict": verdict}
        return {"all" if isinstance(p, AllPlan) else "any": kids, "verdict": verdict}

    def to_json(self) -> dict[str, Any]:
        table = self.rule
        if not isinstance(table, a.DecisionTable):
            return self._json(0)
        rules = [
            {"rule": n + 1, "then": table.rules[n].then.value, **self._json(root)}
            for n, root in enumerate(self.plan.roots)
        ]
        return {"decide": table.hit_policy.value, "outcome": self.outcome, "rules": rules}

    def __repr__(self) -> str:
        return f"<Explanation {self.verdict}>"


def explainer(bound: BoundRule, fields: FieldSet) -> Callable[[Record], Explanation]:
    """A function explaining records under ``bound`` (compiled once, cached on the rule)."""

    def build() -> Callable[[Record], Explanation]:
        check(bound.rule, fields)
        plan = ExplainPlan(bound, fields)
        evaluate = plan.evaluate

        def explain_one(record: Record) -> Explanation:
            values, verdicts = evaluate(record)
            return Explanation(plan, values, verdicts)

        return explain_one

    result: Callable[[Record], Explanation] = cached(bound, "explain", fields, build)
    return result


def explain(bound: BoundRule, record: Record, fields: FieldSet) -> Explanation:
    """The explanation of one record (compiled on first use, then cached on ``bound``)."""
    slot = bound.compiled.get(id(fields))
    if slot is not None and slot["fields"] is fields and "explain" in slot:
        fn: Callable[[Record], Explanation] = slot["explain"]
        return fn(record)
    return explainer(bound, fields)(record)
