"""Compile a bound rule to a Python function over one record.

The typed plan (lowering.py) is turned into Python source and ``compile()``-d once. No text
from the rule ever reaches the source: field names, values, currencies and sets are bound
as constants ``_c0, _c1, ...`` in the function's namespace; operators come from a fixed
table; the only other names are generated (``r``, ``g``, ``v0``, ``s0``). The namespace has
no builtins. So a rule cannot execute code, whatever its JSON or text says.

Kleene logic without three-valued arithmetic: each node is compiled for the polarity it is
needed in, ``T(n)`` (true when n is *true*) or ``F(n)`` (true when n is *false*):
``T(all) = T(a) and T(b)``, ``F(all) = F(a) or F(b)``, ``T(not a) = F(a)``, and a leaf is
``present and test`` / ``present and not test``. A missing value makes both false (unknown),
so ``not`` of an unknown test never matches. The result is ``T(root)``, a plain bool.

Speed: the function first tries a fast path that reads non-nullable fields with ``r[key]``
and drops the ``is not None`` guard wherever a missing value either raises (ordering
comparisons, money attributes) or already gives False (``x == c`` in T, ``x in s`` in T,
booleans); a record with a missing required field raises KeyError / TypeError /
AttributeError there and is evaluated again by the fully guarded path, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from arpolicy.rules import ast as a
from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import FieldSet
from arpolicy.rules.checker import check
from arpolicy.rules.fx import Thresholds
from arpolicy.rules.lowering import (
    AllPlan,
    AnyPlan,
    LeafPlan,
    NotPlan,
    Plan,
    Test,
    Threshold,
    lower,
)

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
V = "{V}"
RAISES_ON_NONE = frozenset(
    {Test.MONEY_CMP, Test.MONEY_BETWEEN, Test.BETWEEN, Test.HALF_OPEN, Test.OUTSIDE}
)


def none_is_false(p: LeafPlan, want: bool) -> bool:
    """Whether the unguarded test is already False for a missing value in this polarity."""
    if p.fold:  # None.lower() raises
        return False
    if p.test is Test.BOOL:
        return True
    if p.test is Test.CMP and p.op in ("==", "!="):
        return (p.op == "==") is want
    if p.test in (Test.IN, Test.NOT_IN):
        return (p.test is Test.IN) is want
    return False


def none_raises(p: LeafPlan) -> bool:
    return p.fold or p.test in RAISES_ON_NONE or (p.test is Test.CMP and p.op not in ("==", "!="))


class Source:
    """Python source under construction, with its constants."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": {}}
        self.vars = 0
        self.uses_get = False
        self.uses_index = False

    def const(self, value: Any) -> str:
        name = f"_c{len(self.namespace) - 1}"
        self.namespace[name] = value
        return name

    def parts(self, p: LeafPlan) -> tuple[list[str], str]:
        """``(checks, test)`` of a leaf, the value written ``{V}``; ``checks`` exclude the
        ``is not None`` guard, which callers add when they need it."""
        c, t = self.const, p.test
        checks: list[str] = []
        if p.fold:  # a string compared case-insensitively: its constants are folded
            folded = f"{V}.lower()"
            if t is Test.CMP:
                return checks, f"{folded} {p.op} {c(p.consts[0])}"
            return checks, f"{folded} {'in' if t is Test.IN else 'not in'} {c(p.consts[0])}"
        if t is Test.EMPTY:
            return checks, f"{V} is None"
        if t is Test.NOT_EMPTY:
            return checks, f"{V} is not None"
        if t is Test.CMP:
            return checks, f"{V} {p.op} {c(p.consts[0])}"
        if t is Test.MONEY_CMP:
            return checks, f"{V}.amount {p.op} {self.threshold(p.consts[0])}"
        if t is Test.MONEY_BETWEEN:
            low, high = map(self.threshold, p.consts)
            return checks, f"{low} <= {V}.amount <= {high}"
        if t in (Test.BETWEEN, Test.HALF_OPEN):
            upper = "<=" if t is Test.BETWEEN else "<"
            return checks, f"{c(p.consts[0])} <= {V} {upper} {c(p.consts[1])}"
        if t is Test.OUTSIDE:
            return checks, f"({V} < {c(p.consts[0])} or {V} >= {c(p.consts[1])})"
        if t in (Test.IN, Test.NOT_IN):
            return checks, f"{V} {'in' if t is Test.IN else 'not in'} {c(p.consts[0])}"
        if t is Test.BOOL:
            return checks, f"{V} == {c(p.consts[0])}"
        raise AssertionError(t)

    def threshold(self, t: Threshold) -> str:
        """A money bound: one constant, or the bound of the value's currency."""
        if isinstance(t, Thresholds):
            return f"{self.const(t)}[{V}.currency]"
        return self.const(t)

    def bind_value(self, expr: str, access: str) -> str:
        """Put the record access at the first use of the value (with := when reused)."""
        if expr.count(V) == 1 or access.isidentifier():
            return expr.replace(V, access)
        self.vars += 1
        v = f"v{self.vars - 1}"
        return expr.replace(V, f"({v} := {access})", 1).replace(V, v)

    def leaf(self, p: LeafPlan, want: bool, fast: bool) -> str:
        checks, test = self.parts(p)
        if p.test in (Test.EMPTY, Test.NOT_EMPTY):
            guard, test = False, test if want else f"not ({test})"
        else:
            unguarded = none_is_false(p, want) or (fast and not p.field.nullable and none_raises(p))
            guard = not unguarded
            test = test if want else self.negate(p, test)
        key = self.const(p.field.name)
        index = fast and not p.field.nullable and p.test not in (Test.EMPTY, Test.NOT_EMPTY)
        self.uses_index |= index
        self.uses_get |= not index
        access = f"r[{key}]" if index else f"g({key})"
        expr = " and ".join(([f"{V} is not None"] if guard else []) + checks + [test])
        return "(" + self.bind_value(expr, access) + ")"

    def negate(self, p: LeafPlan, test: str) -> str:
        if p.test is Test.BOOL:
            return test.rsplit(" == ", 1)[0] + f" == {self.const(not p.consts[0])}"
        if p.test is Test.CMP and p.op in ("==", "!="):
            return test.replace(f" {p.op} ", " != " if p.op == "==" else " == ", 1)
        if p.test in (Test.IN, Test.NOT_IN):
            return (
                test.replace(" not in ", " in ")
                if p.test is Test.NOT_IN
                else test.replace(" in ", " not in ", 1)
            )
        return f"not ({test})"

    def truth(self, p: Plan, want: bool, fast: bool = False) -> str:
        """An expression true exactly when ``p`` evaluates to ``want`` (never when unknown)."""
        if isinstance(p, NotPlan):
            return self.truth(p.item, not want, fast)
        if isinstance(p, AllPlan | AnyPlan):
            joiner = " and " if isinstance(p, AllPlan) is want else " or "
            return "(" + joiner.join(self.truth(i, want, fast) for i in p.items) + ")"
        return self.leaf(p, want, fast)

    def guarded(self, plan: Plan, emit: Callable[[str], list[str]]) -> list[str]:
        """Body lines: the fast path in ``try``, the guarded path after it."""
        self.uses_get = self.uses_index = False
        fast = self.truth(plan, True, fast=True)
        fast_get, fast_index = self.uses_get, self.uses_index
        safe = self.truth(plan, True)
        if not fast_index:
            return ["g = r.get", *emit(safe)]
        errors = self.const((KeyError, TypeError, AttributeError))
        head = ["g = r.get"] if fast_get else []
        body = [f"    {line}" for line in emit(fast)]
        return [*head, "try:", *body, f"except {errors}:", "    pass", "g = r.get", *emit(safe)]

    def assign(self, plan: Plan, target: str) -> list[str]:
        """Lines setting ``target`` to T(plan), fast path first (``g`` must be bound)."""
        self.uses_index = False
        fast = self.truth(plan, True, fast=True)
        if not self.uses_index:
            return [f"{target} = {fast}"]
        errors = self.const((KeyError, TypeError, AttributeError))
        safe = self.truth(plan, True)
        return ["try:", f"    {target} = {fast}", f"except {errors}:", f"    {target} = {safe}"]

    def function(self, name: str, body: list[str]) -> Callable[..., Any]:
        text = f"def {name}(r):\n" + "".join(f"    {line}\n" for line in body)
        code = compile(text, f"<rule {name}>", "exec")
        exec(code, self.namespace)
        fn: Callable[..., Any] = self.namespace[name]
        fn.__source__ = text  # type: ignore[attr-defined]
        return fn


