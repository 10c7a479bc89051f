"""A small ledger for the Customers and customer-sheet tests (server side, both
databases): a tenant with a web user and three customers in known states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func, select

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, Tenant, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.fixtures.factories import (
    create_customer,
    create_dispute,
    create_document,
    create_payment,
    create_rate,
)
from tests.web.signin_support import WebUser, make_web_user

TODAY: date = NOW.date()


@dataclass
class Ledger:
    admin: WebUser
    late: int
    """Acme Late GmbH (DE, EUR): 1,000.00 EUR 45 days past due; owned by the admin."""
    current: int
    """Beta Current Inc (US, USD): 200.00 USD not yet due, and a payment of 50.00 on it."""
    disputed: int
    """Gamma Disputed Ltd (GB, GBP): 300.00 GBP 10 days past due, disputed."""
    invoice: int
    """Acme's overdue invoice."""


def make_ledger(engine: Engine, role: UserRole = UserRole.ADMIN) -> Ledger:
    admin = make_web_user(engine, role)
    with transaction(engine) as s:
        scope_tenant(s, admin.caller.tenant_id)
        t = s.get(Tenant, admin.caller.tenant_id)
        assert t is not None
        for ccy, rate in (("EUR", "1.10"), ("GBP", "1.25")):
            create_rate(s, t, ccy, "USD", date(2026, 1, 1), rate)
        late = create_customer(
            s,
            t,
            external_id="ACME-1",
            name="Acme Late GmbH",
            country="DE",
            currency="EUR",
            finance_owner_id=admin.caller.user_id,
        )
        inv = create_document(
            s,
            t,
            late,
            "1000.00",
            document_date=TODAY - timedelta(days=75),
            due_date=TODAY - timedelta(days=45),
        )
        current = create_customer(
            s, t, external_id="BETA-2", name="Beta Current Inc", country="US", currency="USD"
        )
        doc = create_document(
            s,
            t,
            current,
            "200.00",
            document_date=TODAY - timedelta(days=5),
            due_date=TODAY + timedelta(days=25),
        )
        create_payment(
            s,
            t,
            current,
            "50.00",
            received_on=TODAY - timedelta(days=1),
            allocations={doc: "50.00"},
        )
        disputed = create_customer(
            s, t, external_id="GAMMA-3", name="Gamma Disputed Ltd", country="GB", currency="GBP"
        )
        gdoc = create_document(
            s,
            t,
            disputed,
            "300.00",
            document_date=TODAY - timedelta(days=40),
            due_date=TODAY - timedelta(days=10),
        )
        create_dispute(s, t, disputed, "300.00", document=gdoc, opened_on=TODAY)
        return Ledger(admin, late.id, current.id, disputed.id, inv.id)


def audit_count(engine: Engine, tenant_id: int, action: str) -> int:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action == action)
            )
            or 0
        )
