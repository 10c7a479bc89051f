"""What a customer reads in a reminder decided by a run, on SQLite and PostgreSQL: the
statement of account subtracts credit notes and payments on account (its balance is the
customer's outstanding figure), the email says how to pay when the tenant set it, and the
sender is never copied on her own email."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.kit.money import Money
from arpolicy.ledger.figures import customer_figures
from arpolicy.models import Contact, DocumentType, Email
from tests.fixtures.factories import (
    create_customer,
    create_document,
    create_payment,
    create_tenant,
    create_user,
)

AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
CYCLE = {
    "name": "Standard",
    "status": "live",
    "reminders": [
        {
            "name": "final",
            "anchor": "due_date",
            "offset_days": 10,
            "template": "final",
            "statement": True,
            "cc": ["finance_owner", "sales_owner", "AR@Shop.example"],
        }
    ],
}


@pytest.fixture
def owed(session):
    """A German customer owing 3,000.00 EUR, with a 500.00 credit note and 200.00 paid on
    account; its finance owner signs the reminders, its sales owner is copied."""
    t = create_tenant(session, base_currency="EUR", timezone="Europe/Berlin")
    actor = Actor(t.id, "test")
    finance = create_user(session, t, email=f"anna-{t.slug}@shop.example", name="Anna Adler")
    sales = create_user(session, t, email=f"sam-{t.slug}@shop.example", name="Sam Sales")
    admin.save_settings(session, t, actor, {"from_address": "ar@shop.example"}, at=NOW)
    admin.save_cycle(session, t, actor, CYCLE, at=NOW)
    c = create_customer(
        session,
        t,
        currency="EUR",
        country="DE",
        language="de",
        finance_owner_id=finance.id,
        sales_owner_id=sales.id,
    )
    session.add(
        Contact(
            tenant_id=t.id,
            external_id=f"K-{c.external_id}",
            customer_id=c.id,
            name="Bea Billing",
            email="billing@kunde.example",
            is_billing=True,
        )
    )
    create_document(
        session,
        t,
        c,
        "3000.00",
        number="RE-1",
        document_date=date(2026, 5, 1),
        due_date=AS_OF - timedelta(days=17),
    )
    create_document(
        session,
        t,
        c,
        "500.00",
        doc_type=DocumentType.CREDIT_NOTE,
        number="GS-1",
        document_date=date(2026, 6, 13),
        due_date=date(2026, 6, 13),
    )
    create_payment(session, t, c, "200.00", received_on=date(2026, 6, 20))
    return t, actor, c, finance, sales


def _email(session, t) -> Email:
    service.run(session, t, Actor(t.id, "test"), as_of=AS_OF, now=NOW)
    (email,) = session.scalars(select(Email).where(Email.tenant_id == t.id)).all()
    return email


def test_the_statement_subtracts_credit_and_payments_on_account(session, owed):
    t, _, c, _, _ = owed
    email = _email(session, t)
    text = email.text_body
    assert "IBAN" not in text and "bezahlen:" not in text  # the tenant set neither
    assert "Saldo: 2.300,00\xa0€" in text and "2.300,00\xa0€" in (email.html_body or "")
    (figures,) = customer_figures(session, t, AS_OF, [c.id])
    assert figures.local is not None
    assert figures.local.money("outstanding") == Money.of("2300.00", "EUR")
    rows = {
        r.split()[0]: re.split(r" {2,}", r)
        for r in text.splitlines()
        if re.match(r"(RE-|GS-|P)\d", r)
    }
    assert rows["RE-1"][3:] == ["17", "3.000,00\xa0€", "3.000,00\xa0€"]
    assert rows["GS-1"][0] == "GS-1 (Gutschrift)"
    assert rows["GS-1"][2:] == ["–", "–", "-500,00\xa0€", "-500,00\xa0€"]  # never overdue
    (paid,) = [r for k, r in rows.items() if k.startswith("P")]
    assert paid[0].endswith("(nicht zugeordnete Zahlung)")
    assert paid[2:] == ["–", "–", "-200,00\xa0€", "-200,00\xa0€"]


def test_the_sender_is_not_copied_on_her_own_email(session, owed):
    t, _, _, finance, sales = owed
    email = _email(session, t)
    assert email.from_address == f"Anna Adler <{finance.email}>"
    assert email.cc == [sales.email, "AR@Shop.example"]  # not the finance owner who sends it


def test_the_email_offers_the_payment_link_and_bank_details_when_set(session, owed):
    t, _, c, _, _ = owed
    t.payment_link_url = "https://pay.shop.example/{customer_number}?lang=de"
    t.bank_details = {
        "account_holder": "Shop GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": None,
    }
    session.flush()
    email = _email(session, t)
    link = f"https://pay.shop.example/{c.external_id}?lang=de"
    assert f"Online bezahlen: {link}\n" in email.text_body
    assert f'<a href="{link}"' in (email.html_body or "")
    assert "Kontoinhaber: Shop GmbH\nIBAN: DE89 3704 0044 0532 0130 00\nBIC: COBADEFFXXX\n" in (
        email.text_body
    )
    assert "Bank:" not in email.text_body
