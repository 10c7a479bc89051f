"""The rules of a cycle that are unknown for many of the records they read: advice given
when a cycle is saved (arpolicy.ledger.selection.coverage has the counting and the
threshold).

Each rule is counted over the records the cycle gives it: the customer rule over every
customer, the payment rule over the customers the customer rule selects, the invoice rule
over their open invoices, and a reminder's ``when`` over the open invoices the invoice rule
selects too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.engagement import facts
from arpolicy.engagement.config import parse_cycle
from arpolicy.ledger.selection.coverage import RuleCheck, RuleWarning, rule_warnings
from arpolicy.models import Tenant
from arpolicy.rules import ast as a
from arpolicy.rules.catalogue import Level


def cycle_warnings(
    session: Session, tenant: Tenant, data: Any, *, as_of: date
) -> list[RuleWarning]:
    """Warnings for the (valid) cycle ``data`` as of the tenant's day ``as_of``."""
    cycle = parse_cycle(data)
    cat = facts.catalogue(session, tenant)
    customer, payment, invoice = (
        None if value is None else facts.rule_of(value)
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
            when = facts.rule_of(reminder.when)
            checks.append(
                RuleCheck(f"reminders[{i}].when", when, cat.level(Level.INVOICE), invoices, True)
            )
    return rule_warnings(session, tenant, checks, as_of=as_of)


def _conditions(rule: a.Rule | None, prefix: str = "") -> tuple[a.Condition, ...]:
    if rule is None or isinstance(rule, a.DecisionTable):
        return ()
    return (a.prefixed(rule, prefix) if prefix else rule,)
