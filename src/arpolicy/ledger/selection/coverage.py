"""Rules that are *unknown* for many of the records they read, counted in the database.

A condition on an empty field is unknown, and so is ``not`` of it: a rule matches only
records it is true for, so ``not (last_attempt_status = failure)`` silently leaves out every
customer with no payment attempt. :func:`coverage` counts, in one SQL scan of the level's
source (arpolicy.rules.unknown_sql), the records a rule reads, those it is unknown for, and
for each field it reads how many of those have it empty. :func:`rule_warnings` turns the
counts into a :class:`RuleWarning` when the rule is unknown for at least
:data:`WARN_PERCENT` % of the records it reads (and at least one), naming the empty field
and the fix: ``<field> is empty or <rule>`` to keep those records in, ``<field> is not empty
and <rule>`` to leave them out on purpose (either way the rule is then no longer unknown for
them, and the warning goes).

The records a rule reads are its level's (the tenant's customers, payment profiles or
invoices; only open invoices with ``open_only``), narrowed by ``within``: conditions of the
same level that must be true as well (an engagement cycle's payment rule reads the
customers its customer rule selects).

Warnings are advice, never errors: ``arpolicy rules check``, the rule endpoints of the API
and saving an engagement cycle or an assignment policy report them and carry on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from arpolicy.exceptions import MissingRateError
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection.customers import customer_source
from arpolicy.ledger.selection.invoices import invoices
from arpolicy.models import Tenant
from arpolicy.models.document import balance_due_clause
from arpolicy.rules import ast as a
from arpolicy.rules.binding import BoundRule, bind
from arpolicy.rules.catalogue import FieldSet, Level
from arpolicy.rules.printer import to_text
from arpolicy.rules.to_sql import plan_of, to_sql, used_columns
from arpolicy.rules.unknown_sql import leaf_fields, missing, unknown

WARN_PERCENT = 20
"""Warn when a rule is unknown for at least this share of the records it reads."""
NOUNS = {Level.CUSTOMER: "customers", Level.PAYMENT: "customers", Level.INVOICE: "invoices"}


@dataclass(frozen=True, slots=True)
class Coverage:
    total: int
    """Records the rule reads."""
    unknown: int
    """Of those, the records it is unknown for."""
    empty: tuple[tuple[str, int], ...]
    """``(field, n)``: of the unknown records, ``n`` have ``field`` empty (most first)."""


def coverage(
    session: Session,
    tenant: Tenant,
    bound: BoundRule,
    fields: FieldSet,
    *,
    within: Sequence[BoundRule] = (),
    open_only: bool = False,
) -> Coverage:
    """Count, in one query, the records of ``fields``' level that the bound condition
    reads and those it is unknown for (see the module's docstring)."""
    plan = plan_of(bound, fields)
    scopes = [plan_of(w, fields) for w in within]
    source = (
        invoices(tenant, bound.as_of)
        if fields.level is Level.INVOICE
        else customer_source(tenant, bound.as_of, payment=fields.level is Level.PAYMENT)
    )
    columns = source.columns(set().union(used_columns(plan), *map(used_columns, scopes)))
    where = [source.scope, *(to_sql(w, fields, columns) for w in within)]
    if open_only and fields.level is Level.INVOICE:
        where.append(balance_due_clause())
    is_unknown = unknown(plan, columns)
    read = leaf_fields(plan)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = [count(and_(is_unknown, missing(f, columns))) for f in read]
    stmt = (
        select(func.count(), count(is_unknown), *counts)
        .select_from(source.joins.clause)
        .where(*where)
    )
    total, n_unknown, *per_field = session.execute(stmt).one()
    empty = sorted(
        ((f.name, int(n)) for f, n in zip(read, per_field, strict=True) if n),
        key=lambda item: -item[1],
    )
    return Coverage(int(total), int(n_unknown), tuple(empty))


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule to check: where it sits (``payment``, ``rules[0].when``; empty for a rule
    on its own), the rule, its level's fields, and what narrows the records it reads."""

    where: str
    rule: a.Rule
    fields: FieldSet
    within: tuple[a.Condition, ...] = ()
    open_only: bool = False


@dataclass(frozen=True, slots=True)
class RuleWarning:
    where: str
    level: str
    field: str
    """The field most often empty where the rule is unknown."""
    count: int
    """Records the rule is unknown for."""
    total: int
    """Records it reads."""
    empty: tuple[tuple[str, int], ...]
    message: str
    fix: str

    @property
    def share(self) -> float:
        """``count / total``, to 4 decimals (a ratio for reading, not money)."""
        return round(self.count / self.total, 4)

    def to_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "level": self.level,
            "field": self.field,
            "count": self.count,
            "total": self.total,
            "share": self.share,
            "empty": [{"field": f, "count": n} for f, n in self.empty],
            "message": self.message,
            "fix": self.fix,
        }


def rule_warnings(
    session: Session, tenant: Tenant, checks: Iterable[RuleCheck], *, as_of: date
) -> list[RuleWarning]:
    """A warning for each rule unknown for at least :data:`WARN_PERCENT` % of the records
    it reads, as of ``as_of`` (the tenant's local day). Decision tables are left out, and
    so is a rule that needs an exchange rate the tenant does not have (running it fails
    with that error anyway)."""
    todo = [c for c in checks if not isinstance(c.rule, a.DecisionTable)]
    if not todo:
        return []
    fx = exchange(session, tenant)

    def bound(rule: a.Rule) -> BoundRule:
        return bind(rule, as_of, tz=tenant.timezone, exchange=fx)

    found = []
    for check in todo:
        try:
            cov = coverage(
                session,
                tenant,
                bound(check.rule),
                check.fields,
                within=[bound(w) for w in check.within],
                open_only=check.open_only,
            )
        except MissingRateError:
            continue
        warning = warning_of(check, cov)
        if warning is not None:
            found.append(warning)
    return found


def warning_of(check: RuleCheck, cov: Coverage) -> RuleWarning | None:
    """The warning the counts call for (None below the threshold)."""
    if not cov.unknown or cov.unknown * 100 < WARN_PERCENT * cov.total or not cov.empty:
        return None
    rule = check.rule
    assert not isinstance(rule, a.DecisionTable)
    level = check.fields.level
    nouns = ("open " if check.open_only and level is Level.INVOICE else "") + NOUNS[level]
    percent = (200 * cov.unknown + cov.total) // (2 * cov.total)
    if cov.unknown < cov.total:
        percent = min(percent, 99)
    subject = (
        "the rule"
        if not check.where
        else f"the {check.where} rule"
        if check.where.isidentifier()
        else f"the rule at {check.where}"
    )
    (field, n), *more = cov.empty
    empties = f"{field} is empty for {n} of them" + "".join(f", {f} for {k}" for f, k in more[:2])
    message = (
        f"{subject} is unknown for {cov.unknown} of {cov.total} {nouns} ({percent}%), so it "
        f"never matches them (a condition on an empty field is unknown, and so is not of "
        f"it): {empties}"
    )
    keep = to_text(a.Any((a.IsEmpty(field), rule)))
    leave = to_text(a.All((a.IsEmpty(field, negated=True), rule)))
    fix = f"if {nouns} with no {field} should match, write: {keep}; if not, say so: {leave}"
    return RuleWarning(
        check.where, level.value, field, cov.unknown, cov.total, cov.empty, message, fix
    )
