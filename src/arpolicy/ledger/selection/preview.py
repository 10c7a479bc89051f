"""What a rule selects as of a date, with the explanation of one record: the preview the
API (``POST /v1/rules/preview``) and the app's rule builder both show, computed once here.

``preview(session, tenant, fields, rule, as_of=..., limit=..., explain_id=...)`` selects in
the database (a decision table: each rule's outcome group), explains one record when asked
and lists the coverage warnings; ``labels`` names the first matches in one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from arpolicy.exceptions import NotFoundError
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import decide, records, select
from arpolicy.ledger.selection.coverage import RuleCheck, RuleWarning, rule_warnings
from arpolicy.models import Customer, Document, Tenant
from arpolicy.rules import BoundRule, FieldSet, Level, Rule, bind, explain
from arpolicy.rules.ast import DecisionTable


@dataclass
class RulePreview:
    as_of: date
    bound: BoundRule
    matches: int
    ids: list[int]
    outcomes: list[dict[str, Any]] | None = None
    explanation: dict[str, Any] | None = None
    warnings: list[RuleWarning] = field(default_factory=list)


def warnings_of(
    session: Session, tenant: Tenant, rule: Rule, fields: FieldSet, on: date
) -> list[RuleWarning]:
    """The rule is unknown for many of the records it reads, as of ``on`` (advice)."""
    return rule_warnings(session, tenant, [RuleCheck("", rule, fields)], as_of=on)


def preview(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    rule: Rule,
    *,
    as_of: date,
    limit: int,
    explain_id: int | None = None,
    warnings: bool = True,
) -> RulePreview:
    """What the checked ``rule`` selects as of ``as_of`` (ids: documents at invoice level,
    customers otherwise; the first ``limit``), with the explanation of ``explain_id``
    (NotFoundError when it is no record of this tenant's at the level) and, with
    ``warnings``, the coverage advice (it reads every record the rule reads: the costly
    part at scale)."""
    bound = bind(rule, as_of, tz=tenant.timezone, exchange=exchange(session, tenant))
    outcomes = None
    if isinstance(rule, DecisionTable):
        decisions = decide(session, tenant, bound, fields)
        ids = decisions.matched
        outcomes = [
            {
                "rule": g.rule,
                "then": g.outcome,
                "matches": len(g.ids) if g.rule else None,
                "ids": list(g.ids[:limit]),
            }
            for g in decisions.groups()
        ]
    else:
        ids = select(session, tenant, bound, fields)
    explanation = None
    if explain_id is not None:
        explanation = explain_one(session, tenant, fields, bound, as_of, explain_id)
    return RulePreview(
        as_of=as_of,
        bound=bound,
        matches=len(ids),
        ids=ids[:limit],
        outcomes=outcomes,
        explanation=explanation,
        warnings=warnings_of(session, tenant, rule, fields, as_of) if warnings else [],
    )


def explain_one(
    session: Session,
    tenant: Tenant,
    fields: FieldSet,
    bound: BoundRule,
    as_of: date,
    record_id: int,
) -> dict[str, Any]:
    """The verdict for one record, each condition with its actual value."""
    found = list(records(session, tenant, fields, as_of, [record_id]))
    if not found:
        raise NotFoundError(
            f"no {'document' if fields.level is Level.INVOICE else 'customer'} {record_id}",
            where="body.explain_id",
            fix="give an id of this tenant's records",
        )
    exp = explain(bound, found[0][1], fields)
    return {"id": record_id, "verdict": exp.verdict, "text": exp.text(), "tree": exp.to_json()}


def labels(
    session: Session, tenant: Tenant, level: Level, ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """``id -> (external id or number, name)`` of the first matches, in one query
    (documents at invoice level, customers otherwise)."""
    if not ids:
        return {}
    if level is Level.INVOICE:
        doc_rows = session.execute(
            sql_select(Document.id, Document.number, Customer.name)
            .join(
                Customer,
                (Customer.tenant_id == Document.tenant_id) & (Customer.id == Document.customer_id),
            )
            .where(Document.tenant_id == tenant.id, Document.id.in_(list(ids)))
        )
        return {i: (number, name) for i, number, name in doc_rows}
    rows = session.execute(
        sql_select(Customer.id, Customer.external_id, Customer.name).where(
            Customer.tenant_id == tenant.id, Customer.id.in_(list(ids))
        )
    )
    return {i: (ext, name) for i, ext, name in rows}
