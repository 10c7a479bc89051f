"""A tenant with one item of each kind in a collector's worklist, for the dashboard and
worklist tests: customers the collector owns as finance owner (with overdue invoices), a
promise due today, a broken one, an open dispute, an open task, a reply waiting for an
answer and a customer whose cycle sent its last reminder; and items of a colleague's
customer that must not show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, update

from arpolicy.kit.db import transaction
from arpolicy.models import (
    Customer,
    EmailMode,
    EmailStatus,
    EngagementCycle,
    EngagementTask,
    InboundEmail,
    InboundKind,
    PromiseStatus,
    Tenant,
    User,
    UserRole,
)
from arpolicy.models import Email as EmailRow
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.fixtures.factories import (
    create_customer,
    create_dispute,
    create_document,
    create_promise,
    create_user,
)
from tests.web.signin_support import WebUser

TODAY: date = NOW.date()


@dataclass
class Seeded:
    """The ids of what was made, by name."""

    tenant_id: int
    collector_id: int
    colleague_id: int
    customers: dict[str, int] = field(default_factory=dict)
    items: dict[str, tuple[str, int]] = field(default_factory=dict)
    """name -> (kind, object id)."""


def _email(tenant_id: int, customer_id: int, cycle_id: int, sent: datetime) -> EmailRow:
    key = f"{cycle_id}:final:{customer_id}:1"
    return EmailRow(
        tenant_id=tenant_id,
        customer_id=customer_id,
        key=key,
        message_id=f"<{uuid.uuid4().hex}@test>",
        mode=EmailMode.LIVE,
        status=EmailStatus.SENT,
        cycle_id=cycle_id,
        cycle="Dunning",
        reminder="final",
        occurrence=1,
        decided_at=sent,
        sent_at=sent,
        from_address="ar@example.com",
        to=["billing@example.com"],
        cc=[],
        subject="Final reminder",
        text_body="Please pay.",
        documents=[],
        attempts=1,
        in_doubt=False,
    )


def seed_worklist(engine: Engine, who: WebUser) -> Seeded:
    """Items for ``who`` (made a collector of team "north") in its tenant."""
    with transaction(engine) as s:
        scope_tenant(s, who.caller.tenant_id)
        tenant = s.get(Tenant, who.caller.tenant_id)
        assert tenant is not None
        me = s.get(User, who.caller.user_id)
        assert me is not None
        me.team = "north"
        colleague = create_user(s, tenant, role=UserRole.COLLECTOR, team="north", name="Cora")
        seeded = Seeded(tenant.id, me.id, colleague.id)
        week_ago = NOW - timedelta(days=7)

        def owned(name: str, overdue: str, days_late: int, owner: int = me.id) -> Customer:
            c = create_customer(s, tenant, name=name, finance_owner_id=owner)
            due = TODAY - timedelta(days=days_late)
            create_document(
                s, tenant, c, overdue, document_date=due - timedelta(days=30), due_date=due
            )
            seeded.customers[name] = c.id
            return c

        big = owned("Big Owes Ltd", "5000.00", 40)
        small = owned("Small Owes Ltd", "300.00", 10)
        late = owned("Very Late GmbH", "300.00", 95)
        other = owned("Someone Else Inc", "9000.00", 60, owner=colleague.id)
        p = create_promise(s, tenant, big, "1000.00", TODAY)
        seeded.items["promise due"] = ("promise", p.id)
        b = create_promise(s, tenant, small, "100.00", TODAY - timedelta(days=3))
        b.status = PromiseStatus.BROKEN
        seeded.items["promise broken"] = ("promise", b.id)
        d = create_dispute(s, tenant, late, "120.00", opened_on=TODAY - timedelta(days=5))
        seeded.items["dispute"] = ("dispute", d.id)
        d2 = create_dispute(s, tenant, other, "50.00", opened_on=TODAY)
        seeded.items["colleague dispute"] = ("dispute", d2.id)
        task = EngagementTask(
            tenant_id=tenant.id,
            customer_id=small.id,
            user_id=me.id,
            key=f"task:{uuid.uuid4().hex}",
            kind="no_address",
            cycle="Dunning",
            reminder="final",
            detail="No billing address: call the customer",
            due_on=TODAY,
        )
        s.add(task)
        big.last_email_at = week_ago
        s.flush()
        seeded.items["task"] = ("task", task.id)
        reply = InboundEmail(
            tenant_id=tenant.id,
            message_id=f"<{uuid.uuid4().hex}@customer>",
            kind=InboundKind.REPLY,
            received_at=NOW - timedelta(hours=2),
            from_address="ap@big.example",
            subject="Re: your invoice",
            customer_id=big.id,
        )
        s.add(reply)
        cycle = EngagementCycle(
            tenant_id=tenant.id,
            name="Dunning",
            status="live",
            priority=10,
            version=1,
            config={"name": "Dunning", "reminders": [{"name": "final", "template": "firm"}]},
            updated_by="test",
        )
        s.add(cycle)
        s.flush()
        sent = NOW - timedelta(days=2)
        email = _email(tenant.id, late.id, cycle.id, sent)
        s.add(email)
        s.execute(
            update(Customer)
            .where(Customer.tenant_id == tenant.id, Customer.id == late.id)
            .values(last_email_at=sent)
        )
        s.flush()
        seeded.items["reply"] = ("reply", reply.id)
        seeded.items["cycle end"] = ("cycle_end", email.id)
        return seeded
