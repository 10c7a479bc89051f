"""The example cycles on the demo data (issue 12, item 10): "Key accounts" holds the
customers it means to, every customer owing more than 10,000 USD except those whose last
card payment failed in the last 3 days, customers that never had a payment attempt
included; and saving a cycle warns when a rule is unknown for most of its records, as the
example's first payment rule was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.engagement import admin
from arpolicy.engagement.admin import cycle_warnings
from arpolicy.engagement.config import example_text, load_yaml
from arpolicy.engagement.repository import compile_cycles, stored_cycles
from arpolicy.kit.clock import zone
from arpolicy.kit.money import Money
from arpolicy.ledger.demo import generate, write
from arpolicy.ledger.figures import customer_figures
from arpolicy.models import AttemptStatus, Customer, PaymentAttempt
from tests.fixtures.factories import create_attempt

TODAY = date(2026, 11, 23)
OLD_PAYMENT_RULE = "not (last_attempt_status = failure and last_attempt_at in the last 3 days)"


@pytest.fixture
def demo(session):
    tenant = write(session, "demo-cycles", generate(80, 1, TODAY))
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    cycles, settings = load_yaml(example_text())
    actor = Actor(tenant.id, "test")
    admin.save_settings(session, tenant, actor, settings.model_dump(mode="json"), at=at)
    for c in cycles:
        admin.save_cycle(session, tenant, actor, c.model_dump(mode="json"), at=at)
    return tenant, {c.name: c for c in cycles}


def expected_key_accounts(session, tenant) -> tuple[set[int], set[int]]:
    """(the customers Key accounts means, those of them with no payment attempt), from the
    figures and the attempts themselves."""
    big = {
        f.customer_id
        for f in customer_figures(session, tenant, TODAY)
        if f.base.money("outstanding") > Money.of("10000", "USD")
    }
    last: dict[int, PaymentAttempt] = {}
    for a in session.scalars(select(PaymentAttempt).where(PaymentAttempt.tenant_id == tenant.id)):
        if a.customer_id not in last or a.attempted_at > last[a.customer_id].attempted_at:
            last[a.customer_id] = a
    tz = zone(tenant.timezone)
    failed = {
        cid
        for cid, a in last.items()
        if a.status is AttemptStatus.FAILURE
        and TODAY - timedelta(days=3) <= a.attempted_at.astimezone(tz).date() <= TODAY
    }
    return big - failed, big - set(last)


def test_key_accounts_holds_the_customers_it_means(session, demo):
    tenant, _ = demo
    _, never_attempted = expected_key_accounts(session, tenant)
    recent = datetime(2026, 11, 22, 15, tzinfo=UTC)
    first, second, third, *_ = (session.get(Customer, i) for i in sorted(never_attempted))
    create_attempt(session, tenant, first, attempted_at=recent)  # failed yesterday: out
    create_attempt(session, tenant, second, attempted_at=recent - timedelta(days=9))  # stays
    create_attempt(session, tenant, third, attempted_at=recent, status=AttemptStatus.SUCCESS)
    stored = [s for s in stored_cycles(session, tenant) if s.row.name == "Key accounts"]
    (compiled,) = compile_cycles(session, tenant, stored, TODAY)
    ids = session.scalars(select(Customer.id).where(Customer.tenant_id == tenant.id)).all()
    expected, never_attempted = expected_key_accounts(session, tenant)
    assert {i for i in ids if compiled.customers(i)} == expected
    assert first.id not in expected and {second.id, third.id} <= expected
    assert len(never_attempted) >= 5  # the customers the first version left out


def test_the_example_cycles_save_without_warnings(session, demo):
    tenant, cycles = demo
    for cycle in cycles.values():
        assert cycle_warnings(session, tenant, cycle.model_dump(mode="json"), as_of=TODAY) == []


def test_the_first_key_accounts_payment_rule_is_unknown_for_most_customers(session, demo):
    tenant, cycles = demo
    data = cycles["Key accounts"].model_dump(mode="json") | {"payment": OLD_PAYMENT_RULE}
    (w,) = cycle_warnings(session, tenant, data, as_of=TODAY)
    expected, never_attempted = expected_key_accounts(session, tenant)
    assert (w.where, w.level, w.field) == ("payment", "payment", "last_attempt_status")
    assert (w.count, w.total) == (len(never_attempted), len(expected))
    assert w.empty == (("last_attempt_status", w.count), ("last_attempt_at", w.count))
    assert w.message.startswith(
        f"the payment rule is unknown for {w.count} of {w.total} customers ("
    )
    assert w.fix.startswith(
        f"if customers with no last_attempt_status should match, write: "
        f"last_attempt_status is empty or {OLD_PAYMENT_RULE};"
    )
