"""Engagement by configuration: the tenant's sending settings and its cycles (validated
against the tenant, versioned, audited); and what the cycles will do or would have done:
the forecast and the backtest (``_replay``: the day's decision replayed, nothing
written)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.audit.service import snapshot
from arpolicy.engagement import repository as repo
from arpolicy.engagement._replay import MAX_DAYS, replay
from arpolicy.engagement.config import (
    Cycle,
    CycleError,
    Settings,
    parse_cycle,
    parse_settings,
)
from arpolicy.engagement.repository import settings_of
from arpolicy.engagement.templates import validate as validate_templates
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.ledger.selection.coverage import RuleCheck, RuleWarning, rule_warnings
from arpolicy.models import CycleStatus, EngagementCycle, EngagementSettings, Tenant
from arpolicy.rules import RuleError, check
from arpolicy.rules import ast as a
from arpolicy.rules.catalogue import Level

__all__ = [
    "backtest",
    "cycle_warnings",
    "delete_cycle",
    "forecast",
    "get_cycle",
    "save_cycle",
    "save_settings",
    "set_status",
    "settings_of",
    "validate_cycle",
]


def forecast(
    session: Session,
    tenant: Tenant,
    *,
    start: date,
    days: int,
    now: datetime,
    cycles: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What the live and test cycles (or the named ones) will send from ``start`` on for
    ``days`` days, if nothing is paid meanwhile: each day decided as the run decides it,
    from the real history."""
    days = max(1, min(days, MAX_DAYS))
    span = [start + timedelta(days=k) for k in range(days)]
    statuses = (CycleStatus.LIVE, CycleStatus.TEST)
    return replay(session, tenant, span, cycles, statuses=statuses, now=now, real_history=True)


def backtest(
    session: Session, tenant: Tenant, *, start: date, end: date, cycles: Sequence[str] | None = None
) -> dict[str, Any]:
    """What the cycles (all of them, drafts included, or the named ones) would have sent
    from ``start`` to ``end``, from an empty history and each day's balances."""
    n = min((end - start).days + 1, MAX_DAYS)
    span = [start + timedelta(days=k) for k in range(max(n, 1))]
    return replay(session, tenant, span, cycles, statuses=None, now=None, real_history=False)


def save_settings(
    session: Session, tenant: Tenant, actor: Actor, data: Any, *, at: datetime
) -> Settings:
    parsed = parse_settings(data, where="settings")
    _check_test_address(session, tenant, parsed)
    row = repo.settings_row(session, tenant)
    config = parsed.model_dump(mode="json", exclude_none=True)
    before = row.config if row else None
    if row is None:
        row = EngagementSettings(tenant_id=tenant.id, config=config, updated_by=actor.label)
        session.add(row)
    else:
        row.config, row.updated_by = config, actor.label
    session.flush()
    audit_record(
        session,
        actor,
        "engagement.settings_saved",
        "engagement_settings",
        tenant.id,
        before=before,
        after=config,
        at=at,
    )
    return parsed


def _check_test_address(session: Session, tenant: Tenant, settings: Settings) -> None:
    if settings.test_address:
        return
    testing = repo.test_cycles(session, tenant)
    if testing:
        raise ValidationError(
            f"cycle {testing[0]!r} is in test, and test emails need settings.test_address",
            where="settings.test_address",
            fix="give the internal address test emails go to, or set the cycle to draft",
        )


def validate_cycle(session: Session, tenant: Tenant, data: Any) -> Cycle:
    """The cycle, checked against the tenant: its rules against the fields of their level,
    its templates (syntax, variables, languages). CycleError lists every problem."""
    cycle = parse_cycle(data)
    cat = repo.catalogue(session, tenant)
    problems: list[dict[str, str]] = []

    def rule(where: str, value: Any, level: Level) -> None:
        if value is None:
            return
        try:
            check(repo.rule_of(value), cat.level(level))
        except RuleError as exc:
            problems.extend(
                {"where": f"{where} {p.where}".strip(), "what": p.what, "fix": p.fix}
                for p in exc.problems
            )

    rule("customer", cycle.customer, Level.CUSTOMER)
    rule("invoice", cycle.invoice, Level.INVOICE)
    rule("payment", cycle.payment, Level.PAYMENT)
    for i, r in enumerate(cycle.reminders):
        rule(f"reminders[{i}].when", r.when, Level.INVOICE)
        for p in validate_templates(r.template, where="template"):
            problems.append(
                {"where": f"reminders[{i}].{p['where']}", "what": p["what"], "fix": p["fix"]}
            )
    if problems:
        raise CycleError(problems)
    return cycle


