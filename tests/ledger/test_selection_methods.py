"""Payment methods as seed 004 names them (cash, cheque, chargeback, card) on the primary,
backup and last attempted payment method: ``cheque`` is another spelling of ``check``, in
rules and imports alike; each selects the same customers in the database and in Python, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.selection import payment_profile_records, select_payment_profiles
from arpolicy.models import Customer, PaymentMethod, PaymentSource, SourceKind, SourceRole
from arpolicy.rules import RuleError, bind, check, parse, to_python
from tests.fixtures.factories import create_attempt, create_customer, create_tenant

AS_OF = date(2026, 11, 23)
FIELDS = catalogue_for("USD").level("payment")
METHODS = ("cash", "check", "chargeback", "card")


@pytest.fixture
def customers(session):
    """One customer per method, paying by it (primary), keeping it as backup, and whose last
    attempt used it; one customer with none of them."""
    t = create_tenant(session, timezone="UTC")
    for method in METHODS:
        c = create_customer(session, t, external_id=method.upper())
        for role in (SourceRole.PRIMARY, SourceRole.BACKUP):
            session.add(
                PaymentSource(
                    tenant_id=t.id,
                    external_id=f"{method}-{role}",
                    customer_id=c.id,
                    kind=SourceKind(method),
                    role=role,
                    status="valid",
                )
            )
        create_attempt(
            session,
            t,
            c,
            method=PaymentMethod(method),
            attempted_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
    create_customer(session, t, external_id="NONE")
    session.flush()
    return session, t


def selected(customers, text: str) -> set[str]:
    session, t = customers
    bound = bind(check(parse(text), FIELDS), AS_OF, tz="UTC")
    q = select(Customer.id, Customer.external_id).where(Customer.tenant_id == t.id)
    label = dict(session.execute(q).all())
    in_sql = {label[i] for i in select_payment_profiles(session, t, bound, FIELDS)}
    matches = to_python(bound, FIELDS)
    records = payment_profile_records(session, t, FIELDS, AS_OF)
    assert in_sql == {label[i] for i, r in records if matches(r)}, text
    return in_sql


@pytest.mark.parametrize(
    "field", ["primary_payment_method", "backup_payment_method", "last_attempt_method"]
)
def test_each_method_on_each_field(customers, field):
    for method in METHODS:
        assert selected(customers, f"{field} = {method}") == {method.upper()}
    assert selected(customers, f"{field} = cheque") == {"CHECK"}
    assert selected(customers, f"{field} includes (cheque, chargeback)") == {"CHECK", "CHARGEBACK"}
    assert selected(customers, f"{field} excludes (cheque)") == {"CASH", "CHARGEBACK", "CARD"}
    assert selected(customers, f"{field} is empty") == {"NONE"}


def test_a_method_that_is_none_of_them_names_the_allowed_ones():
    with pytest.raises(RuleError) as err:
        check(parse("primary_payment_method = cheq"), FIELDS)
    assert "check" in err.value.problems[0].fix and "chargeback" in err.value.problems[0].fix
