"""The rules of an assignment policy that are unknown for many customers: advice given when
a policy is saved (arpolicy.ledger.selection.coverage has the counting and the threshold).
Each ``when`` is counted over every customer of the tenant."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.selection.coverage import RuleCheck, RuleWarning, rule_warnings
from arpolicy.models import Tenant
from arpolicy.ownership.config import parse_policy
from arpolicy.rules import from_json, parse
from arpolicy.rules.catalogue import Level


def policy_warnings(
    session: Session, tenant: Tenant, data: Any, *, as_of: date
) -> list[RuleWarning]:
    """Warnings for the (valid) policy ``data`` as of the tenant's day ``as_of``."""
    policy = parse_policy(data)
    fields = tenant_catalogue(session, tenant).level(Level.CUSTOMER)
    checks = [
        RuleCheck(f"rules[{i}].when", _rule(rule.when), fields)
        for i, rule in enumerate(policy.rules)
        if rule.when is not None
    ]
    return rule_warnings(session, tenant, checks, as_of=as_of)


def _rule(value: str | dict[str, Any]) -> Any:
    return parse(value) if isinstance(value, str) else from_json(value)
