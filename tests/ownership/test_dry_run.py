"""A dry run reports exactly what the run does, for every example policy (issue 12, item
12): with both roles, the finance rule that reads ``sales_owner`` sees the sales owner the
same run assigns, in the dry run too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.ledger import demo
from arpolicy.models import AuditEvent, Customer, OutboxMessage
from arpolicy.ownership.admin import save_policy
from arpolicy.ownership.config import ROLES, load_yaml
from arpolicy.ownership.service import run_roles

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _changes(reports):
    return [
        (r.role, [(c.customer_id, c.before, c.after, c.rule) for c in r.changes], r.kept, r.locked)
        for r in reports
    ]


def _count(session, model, tenant_id):
    return session.scalar(
        select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("assignment*.yaml")), ids=lambda p: p.name)
def test_a_dry_run_of_both_roles_equals_the_run(session, path):
    tenant = demo.write(session, "dry-run-demo", demo.generate(120, seed=1, today=AS_OF))
    actor = Actor(tenant.id, "test")
    for policy in load_yaml(path.read_text(encoding="utf-8")):
        save_policy(
            session, tenant, actor, policy.model_dump(mode="json", exclude_none=True), at=AT
        )
    session.execute(  # no owners yet: the run assigns both roles from scratch
        Customer.__table__.update()
        .where(Customer.tenant_id == tenant.id)
        .values(sales_owner_id=None, finance_owner_id=None)
    )
    events = _count(session, AuditEvent, tenant.id)
    outbox = _count(session, OutboxMessage, tenant.id)

    dry = run_roles(session, tenant, actor, ROLES, as_of=AS_OF, at=AT, dry_run=True)
    assert all(r.dry_run for r in dry)
    owners = session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.tenant_id == tenant.id, Customer.sales_owner_id.is_not(None))
    )
    assert owners == 0, "a dry run wrote owners"
    assert (_count(session, AuditEvent, tenant.id), _count(session, OutboxMessage, tenant.id)) == (
        events,
        outbox,
    )

    real = run_roles(session, tenant, actor, ROLES, as_of=AS_OF, at=AT)
    assert _changes(dry) == _changes(real)
    finance = next(r for r in real if r.role == "finance")
    # the example's first finance rule reads the sales owner this very run assigned
    assert any(c.rule == "Enterprise keeps the paired collector" for c in finance.changes)
