"""Type-check a rule against one level of the catalogue, collecting every problem.

Each problem says where (JSON path, and line/column for parsed text), what, and how to fix
it: unknown fields get the nearest names, wrong operators the allowed ones, bad literals an
example of a good one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from difflib import get_close_matches

import pycountry

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import check_currency, exponent
from arpolicy.rules import ast as a
from arpolicy.rules.catalogue import DATES, Field, FieldSet, Type
from arpolicy.rules.errors import Problem, RuleError, problem
from arpolicy.rules.limits import limit_problems
from arpolicy.rules.printer import literal as show

EXAMPLES = {
    Type.NUMBER: "12.5",
    Type.INTEGER: "30",
    Type.DATE: "2026-01-31 or 30 days ago",
    Type.DATETIME: "2026-01-31 or 30 days ago",
    Type.STRING: '"text"',
}
LANGUAGE = re.compile(r"[a-z]{2,3}\Z")


def op_of(node: a.Leaf) -> str:
    if isinstance(node, a.Compare):
        return node.op
    if isinstance(node, a.IsEmpty):
        return "is not empty" if node.negated else "is empty"
    return {
        a.Between: "between",
        a.Includes: "includes",
        a.Excludes: "excludes",
        a.BoolTest: "is",
        a.InRange: "in",
    }[type(node)]


class _Checker:
    def __init__(self, fields: FieldSet) -> None:
        self.fields = fields
        self.problems: list[Problem] = []

    def add(self, path: str, node: object, what: str, fix: str) -> None:
        self.problems.append(problem(path, getattr(node, "pos", None), what, fix))

    def leaf(self, path: str, node: a.Leaf) -> None:
        f = self.fields.get(node.field)
        if f is None:
            near = self.fields.nearest(node.field)
            fix = (
                f"did you mean {' or '.join(near)}?"
                if near
                else f"see the {self.fields.level.value} fields in the catalogue"
            )
            self.add(path + ".field", node, f"unknown field {node.field!r}", fix)
            return
        op = op_of(node)
        if op not in f.operators:
            self.add(path + ".op", node, *self.wrong_op(f, op))
            return
        for suffix, lit in a.literals(node):
            self.literal(path + suffix, node, f, lit)
        if isinstance(node, a.Between):
            self.between(path, node, f)

    def wrong_op(self, f: Field, op: str) -> tuple[str, str]:
        allowed = ", ".join(f.operators)
        if op == "is":
            return (
                f"{f.name} is {f.type.value}, not yes/no",
                f"compare it, e.g. {f.name} {f.operators[0]} ...; allowed: {allowed}",
            )
        if op in ("is empty", "is not empty"):
            return f"{f.name} always has a value", f"drop the test; allowed: {allowed}"
        return f"operator {op!r} does not apply to {f.name} ({f.type.value})", f"use {allowed}"

    def literal(self, path: str, node: a.Leaf, f: Field, lit: a.Literal) -> None:
        at = lit if lit.pos is not None else node
        bad = self.literal_problem(f, lit)
        if bad:
            self.add(path, at, *bad)

    def literal_problem(self, f: Field, lit: a.Literal) -> tuple[str, str] | None:
        t = f.type
        given = show(lit)
        if t in (Type.MONEY, Type.BASE_MONEY):
            if isinstance(lit, a.NumberLit) and lit.value == 0:
                return None  # zero is zero in every currency
            if not isinstance(lit, a.MoneyLit):
                ccy = f.currency or self.fields.base_currency
                amount = given if isinstance(lit, a.NumberLit) else "500"
                return (
                    f"{f.name} is money; {given} has no currency",
                    f"write e.g. {amount} {ccy} (only a bare 0 needs none)",
                )
            return self.money(lit)
        if t in (Type.NUMBER, Type.INTEGER):
            if not isinstance(lit, a.NumberLit):
                return f"{f.name} is a number; {given} is not", f"write e.g. {EXAMPLES[t]}"
            if t is Type.INTEGER and lit.value != lit.value.to_integral_value():
                return f"{f.name} is a whole number; {given} is not", "write e.g. 30"
            return None
        if t in DATES:
            if not isinstance(lit, a.DateLit | a.RelativeDate):
                return f"{f.name} is a date; {given} is not", f"write e.g. {EXAMPLES[t]}"
            return None
        if not isinstance(lit, a.StringLit):
            return f"{f.name} is {t.value}; {given} is not", 'write a word or a "quoted string"'
        if lit.bare_words and f.code != "user":
            return (
                f"{given} is several bare words",
                f'quote a value with spaces ("{lit.value}"), or join conditions with and / or',
            )
        if t is Type.ENUM and f.canonical(lit.value) not in f.values:
            near = get_close_matches(lit.value, f.values, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            allowed = ", ".join(f.values)
            return f"{lit.value!r} is not a {f.name}", f"{hint}use one of: {allowed}"
        if t is Type.CODE:
            return self.code(f, lit.value)
        return None

    def money(self, lit: a.MoneyLit) -> tuple[str, str] | None:
        """Any currency will do: an amount in another one compares at the evaluation date's
        rate (see arpolicy.rules.fx)."""
        bad = _currency(lit.currency)
        if bad:
            return bad
        places = exponent(lit.currency)
        if lit.amount != lit.amount.quantize(Decimal(1).scaleb(-places)):
            return (
                f"{show(lit)} has more decimals than {lit.currency} allows ({places})",
                f"round it to {places} decimals",
            )
        return None

    def code(self, f: Field, value: str) -> tuple[str, str] | None:
        if f.code == "currency":
            return _currency(value)
        if f.code == "country" and not (value.isupper() and _country(value)):
            hint = value.upper() if _country(value.upper()) else None
            fix = f"country codes are upper case: {hint}" if hint else "use e.g. DE, US, FR"
            return f"{value!r} is not an ISO 3166-1 alpha-2 country code", fix
        if f.code == "language" and not LANGUAGE.match(value):
            return f"{value!r} is not an ISO 639 language code", "use lower case, e.g. en, de"
        if f.code == "user" and f.directory is not None:
            return f.directory.problem(f.name, value)
        return None

    def between(self, path: str, node: a.Between, f: Field) -> None:
        low, high = node.low, node.high
        if isinstance(low, a.MoneyLit) and isinstance(high, a.MoneyLit):
            if low.currency != high.currency:
                self.add(path, node, "the two ends are in different currencies", "use one")
            elif low.amount > high.amount:
                self.add(path, node, *_empty_range(low, high))
        elif isinstance(low, a.NumberLit | a.DateLit) and type(low) is type(high):
            # Dates resolved from relative phrases (a bound rule) may cross on some days:
            # that range is then empty for that day, not a mistake in the rule.
            resolved = getattr(low, "phrase", None) or getattr(high, "phrase", None)
            if not resolved and low.value > high.value:  # type: ignore[operator]
                self.add(path, node, *_empty_range(low, high))
        elif isinstance(low, a.RelativeDate) and isinstance(high, a.RelativeDate):
            lo, hi = _offset(low), _offset(high)
            if lo is not None and hi is not None and lo > hi:
                self.add(path, node, *_empty_range(low, high))


def _currency(code: str) -> tuple[str, str] | None:
    try:
        check_currency(code)
    except ValidationError:
        what = f"{code!r} is not an ISO 4217 currency code"
        upper = code.upper()
        if upper != code and _currency(upper) is None:
            return what, f"currency codes are upper case: {upper}"
        return what, "use a three-letter ISO 4217 code such as USD, EUR, GBP or JPY"
    return None


def _country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def _offset(r: a.RelativeDate) -> int | None:
    """Where a day-based relative date falls from today (business days keep the order)."""
    if r.kind is a.RelKind.TODAY:
        return 0
    if r.kind in (a.RelKind.DAYS_AGO, a.RelKind.BUSINESS_DAYS_AGO):
        return -r.days
    if r.kind in (a.RelKind.IN_DAYS, a.RelKind.IN_BUSINESS_DAYS):
        return r.days
    return None


def _empty_range(low: a.Literal, high: a.Literal) -> tuple[str, str]:
    return (
        f"between {show(low)} and {show(high)} is empty: the low end is above the high end",
        f"swap them: between {show(high)} and {show(low)}",
    )


def problems(rule: a.Rule, fields: FieldSet) -> list[Problem]:
    """Every problem with ``rule`` at ``fields``' level (empty when it is fine)."""
    checker = _Checker(fields)
    checker.problems.extend(limit_problems(rule))
    for path, node in a.walk(rule):
        if isinstance(node, a.LEAVES):
            checker.leaf(path, node)
    return checker.problems


def check(rule: a.Rule, fields: FieldSet) -> a.Rule:
    """Raise :class:`RuleError` listing every problem; return the rule when there is none."""
    found = problems(rule, fields)
    if found:
        raise RuleError(found)
    return rule
