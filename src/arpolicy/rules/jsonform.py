"""The JSON form of a rule: what the API stores.

::

    {"all": [c, ...]}   {"any": [c, ...]}   {"not": c}
    {"field": "balance", "op": ">", "value": {"amount": "500", "currency": "USD"}}
    {"field": "days_past_due", "op": "between", "low": 30, "high": {"number": "60.5"}}
    {"field": "currency", "op": "includes", "value": ["USD", "EUR"]}
    {"field": "phone", "op": "is empty"}            {"field": "phone", "op": "is not empty"}
    {"field": "disputed", "op": "is", "value": false}
    {"field": "due_date", "op": "<", "value": {"relative": "days_ago", "days": 30}}
    {"field": "document_date", "op": "in", "value": {"range": "last_days", "days": 15}}
    {"decide": "first", "rules": [{"when": c, "then": <json>}], "otherwise": <json>}

Values: a string is a string (or enum value, or code); a JSON integer or
``{"number": "12.5"}`` is a number; ``{"amount", "currency"}`` is money;
``{"date": "2026-01-31"}`` a date; ``{"relative": kind, "days": n}`` a relative date.
Floats are refused (money never goes through float).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import Any

from arpolicy.rules import ast as a
from arpolicy.rules.errors import Problem, RuleError
from arpolicy.rules.limits import MAX_DEPTH, MAX_LIST, MAX_NODES, check_limits
from arpolicy.rules.printer import number

OPS = (*a.COMPARE_OPS, "between", "includes", "excludes", "is empty", "is not empty", "is", "in")


# AST -> JSON -----------------------------------------------------------------------------
def literal_json(lit: a.Literal) -> Any:
    if isinstance(lit, a.MoneyLit):
        return {"amount": number(lit.amount), "currency": lit.currency}
    if isinstance(lit, a.NumberLit):
        exp = lit.value.as_tuple().exponent
        if isinstance(exp, int) and exp >= 0:
            return int(lit.value)
        return {"number": number(lit.value)}
    if isinstance(lit, a.DateLit):
        data = {"date": lit.value.isoformat()}
        if lit.phrase:
            data["phrase"] = lit.phrase
        return data
    if isinstance(lit, a.RelativeDate):
        if lit.kind in a.RELATIVE_WITH_DAYS:
            return {"relative": lit.kind.value, "days": lit.days}
        return {"relative": lit.kind.value}
    return lit.value


def to_json(rule: a.Rule | a.TableRule) -> Any:
    if isinstance(rule, a.DecisionTable):
        data: dict[str, Any] = {
            "decide": rule.hit_policy.value,
            "rules": [{"when": to_json(r.when), "then": r.then.value} for r in rule.rules],
        }
        if rule.default is not None:
            data["otherwise"] = rule.default.value
        return data
    if isinstance(rule, a.All):
        return {"all": [to_json(i) for i in rule.items]}
    if isinstance(rule, a.Any):
        return {"any": [to_json(i) for i in rule.items]}
    if isinstance(rule, a.Not):
        return {"not": to_json(rule.item)}
    if isinstance(rule, a.Compare):
        return {"field": rule.field, "op": rule.op, "value": literal_json(rule.value)}
    if isinstance(rule, a.Between):
        low, high = literal_json(rule.low), literal_json(rule.high)
        return {"field": rule.field, "op": "between", "low": low, "high": high}
    if isinstance(rule, a.Includes | a.Excludes):
        op = "includes" if isinstance(rule, a.Includes) else "excludes"
        return {"field": rule.field, "op": op, "value": [literal_json(v) for v in rule.values]}
    if isinstance(rule, a.IsEmpty):
        return {"field": rule.field, "op": "is not empty" if rule.negated else "is empty"}
    if isinstance(rule, a.BoolTest):
        return {"field": rule.field, "op": "is", "value": rule.value}
    if isinstance(rule, a.InRange):
        value: dict[str, Any] = {"range": rule.range.kind.value}
        if rule.range.kind in a.RANGE_WITH_DAYS:
            value["days"] = rule.range.days
        return {"field": rule.field, "op": "in", "value": value}
    raise TypeError(f"not a rule node: {rule!r}")


# JSON -> AST -----------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, path: str, what: str, fix: str) -> None:
        self.problem = Problem(path, what, fix)


def _keys(data: Any, path: str, required: set[str], optional: Collection[str] = ()) -> None:
    if not isinstance(data, dict):
        raise _Bad(path, f"expected an object, got {_kind(data)}", "see the rule JSON format")
    missing = required - set(data)
    if missing:
        raise _Bad(path, f"missing {', '.join(sorted(missing))}", f"add {sorted(missing)[0]!r}")
    extra = set(data) - required - set(optional)
    if extra:
        allowed = ", ".join(sorted(required | set(optional)))
        raise _Bad(path, f"unknown key {sorted(extra)[0]!r}", f"use only: {allowed}")


def _kind(v: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    return names.get(type(v), "a number" if isinstance(v, int | float) else type(v).__name__)


def _decimal(v: Any, path: str) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, int | str):
        fix = 'write decimals as strings, e.g. "12.50"'
        raise _Bad(path, f"expected a number as a string, got {_kind(v)}", fix)
    try:
        d = Decimal(v) if isinstance(v, int) else Decimal(v.strip())
    except InvalidOperation:
        raise _Bad(path, f"{v!r} is not a number", 'write e.g. "12.50"') from None
    if not d.is_finite():
        raise _Bad(path, f"{v!r} is not a finite number", 'write e.g. "12.50"')
    return d


def _days(v: Any, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad(path, f"days must be a whole number, got {_kind(v)}", "write e.g. 30")
    return v


def _enum(cls: Any, v: Any, path: str, what: str) -> Any:
    try:
        return cls(v)
    except (ValueError, TypeError):
        allowed = [m.value for m in cls]
        near = get_close_matches(str(v), allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise _Bad(
            path, f"{v!r} is not a {what}", hint + "use one of: " + ", ".join(allowed)
        ) from None


def literal_from_json(v: Any, path: str) -> a.Literal:
    if isinstance(v, str):
        return a.StringLit(v)
    if isinstance(v, bool):
        raise _Bad(path, "true / false only goes with op 'is'", 'use {"op": "is", "value": true}')
    if isinstance(v, int):
        return a.NumberLit(Decimal(v))
    if isinstance(v, float):
        raise _Bad(path, f"{v!r} is a floating-point number", f'write {{"number": "{v}"}}')
    if not isinstance(v, dict):
        raise _Bad(path, f"expected a value, got {_kind(v)}", "give one value, not a list")
    if "amount" in v or "currency" in v:
        _keys(v, path, {"amount", "currency"})
        if not isinstance(v["currency"], str):
            raise _Bad(path + ".currency", "expected a currency code", 'write e.g. "USD"')
        return a.MoneyLit(_decimal(v["amount"], path + ".amount"), v["currency"])
    if "number" in v:
        _keys(v, path, {"number"})
        return a.NumberLit(_decimal(v["number"], path + ".number"))
    if "date" in v:
        _keys(v, path, {"date"}, {"phrase"})
        try:
            value = date.fromisoformat(v["date"])
        except (TypeError, ValueError):
            raise _Bad(path + ".date", f"{v['date']!r} is not a date", "write YYYY-MM-DD") from None
        phrase = v.get("phrase")
        if phrase is not None and not isinstance(phrase, str):
            raise _Bad(path + ".phrase", "expected a string", "drop it or give a string")
        return a.DateLit(value, phrase)
    if "relative" in v:
        kind = _enum(a.RelKind, v["relative"], path + ".relative", "relative date")
        if kind in a.RELATIVE_WITH_DAYS:
            _keys(v, path, {"relative", "days"})
            return a.RelativeDate(kind, _days(v["days"], path + ".days"))
        _keys(v, path, {"relative"})
        return a.RelativeDate(kind)
    raise _Bad(
        path,
        f"unknown value {sorted(v)}",
        'use a string, an integer, {"number"}, {"amount", "currency"}, {"date"} or {"relative"}',
    )


def _list(v: Any, path: str, most: int = MAX_LIST) -> list[Any]:
    if not isinstance(v, list):
        raise _Bad(path, f"expected a list, got {_kind(v)}", 'write e.g. ["USD", "EUR"]')
    if len(v) > most:
        raise _Bad(path, f"the list has {len(v)} items, more than {most}", "shorten it")
    return v


def condition_from_json(data: Any, path: str, depth: int = 0) -> a.Condition:
    if depth > MAX_DEPTH + 1:
        raise _Bad(path, f"conditions are nested deeper than {MAX_DEPTH}", "flatten the rule")
    if isinstance(data, dict) and len(data) == 1 and ("all" in data or "any" in data):
        key = "all" if "all" in data else "any"
        items = _list(data[key], f"{path}.{key}", MAX_NODES)
        if not items:
            raise _Bad(f"{path}.{key}", f"{key} has no conditions", f"add conditions or drop {key}")
        conds = tuple(
            condition_from_json(x, f"{path}.{key}[{i}]", depth + 1) for i, x in enumerate(items)
        )
        return a.All(conds) if key == "all" else a.Any(conds)
    if isinstance(data, dict) and "not" in data:
        _keys(data, path, {"not"})
        return a.Not(condition_from_json(data["not"], path + ".not", depth + 1))
    if isinstance(data, dict) and "field" not in data and len(data) == 1:
        key = next(iter(data))
        near = get_close_matches(str(key), ["all", "any", "not", "field"], n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise _Bad(path, f"unknown key {key!r}", hint + "a condition is all, any, not or a field")
    _keys(data, path, {"field", "op"}, {"value", "low", "high"})
    return _leaf(data, path)


def _leaf(data: dict[str, Any], path: str) -> a.Leaf:
    field, op = data["field"], data["op"]
    if not isinstance(field, str) or not field:
        raise _Bad(path + ".field", "expected a field name", 'write e.g. "balance"')
    if op not in OPS:
        near = get_close_matches(str(op), OPS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise _Bad(path + ".op", f"unknown operator {op!r}", hint + "use one of: " + ", ".join(OPS))
    if op == "between":
        _keys(data, path, {"field", "op", "low", "high"})
        low = literal_from_json(data["low"], path + ".low")
        return a.Between(field, low, literal_from_json(data["high"], path + ".high"))
    if op in ("is empty", "is not empty"):
        _keys(data, path, {"field", "op"})
        return a.IsEmpty(field, op == "is not empty")
    _keys(data, path, {"field", "op", "value"})
    value, vpath = data["value"], path + ".value"
    if op == "is":
        if not isinstance(value, bool):
            raise _Bad(vpath, f"expected true or false, got {_kind(value)}", "write true or false")
        return a.BoolTest(field, value)
    if op in ("includes", "excludes"):
        values = tuple(
            literal_from_json(x, f"{vpath}[{i}]") for i, x in enumerate(_list(value, vpath))
        )
        return a.Includes(field, values) if op == "includes" else a.Excludes(field, values)
    if op == "in":
        _keys(value, vpath, {"range"}, {"days"})
        kind = _enum(a.RangeKind, value["range"], vpath + ".range", "date range")
        if kind in a.RANGE_WITH_DAYS:
            _keys(value, vpath, {"range", "days"})
            return a.InRange(field, a.DateRange(kind, _days(value["days"], vpath + ".days")))
        _keys(value, vpath, {"range"})
        return a.InRange(field, a.DateRange(kind))
    return a.Compare(field, op, literal_from_json(value, vpath))


def _table(data: dict[str, Any]) -> a.DecisionTable:
    _keys(data, "$", {"decide", "rules"}, {"otherwise"})
    policy = _enum(a.HitPolicy, data["decide"], "$.decide", "hit policy")
    rules = []
    for i, item in enumerate(_list(data["rules"], "$.rules", MAX_NODES)):
        path = f"$.rules[{i}]"
        _keys(item, path, {"when", "then"})
        rules.append(
            a.TableRule(condition_from_json(item["when"], path + ".when"), a.Outcome(item["then"]))
        )
    if not rules:
        raise _Bad("$.rules", "the table has no rules", "add at least one {when, then}")
    default = a.Outcome(data["otherwise"]) if "otherwise" in data else None
    return a.DecisionTable(policy, tuple(rules), default)


def from_json(data: Any) -> a.Rule:
    """Read a rule from its JSON form, checking shape and size (not fields: see ``check``)."""
    try:
        rule: a.Rule = (
            _table(data)
            if isinstance(data, dict) and "decide" in data
            else condition_from_json(data, "$")
        )
    except _Bad as bad:
        raise RuleError([bad.problem]) from None
    check_limits(rule)
    return rule
