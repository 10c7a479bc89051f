"""What the customer sheet shows, read through the services the API uses: the customer
(404 for another tenant's, as ``GET /v1/customers/{id}``), its figures (ledger.figures),
its owners with the reasons (ownership.admin.owners_of, as ``GET
/v1/customers/{id}/owners``), its items and timeline (ledger.customer_items,
ledger.timeline), and where it stands in the reminder cycles
(engagement.customer_state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from arpolicy.api import ledger
from arpolicy.api.customer_filters import tenant_users
from arpolicy.engagement.customer_state import CustomerReminders, customer_reminders
from arpolicy.kit.clock import local_today
from arpolicy.kit.money import Money
from arpolicy.ledger import customer_items as items
from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.figures import CustomerFigures, customer_figures
from arpolicy.ledger.timeline import Entry, timeline
from arpolicy.ledger.writing.resources import CUSTOMERS
from arpolicy.models import Customer, Dispute, PromiseToPay
from arpolicy.ownership.admin import owners_of
from arpolicy.web.context import Caller


@dataclass
class Sheet:
    customer: Customer
    today: date
    figures: CustomerFigures | None
    buckets: list[str]
    documents: list[items.OpenDocument]
    more_documents: bool
    payments: list[items.PaymentWithAllocations]
    promises: list[PromiseToPay]
    disputes: list[Dispute]
    owners: dict[str, Any]
    users: list[tuple[int, str]]
    reminders: CustomerReminders
    timeline: list[Entry]
    numbers: dict[int, str] = field(default_factory=dict)
    """Document number by id (of the open documents)."""

    def amounts(self) -> Any:
        f = self.figures
        return None if f is None else (f.local or f.base)

    def money(self, name: str) -> Money | None:
        a = self.amounts()
        return None if a is None else a.money(name)

    def ageing(self) -> list[tuple[str, Money]]:
        a = self.amounts()
        if a is None:
            return []
        return [
            (b, Money.from_minor(v, a.currency))
            for b, v in zip(self.buckets, a.buckets, strict=True)
        ]

    def user_name(self, user_id: int | None) -> str:
        return next((n for i, n in self.users if i == user_id), "—") if user_id else "nobody"


def load_sheet(me: Caller, customer_id: int) -> Sheet:
    with me.read() as session:
        tenant = ledger.tenant_of(session, me)
        customer = ledger.get_or_404(session, me, CUSTOMERS, customer_id)
        today = local_today(me.clock, tenant.timezone)
        figures = None
        if me.can("reports:read"):
            figures = customer_figures(session, tenant, today, [customer.id])[0]
        documents, more = items.open_documents(session, tenant.id, customer.id, today)
        promises = list(items.promises(session, tenant.id, customer.id))
        disputes = list(items.disputes(session, tenant.id, customer.id))
        entries = timeline(
            session,
            tenant.id,
            customer.id,
            promise_ids=[p.id for p in promises],
            dispute_ids=[d.id for d in disputes],
        )
        return Sheet(
            customer=customer,
            today=today,
            figures=figures,
            buckets=bucket_labels(tenant.ageing_bounds),
            documents=documents,
            more_documents=more,
            payments=items.payments(session, tenant.id, customer.id),
            promises=promises,
            disputes=disputes,
            owners=owners_of(session, tenant, customer.id, as_of=today),
            users=tenant_users(session, tenant.id),
            reminders=customer_reminders(session, tenant, customer.id, today, me.now()),
            timeline=entries,
            numbers={d.row.id: d.row.number for d in documents},
        )
