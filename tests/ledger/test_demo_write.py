"""The demo written whole to SQLite and PostgreSQL: every row inserted with its references
resolved, balances and unallocated amounts that the ledger's own refresh agrees with,
figures that match what the billing system reports, and no second tenant of one slug."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from arpolicy.exceptions import ConflictError
from arpolicy.ledger.balances import refresh_balances
from arpolicy.ledger.demo import TABLES, DemoData, generate, write
from arpolicy.ledger.figures import customer_figures
from arpolicy.ledger.payments import refresh_unallocated
from arpolicy.models import Customer, Document, Payment, User
from tests.ledger.test_demo import TODAY


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(30, 7, TODAY)


def test_write_inserts_every_row(session, small):
    tenant = write(session, "demo-w", small)
    assert (tenant.name, tenant.base_currency, tenant.timezone) == (
        "Demo Merchant",
        "USD",
        "America/New_York",
    )
    for name, (model, _) in TABLES.items():
        count = session.scalar(
            select(func.count()).select_from(model).where(model.tenant_id == tenant.id)
        )
        assert count == len(getattr(small, name)), name

    # references resolved to the right rows
    first = small.documents[0]
    customer_ext = small.customers[first["customer_ref"]]["external_id"]
    stored = session.execute(
        select(Customer.external_id)
        .join(Document, Document.customer_id == Customer.id)
        .where(Document.tenant_id == tenant.id, Document.number == first["number"])
    ).scalar_one()
    assert stored == customer_ext
    children = session.scalars(
        select(Customer.parent_id).where(
            Customer.tenant_id == tenant.id, Customer.parent_id.is_not(None)
        )
    ).all()
    assert len(children) == sum(c["parent_ref"] is not None for c in small.customers)
    managed = session.scalar(
        select(func.count()).where(User.tenant_id == tenant.id, User.manager_id.is_not(None))
    )
    assert managed == sum(u["manager_ref"] is not None for u in small.users)


def test_written_unallocated_agrees_with_refresh_unallocated(session, small):
    tenant = write(session, "demo-u", small)
    query = select(Payment.id, Payment.unallocated_minor, Payment.base_unallocated_minor).where(
        Payment.tenant_id == tenant.id
    )
    before = sorted(tuple(r) for r in session.execute(query))
    refresh_unallocated(session, tenant, [row[0] for row in before])
    assert sorted(tuple(r) for r in session.execute(query)) == before


def test_written_balances_agree_with_refresh_balances(session, small):
    """The demo's balances are the ledger's: amount - credited - allocations wherever a
    payment is allocated (issue 12, item 1), and the billing system reports the same."""
    tenant = write(session, "demo-b", small)
    query = select(Document.id, Document.balance_minor, Document.base_balance_minor).where(
        Document.tenant_id == tenant.id
    )
    before = sorted(tuple(r) for r in session.execute(query))
    refresh_balances(session, tenant, [row[0] for row in before])
    assert sorted(tuple(r) for r in session.execute(query)) == before
    reported = select(func.count()).where(
        Document.tenant_id == tenant.id, Document.reported_balance_minor != Document.balance_minor
    )
    assert session.scalar(reported) == 0


def test_figures_outstanding_matches_reported_balance(session, small):
    tenant = write(session, "demo-f", small)
    figures = customer_figures(session, tenant, TODAY)
    mismatches = [f.outstanding_mismatch for f in figures if f.outstanding_mismatch is not None]
    assert len(mismatches) >= 20
    assert sum(1 for m in mismatches if m.amount == 0) >= 0.9 * len(mismatches)
    assert sum(f.base.overdue for f in figures) > 0


def test_write_refuses_an_existing_slug(session):
    data = generate(2, 1, TODAY)
    write(session, "demo-twice", data)
    with pytest.raises(ConflictError):
        write(session, "demo-twice", data)
