"""A cycle's rules (customer, invoice, payment) in the rule builder
(docs/web/rule-builder.md): one builder a rule, its fields under the rule's level as
prefix (``customer.t…``, ``customer.text``…), the level fixed.

A rule with no condition chosen and no text is no rule (the cycle's default: every
customer, its open invoices, no payment rule); clearing the text of a rule removes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.models import Tenant
from arpolicy.web import rulebuilder
from arpolicy.web.rulebuilder import Builder
from arpolicy.web.rulebuilder_form import Form

RULES = ("customer", "invoice", "payment")
LABELS = {
    "customer": "Customer rule: which customers are in the cycle",
    "invoice": "Invoice rule: which of their invoices the emails are about",
    "payment": "Payment rule: a payment-level rule the customer must also match",
}
NONE = {
    "customer": "No customer rule: every customer is in the cycle.",
    "invoice": "No invoice rule: the emails are about open invoices and debit notes.",
    "payment": "No payment rule.",
}
HAS_PROBLEMS = "The rule has problems: see beside its conditions and its text."


@dataclass
class Read:
    """The cycle's rules as the form came back."""

    builders: dict[str, Builder]
    rules: dict[str, str | None] = field(default_factory=dict)
    """Each rule's canonical text (None: no rule), when every rule is valid."""
    errors: dict[str, str] = field(default_factory=dict)


def started(
    session: Session, tenant: Tenant, config: Mapping[str, Any], *, preview: bool
) -> dict[str, Builder]:
    """A builder for each of the stored cycle's rules (a blank one where it has none)."""
    return {
        level: rulebuilder.start(
            session,
            tenant,
            level=level,
            rule=config.get(level) or None,
            prefix=level,
            show_preview=preview,
        )
        for level in RULES
    }


def _first(form: Form, key: str) -> str:
    values = form.get(key) or ()
    return values[0].strip() if values else ""


def is_blank(form: Form, level: str) -> bool:
    """No rule: no text and no field chosen, or the text cleared since it was printed."""
    if _first(form, level + ".text"):
        return False
    if _first(form, level + ".synced"):
        return True
    tree = level + ".t"
    return not any(
        v.strip()
        for k, values in form.items()
        if k.startswith(tree) and k.endswith(".field")
        for v in values
    )


def read(session: Session, tenant: Tenant, form: Form, *, as_of: date, preview: bool) -> Read:
    """Each rule from its builder's fields (``rulebuilder.from_form``), the level fixed."""
    out = Read({})
    for level in RULES:
        if is_blank(form, level):
            out.builders[level] = rulebuilder.start(
                session, tenant, level=level, prefix=level, show_preview=preview
            )
            out.rules[level] = None
            continue
        fixed = {**form, level + ".level": [level]}
        rb = rulebuilder.from_form(session, tenant, fixed, prefix=level, as_of=as_of)
        rb.show_preview = preview
        out.builders[level] = rb
        if rb.valid:
            out.rules[level] = rb.canonical
        else:
            out.errors[level] = HAS_PROBLEMS
    return out