def save_cycle(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    data: Any,
    *,
    at: datetime,
    status: str | None = None,
) -> EngagementCycle:
    """Create or replace the cycle named in ``data`` (validated, versioned, audited)."""
    if status is not None and isinstance(data, dict):
        data = {**data, "status": status}
    cycle = validate_cycle(session, tenant, data)
    if cycle.status == "test" and not settings_of(session, tenant).test_address:
        raise ValidationError(
            "a cycle in test needs the internal test address",
            where="status",
            fix="set settings.test_address first "
            "(arpolicy engage settings, PUT /v1/engagement/settings)",
        )
    config = cycle.model_dump(mode="json", exclude_none=True)
    row = repo.cycle_named(session, tenant, cycle.name)
    before = snapshot(row) if row else None
    if row is None:
        row = EngagementCycle(
            tenant_id=tenant.id,
            name=cycle.name,
            status=CycleStatus(cycle.status),
            priority=cycle.priority,
            version=1,
            config=config,
            updated_by=actor.label,
        )
        session.add(row)
    else:
        row.status, row.priority = CycleStatus(cycle.status), cycle.priority
        row.config, row.version, row.updated_by = config, row.version + 1, actor.label
    session.flush()
    audit_record(
        session,
        actor,
        "engagement.cycle_saved",
        "engagement_cycle",
        row.id,
        before=before,
        after=snapshot(row),
        at=at,
    )
    return row


def set_status(
    session: Session, tenant: Tenant, actor: Actor, name: str, status: str, *, at: datetime
) -> EngagementCycle:
    row = get_cycle(session, tenant, name)
    return save_cycle(session, tenant, actor, row.config, at=at, status=status)


def get_cycle(session: Session, tenant: Tenant, name: str) -> EngagementCycle:
    row = repo.cycle_named(session, tenant, name)
    if row is None:
        raise NotFoundError(
            f"no cycle named {name!r}",
            fix="list cycles with arpolicy engage cycles or GET /v1/engagement/cycles",
        )
    return row


def delete_cycle(
    session: Session, tenant: Tenant, actor: Actor, name: str, *, at: datetime
) -> None:
    """Remove a cycle that never sent anything; one with history can only go to draft."""
    row = get_cycle(session, tenant, name)
    if repo.has_emails(session, tenant, row.id):
        raise ValidationError(
            f"cycle {name!r} has emails in its history",
            where="name",
            fix="set it to draft instead (the history stays)",
        )
    before = snapshot(row)
    session.delete(row)
    session.flush()
    audit_record(
        session,
        actor,
        "engagement.cycle_deleted",
        "engagement_cycle",
        before["id"],
        before=before,
        at=at,
    )


def cycle_warnings(
    session: Session, tenant: Tenant, data: Any, *, as_of: date
) -> list[RuleWarning]:
    """The rules of the (valid) cycle ``data`` that are unknown for many of the records they
    read, as of the tenant's day ``as_of``: advice when a cycle is saved (the counting and
    the threshold: arpolicy.ledger.selection.coverage). The customer rule reads every
    customer; the payment rule the customers the customer rule selects; the invoice rule
    their open invoices; a reminder's ``when`` the open invoices the invoice rule selects."""
    cycle = parse_cycle(data)
    cat = repo.catalogue(session, tenant)
    customer, payment, invoice = (
        None if value is None else repo.rule_of(value)
        for value in (cycle.customer, cycle.payment, cycle.invoice)
    )
    customers = _conditions(customer, "customer.")  # read from a payment profile or an invoice
    invoices = customers + _conditions(invoice)
    checks = []
    if customer is not None:
        checks.append(RuleCheck("customer", customer, cat.level(Level.CUSTOMER)))
    if payment is not None:
        checks.append(RuleCheck("payment", payment, cat.level(Level.PAYMENT), customers))
    if invoice is not None:
        checks.append(
            RuleCheck("invoice", invoice, cat.level(Level.INVOICE), customers, open_only=True)
        )
    for i, reminder in enumerate(cycle.reminders):
        if reminder.when is not None:
            when = repo.rule_of(reminder.when)
            checks.append(
                RuleCheck(f"reminders[{i}].when", when, cat.level(Level.INVOICE), invoices, True)
            )
    return rule_warnings(session, tenant, checks, as_of=as_of)


def _conditions(rule: a.Rule | None, prefix: str = "") -> tuple[a.Condition, ...]:
    if rule is None or isinstance(rule, a.DecisionTable):
        return ()
    return (a.prefixed(rule, prefix) if prefix else rule,)
