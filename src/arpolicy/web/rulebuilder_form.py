"""The rule builder's form fields <-> the rule's JSON form (:mod:`arpolicy.rules.jsonform`).

The builder posts a tree of fields under one prefix (``rule``); the tree's root is at
``rule.t`` and the ``i``-th child of a node at ``P`` is at ``P.i``::

    P.kind   all | any | not | leaf
    P.field  P.op                                   a leaf's field and operator
    P.v.*    the value: amount, currency, number, text, rel, days, date, bool, range,
             values (several: a multi-select), list (comma-separated)
    P.lo.*  P.hi.*                                  the two ends of ``between``

:func:`draft_of` reads that into a *draft*: the rule's JSON form as far as the user has
filled it in (a blank value is None, a number that is not one stays text), which the rule
language's own reader then checks, so every problem comes back with its JSON path. The
draft turns back into the fields for rendering (:func:`nodes_of`), and the structure
actions (add, remove, negate) edit the draft.
"""

from __future__ import annotations

import dataclasses as dc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arpolicy.rules import Field, FieldSet, Problem, Type
from arpolicy.rules.ast import RANGE_WITH_DAYS, RELATIVE_WITH_DAYS, RangeKind, RelKind
from arpolicy.rules.catalogue import DATES, NUMERIC

Form = Mapping[str, Sequence[str]]
"""Form fields, each with its values (a multi-select sends several)."""
INTEGER = re.compile(r"-?\d+\Z")
ZERO = re.compile(r"[-+]?0*(\.0*)?\Z")
LIST_OPS = ("includes", "excludes")
NO_VALUE = ("is empty", "is not empty")
DEFAULT_OP = {"money": ">", "date": "<", "enum": "includes", "boolean": "is", "text": "="}


def kind_of(f: Field | None) -> str:
    """Which value input a field takes: money, number, date, enum, boolean or text."""
    if f is None:
        return "text"
    if f.type in (Type.MONEY, Type.BASE_MONEY):
        return "money"
    if f.type in NUMERIC:
        return "number"
    if f.type in DATES:
        return "date"
    if f.type is Type.ENUM:
        return "enum"
    if f.type is Type.BOOLEAN:
        return "boolean"
    return "text"


def default_op(f: Field) -> str:
    op = DEFAULT_OP.get(kind_of(f), "=")
    return op if op in f.operators else f.operators[0]


# form -> draft -----------------------------------------------------------------------------
def _one(form: Form, key: str) -> str:
    values = form.get(key) or ()
    return values[0].strip() if values else ""


def _value(form: Form, p: str, f: Field | None) -> Any:
    kind = kind_of(f)
    if kind == "money":
        amount = _one(form, p + ".amount")
        currency = _one(form, p + ".currency").upper()
        if not amount:
            return None
        if ZERO.match(amount):  # zero needs no currency: it compares with every one
            return 0
        return {"amount": amount, "currency": currency}
    if kind == "number":
        text = _one(form, p + ".number")
        if not text:
            return None
        return int(text) if INTEGER.match(text) else {"number": text}
    if kind == "date":
        rel = _one(form, p + ".rel") or RelKind.DAYS_AGO.value
        if rel == "date":
            day = _one(form, p + ".date")
            return {"date": day} if day else None
        if rel in {k.value for k in RELATIVE_WITH_DAYS}:
            return {"relative": rel, "days": _days(_one(form, p + ".days"))}
        return {"relative": rel}
    text = _one(form, p + ".text")
    return text or None


def _days(text: str) -> Any:
    return int(text) if INTEGER.match(text) else (text or None)


