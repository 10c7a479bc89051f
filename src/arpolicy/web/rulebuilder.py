"""The rule builder: the component every screen that edits a rule embeds
(``{% include "rulebuilder/builder.html" %}`` with ``rb`` in its context; docs/web/rule-builder.md).

The builder and the rule's text are two views of one rule, kept in step by the server
with the rule language's own reader, checker and printer: an edit of the builder comes
back with the canonical text, an edit of the text comes back as the builder, and every
problem (where, what, how to fix) is drawn beside the condition or the text it is about.
A valid rule also shows what it selects (the same preview as ``POST /v1/rules/preview``).

A screen builds the component with :func:`start` (a stored rule, or a blank one) and, when
its form comes back, reads it with :func:`from_form`: ``rb.valid`` and ``rb.rule_json``
say what to store, and ``rb`` redraws the component with its problems otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.exceptions import ArpolicyError
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection.preview import explain_one, labels, preview
from arpolicy.models import Tenant
from arpolicy.rules import (
    FieldSet,
    Level,
    Problem,
    Rule,
    RuleError,
    bind,
    check,
    intake,
    to_json,
    to_text,
)
from arpolicy.rules.ast import DecisionTable
from arpolicy.web import rulebuilder_form as rf
from arpolicy.web.rulebuilder_form import Form, Node

ENDPOINT = "/rules/builder"
FIRST = 10
"""Matches listed under a valid rule."""


@dataclass
class Sample:
    """What a valid rule selects: the count, the first matches, advice, an explanation."""

    as_of: date
    matches: int
    rows: list[tuple[int, str, str]]
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    explanation: dict[str, Any] | None = None
    label: str = ""
    """The explained record's number or id and name."""


@dataclass
class Builder:
    """Everything ``rulebuilder/builder.html`` draws."""

    prefix: str
    level: str
    tree: Node
    text: str
    synced: str
    fields: FieldSet
    choose_level: bool = False
    show_preview: bool = True
    valid: bool = False
    rule_json: Any = None
    canonical: str = ""
    """The valid rule's canonical text (what a screen stores when it keeps text)."""
    text_problems: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    stale: bool = False
    table: bool = False
    endpoint: str = ENDPOINT

    @property
    def id(self) -> str:
        return "rb-" + self.prefix.replace(".", "-")

    @property
    def levels(self) -> list[str]:
        return [lv.value for lv in Level]

    @property
    def field_groups(self) -> list[tuple[str, list[Any]]]:
        """The catalogue as the field picker groups it: the level's own, the customer's
        (below the customer level), custom fields."""
        groups: dict[str, list[Any]] = {"own": [], "customer": [], "custom": []}
        for f in self.fields.values():
            custom = f.name.startswith(("cf.", "customer.cf."))
            below = f.name.startswith("customer.")
            groups["custom" if custom else "customer" if below else "own"].append(f)
        names = {"own": f"{self.level.capitalize()} fields", "customer": "Its customer's fields"}
        names["custom"] = "Custom fields"
        return [(names[k], v) for k, v in groups.items() if v]

    @property
    def base_currency(self) -> str:
        return self.fields.base_currency


def fields_of(session: Session, tenant: Tenant, level: str) -> FieldSet:
    return tenant_catalogue(session, tenant).level(level)


def _level(value: str, default: str) -> str:
    return value if value in {lv.value for lv in Level} else default


def start(
    session: Session,
    tenant: Tenant,
    *,
    level: str = "invoice",
    rule: str | dict[str, Any] | None = None,
    prefix: str = "rule",
    choose_level: bool = False,
    show_preview: bool = True,
    as_of: date | None = None,
) -> Builder:
    """The builder for a stored rule (text or JSON; None: one blank condition). ``as_of``
    is accepted for callers and not needed: the preview loads on its own
    (``POST /rules/builder/preview``, for the tenant's today)."""
    fields = fields_of(session, tenant, _level(level, "invoice"))
    root = prefix + ".t"
    rb = Builder(
        prefix,
        fields.level.value,
        rf.nodes_of(rf.as_root(rf.blank()), root, "$", fields),
        "",
        "",
        fields,
        choose_level,
        show_preview,
    )
    if rule is not None and rule != "":
        _from_text_or_json(rb, rule)
    return rb