def cached(bound: BoundRule, key: str, fields: FieldSet, build: Callable[[], Any]) -> Any:
    """Compile once per (bound rule, compiler, field set); the cache lives on the rule."""
    slot = bound.compiled.get(id(fields))
    if slot is None or slot["fields"] is not fields:
        slot = bound.compiled[id(fields)] = {"fields": fields}
    value = slot.get(key)
    if value is None:
        value = slot[key] = build()
    return value


def _condition(bound: BoundRule, fields: FieldSet) -> a.Condition:
    if isinstance(bound.rule, a.DecisionTable):
        raise TypeError("this rule is a decision table: compile it with table_to_python")
    check(bound.rule, fields)
    return bound.rule


def to_python(bound: BoundRule, fields: FieldSet) -> Predicate:
    """``fn(record) -> bool``: True only when the condition is true for the record.

    Compiled once per field set (the rule is checked against it first, so a rule that
    does not fit raises :class:`~arpolicy.rules.RuleError` here, never at run time)."""

    def build() -> Predicate:
        src = Source()
        plan = lower(_condition(bound, fields), fields, bound.tz, bound.fx)
        fn: Predicate = src.function("rule", src.guarded(plan, lambda e: [f"return {e}"]))
        return fn

    result: Predicate = cached(bound, "python", fields, build)
    return result


def table_to_python(bound: BoundRule, fields: FieldSet) -> Callable[[Record], Any]:
    """``fn(record)``: for ``first`` the winning outcome (or the default, or None); for
    ``collect`` the list of matching outcomes (or ``[default]``, or ``[]``)."""
    table = bound.rule
    if not isinstance(table, a.DecisionTable):
        raise TypeError("this rule is a condition: compile it with to_python")

    def build() -> Callable[[Record], Any]:
        check(table, fields)
        src = Source()
        first = table.hit_policy is a.HitPolicy.FIRST
        body = ["g = r.get"] if first else ["g = r.get", "out = []"]
        for rule in table.rules:
            body += src.assign(lower(rule.when, fields, bound.tz, bound.fx), "hit")
            outcome = src.const(rule.then.value)
            body += ["if hit:", f"    return {outcome}" if first else f"    out.append({outcome})"]
        default = src.const(table.default.value if table.default is not None else None)
        if first:
            body.append(f"return {default}")
        else:
            if table.default is not None:
                body += ["if not out:", f"    out.append({default})"]
            body.append("return out")
        fn: Callable[[Record], Any] = src.function("table", body)
        return fn

    result: Callable[[Record], Any] = cached(bound, "table", fields, build)
    return result