def _leaf(form: Form, p: str, fields: FieldSet) -> dict[str, Any]:
    name = _one(form, p + ".field")
    f = fields.get(name)
    op = _one(form, p + ".op")
    if f is not None and (op not in f.operators or _one(form, p + ".type") != f.type.value):
        op = op if op in f.operators else default_op(f)
        if _one(form, p + ".type") != f.type.value:  # another kind of field: start afresh
            return _fresh(name, op, f)
    data: dict[str, Any] = {"field": name, "op": op}
    if op in NO_VALUE:
        return data
    if op == "between":
        return data | {"low": _value(form, p + ".lo", f), "high": _value(form, p + ".hi", f)}
    if op == "is":
        return data | {"value": _one(form, p + ".v.bool") != "no"}
    if op == "in":
        rng = _one(form, p + ".v.range") or RangeKind.LAST_DAYS.value
        value: dict[str, Any] = {"range": rng}
        if rng in {k.value for k in RANGE_WITH_DAYS}:
            value["days"] = _days(_one(form, p + ".v.days"))
        return data | {"value": value}
    if op in LIST_OPS:
        if kind_of(f) == "enum":
            chosen = [v for v in form.get(p + ".v.values") or () if v]
        else:
            chosen = [v.strip() for v in _one(form, p + ".v.list").split(",") if v.strip()]
        return data | {"value": chosen}
    return data | {"value": _value(form, p + ".v", f)}


def _fresh(name: str, op: str, f: Field) -> dict[str, Any]:
    data: dict[str, Any] = {"field": name, "op": op}
    if op == "is":
        return data | {"value": True}
    if op in LIST_OPS:
        return data | {"value": []}
    if op in NO_VALUE:
        return data
    if kind_of(f) == "date":
        return data | {"value": {"relative": "days_ago", "days": 30}}
    return data | {"value": None}


def draft_of(form: Form, p: str, fields: FieldSet) -> dict[str, Any]:
    """The draft of the node at ``p`` (and below)."""
    kind = _one(form, p + ".kind") or "leaf"
    if kind == "leaf":
        return _leaf(form, p, fields)
    children = sorted(
        {int(m.group(1)) for k in form if (m := re.match(re.escape(p) + r"\.(\d+)\.kind\Z", k))}
    )
    items = [draft_of(form, f"{p}.{i}", fields) for i in children]
    if kind == "not":
        return {"not": items[0] if items else blank()}
    return {"any" if kind == "any" else "all": items}


def blank() -> dict[str, Any]:
    return {"field": "", "op": ""}


def submitted_json(draft: dict[str, Any]) -> dict[str, Any]:
    """What the draft says as a rule: a group of one condition is that condition."""
    for key in ("all", "any"):
        if key in draft and len(draft[key]) == 1:
            only: dict[str, Any] = draft[key][0]
            return only
    return draft


def as_root(data: Any) -> dict[str, Any]:
    """The builder always shows a group at the top (so a condition can be added beside)."""
    if isinstance(data, dict) and ("all" in data or "any" in data):
        return data
    return {"all": [data]}


# actions -------------------------------------------------------------------------------
def _at(draft: dict[str, Any], steps: list[int]) -> tuple[list[Any] | None, int, Any]:
    """(the list holding the node, its index, the node) at ``steps`` below the root."""
    holder, index, node = None, -1, draft
    for step in steps:
        key = "all" if "all" in node else "any" if "any" in node else None
        if key is None:
            if "not" not in node:
                raise KeyError(step)
            holder, index = None, -1
            node = node["not"]
            continue
        holder, index, node = node[key], step, node[key][step]
    return holder, index, node


def apply(draft: dict[str, Any], action: str, root: str) -> dict[str, Any]:
    """Apply ``verb:path`` (add, group, remove, negate) to the draft; unknown: unchanged."""
    verb, _, path = action.partition(":")
    if not (path == root or path.startswith(root + ".")):
        return draft
    rest = path[len(root) :].strip(".")
    try:
        steps = [int(s) for s in rest.split(".")] if rest else []
        holder, index, node = _at(draft, steps)
    except (KeyError, IndexError, ValueError):
        return draft
    key = "all" if "all" in node else "any" if "any" in node else None
    if verb == "add" and key:
        node[key].append(blank())
    elif verb == "group" and key:
        node[key].append({"any" if key == "all" else "all": [blank()]})
    elif verb == "remove" and holder is not None:
        del holder[index]
        if not holder:
            holder.append(blank())
    elif verb == "negate" and holder is not None:
        holder[index] = node.get("not", {"not": node})
    return draft