def from_form(
    session: Session, tenant: Tenant, form: Form, *, prefix: str | None = None, as_of: date
) -> Builder:
    """The builder as its form came back: an action applied (add, remove, negate), the text
    read when it was edited since the server last printed it, else the builder's fields."""
    p = prefix or _one(form, "rb_prefix") or "rule"
    level = _level(_one(form, p + ".level"), "invoice")
    fields = fields_of(session, tenant, level)
    text, synced = _one(form, p + ".text", strip=False), _one(form, p + ".synced", strip=False)
    root = p + ".t"
    draft = rf.draft_of(form, root, fields)
    action = _one(form, p + ".action")
    table = _one(form, p + ".table") == "1"
    rb = Builder(
        p,
        level,
        _tree(draft, root, fields),
        text,
        synced,
        fields,
        _one(form, "rb_choose_level") == "1",
        _one(form, "rb_preview") != "0",
    )
    rb.table = table
    if table or (not action and text.strip() != synced.strip()):
        _from_text_or_json(rb, text, keep_text=True)
        return rb
    draft = rf.apply(draft, action, root) if action else draft
    rb.tree = _tree(draft, root, fields)
    try:
        rule = check(intake.read(rf.submitted_json(draft)), fields)
    except RuleError as exc:
        rb.problems = rf.place(rb.tree, exc.problems)
        rb.stale = True
        return rb
    _valid(rb, rule)
    rb.text = rb.synced = to_text(rule)
    return rb


def _one(form: Form, key: str, strip: bool = True) -> str:
    values = form.get(key) or ()
    value = values[0] if values else ""
    return value.strip() if strip else value.replace("\r\n", "\n")


def _tree(data: Any, root: str, fields: FieldSet) -> Node:
    node = rf.nodes_of(data, root, "$", fields)
    if node.kind in ("all", "any") and len(node.children) == 1:
        # a group of one is read as its condition (rulebuilder_form.submitted_json): at $
        node.children = [rf.nodes_of(data[node.kind][0], root + ".0", "$", fields)]
    return node


def _from_text_or_json(
    rb: Builder,
    value: str | dict[str, Any],
    keep_text: bool = False,
) -> None:
    try:
        rule = intake.read(value)
    except RuleError as exc:
        rb.text_problems = exc.problems
        return
    rb.table = isinstance(rule, DecisionTable)
    if not rb.table:
        rb.tree = _tree(rf.as_root(to_json(rule)), rb.prefix + ".t", rb.fields)
    rb.synced = value if keep_text and isinstance(value, str) else to_text(rule)
    rb.text = rb.synced
    try:
        check(rule, rb.fields)
    except RuleError as exc:
        rb.text_problems = exc.problems
        if not rb.table:
            rf.place(rb.tree, list(exc.problems))
        return
    _valid(rb, rule)


def _valid(rb: Builder, rule: Rule) -> None:
    rb.valid = True
    rb.rule_json = to_json(rule)
    rb.canonical = to_text(rule)


def sample(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    rule: Rule,
    as_of: date,
    *,
    coverage: bool = False,
) -> Sample:
    """The preview of a checked rule (``arpolicy.ledger.selection.preview``, as the API's);
    ``coverage`` adds the advice on records the rule is unknown for."""
    try:
        found = preview(session, tenant, fields, rule, as_of=as_of, limit=FIRST, warnings=coverage)
    except ArpolicyError as exc:
        return Sample(as_of, 0, [], error=f"{exc.message} ({exc.fix})" if exc.fix else exc.message)
    names = labels(session, tenant, fields.level, found.ids)
    rows = [(i, *names.get(i, (str(i), ""))) for i in found.ids]
    return Sample(as_of, found.matches, rows, [f"{w.message}; {w.fix}" for w in found.warnings])


def previewed(
    session: Session, tenant: Tenant, form: Form, *, as_of: date, coverage: bool = False
) -> Sample | None:
    """What the builder's rule (from its form) selects; None when it has problems."""
    rb = from_form(session, tenant, form, as_of=as_of)
    if not rb.valid:
        return None
    rule = check(intake.read(rb.rule_json), rb.fields)
    return sample(session, tenant, rb.fields, rule, as_of, coverage=coverage)


def explained(
    session: Session, tenant: Tenant, form: Form, record_id: int, *, as_of: date
) -> Sample | None:
    """The builder's rule (from its form) with the explanation of one record (NotFoundError
    when it is none of this tenant's at the level)."""
    rb = from_form(session, tenant, form, as_of=as_of)
    if not rb.valid:
        return None
    rule = check(intake.read(rb.rule_json), rb.fields)
    bound = bind(rule, as_of, tz=tenant.timezone, exchange=exchange(session, tenant))
    found = explain_one(session, tenant, rb.fields, bound, as_of, record_id)
    names = labels(session, tenant, rb.fields.level, [record_id])
    label = " · ".join(names.get(record_id, (str(record_id),)))
    return Sample(as_of, 0, [], explanation=found, label=label)


def form_of(data: Mapping[str, Any]) -> Form:
    """A Starlette form (``await request.form()``) as :data:`Form`."""
    getlist = getattr(data, "getlist", None)
    keys = list(data.keys())
    if getlist is None:
        return {k: [str(data[k])] for k in keys}
    return {k: [str(v) for v in getlist(k) if isinstance(v, str)] for k in keys}