# draft -> nodes to render ----------------------------------------------------------------
@dataclass
class Node:
    """One node of the builder as the template draws it."""

    path: str
    json_path: str
    kind: str
    children: list[Node] = dc.field(default_factory=list)
    field: str = ""
    op: str = ""
    meta: Field | None = None
    value: dict[str, Any] = dc.field(default_factory=dict)
    low: dict[str, Any] = dc.field(default_factory=dict)
    high: dict[str, Any] = dc.field(default_factory=dict)
    problems: list[Problem] = dc.field(default_factory=list)

    @property
    def input(self) -> str:
        return kind_of(self.meta)

    @property
    def operators(self) -> tuple[str, ...]:
        return self.meta.operators if self.meta else (self.op,) if self.op else ()


def parts(value: Any, money: bool = False) -> dict[str, Any]:
    """A JSON value as the builder's value inputs (a bare number of a money field, zero,
    is its amount)."""
    if money and (isinstance(value, int) and not isinstance(value, bool)):
        return {"amount": str(value)}
    if money and isinstance(value, dict) and "number" in value:
        return {"amount": str(value["number"])}
    if isinstance(value, bool):
        return {"bool": "yes" if value else "no"}
    if isinstance(value, list):
        texts = [str(v) for v in value]
        return {"values": texts, "list": ", ".join(texts)}
    if isinstance(value, int):
        return {"number": str(value)}
    if isinstance(value, str):
        return {"text": value}
    if not isinstance(value, dict):
        return {}
    if "amount" in value:
        return {"amount": str(value["amount"]), "currency": str(value.get("currency", ""))}
    if "number" in value:
        return {"number": str(value["number"])}
    if "date" in value:
        return {"rel": "date", "date": str(value["date"])}
    if "relative" in value:
        days = value.get("days")
        return {"rel": str(value["relative"]), "days": "" if days is None else str(days)}
    if "range" in value:
        days = value.get("days")
        return {"range": str(value["range"]), "days": "" if days is None else str(days)}
    return {}


def nodes_of(data: Any, path: str, json_path: str, fields: FieldSet) -> Node:
    if isinstance(data, dict) and ("all" in data or "any" in data):
        key = "all" if "all" in data else "any"
        kids = [
            nodes_of(item, f"{path}.{i}", f"{json_path}.{key}[{i}]", fields)
            for i, item in enumerate(data[key])
        ]
        return Node(path, json_path, key, kids)
    if isinstance(data, dict) and "not" in data:
        return Node(
            path, json_path, "not", [nodes_of(data["not"], path + ".0", json_path + ".not", fields)]
        )
    data = data if isinstance(data, dict) else {}
    name = str(data.get("field") or "")
    meta = fields.get(name)
    money = kind_of(meta) == "money"
    return Node(
        path,
        json_path,
        "leaf",
        field=name,
        op=str(data.get("op") or ""),
        meta=meta,
        value=parts(data.get("value"), money),
        low=parts(data.get("low"), money),
        high=parts(data.get("high"), money),
    )


def place(node: Node, problems: list[Problem]) -> list[Problem]:
    """Give each problem to the deepest node its JSON path falls under; the rest back."""
    for child in node.children:
        problems = place(child, problems)
    mine = [
        p
        for p in problems
        if node.kind == "leaf"
        and (p.path == node.json_path or p.path.startswith(node.json_path + "."))
    ]
    node.problems += mine
    return [p for p in problems if p not in mine]
