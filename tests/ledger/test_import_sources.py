"""Payment sources and methods on import (seed 004's payment rules): offline ways to pay
(cash, check spelled cheque too, chargeback), and the card's previous last four digits,
recorded by every update that states the card (the rule field card_same_as_last_update)."""

from __future__ import annotations

from sqlalchemy import select

from arpolicy.models import Payment, PaymentAttempt, PaymentSource
from tests.fixtures.factories import create_customer, create_tenant
from tests.ledger.test_import_support import load


def sources(session, tenant) -> dict[str, tuple[str, str | None, str | None]]:
    q = select(PaymentSource).where(PaymentSource.tenant_id == tenant.id)
    return {s.external_id: (s.kind.value, s.last4, s.previous_last4) for s in session.scalars(q)}


def test_updates_that_state_the_card_record_the_one_it_replaces(session, tmp_path):
    t = create_tenant(session)
    create_customer(session, t, external_id="C1")

    def run(text: str) -> dict[str, tuple[str, str | None, str | None]]:
        report = load(session, t, tmp_path, "payment-sources", text)
        assert report.ok and report.applied, report.errors
        return sources(session, t)

    head = "external_id,customer,kind,role,last4\n"
    got = run(head + "PS1,C1,card,primary,4242\nPS2,C1,cheque,backup,\nPS3,C1,chargeback,none,\n")
    assert got == {
        "PS1": ("card", "4242", None),  # new: never updated
        "PS2": ("check", None, None),
        "PS3": ("chargeback", None, None),
    }
    assert run(head + "PS1,C1,card,primary,1881\n")["PS1"] == ("card", "1881", "4242")
    assert run(head + "PS1,C1,card,primary,1881\n")["PS1"] == ("card", "1881", "1881")
    status_only = "external_id,customer,kind,status\nPS1,C1,card,expiring\n"
    assert run(status_only)["PS1"] == ("card", "1881", "1881")  # the card was not stated
    given = "external_id,customer,kind,last4,previous_last4\nPS1,C1,card,0005,4242\n"
    assert run(given)["PS1"] == ("card", "0005", "4242")  # as the billing system says


def test_cheque_is_check_and_chargeback_a_method(session, tmp_path):
    t = create_tenant(session)
    create_customer(session, t, external_id="C1")
    report = load(
        session,
        t,
        tmp_path,
        "payments",
        "external_id,customer,currency,amount,received_on,method\n"
        "P1,C1,USD,10.00,2026-11-01,cheque\nP2,C1,USD,5.00,2026-11-02,cash\n",
    )
    assert report.ok, report.errors
    q = select(Payment.external_id, Payment.method).where(Payment.tenant_id == t.id)
    assert dict(session.execute(q).all()) == {"P1": "check", "P2": "cash"}
    report = load(
        session,
        t,
        tmp_path,
        "payment-attempts",
        "external_id,customer,attempted_at,status,currency,amount,method\n"
        "A1,C1,2026-11-01T10:00:00Z,failure,USD,10.00,chargeback\n"
        "A2,C1,2026-11-02T10:00:00Z,success,USD,10.00,cheque\n",
    )
    assert report.ok, report.errors
    q = select(PaymentAttempt.external_id, PaymentAttempt.method).where(
        PaymentAttempt.tenant_id == t.id
    )
    assert {k: v.value for k, v in session.execute(q).all()} == {
        "A1": "chargeback",
        "A2": "check",
    }
    bad = load(session, t, tmp_path, "payment-sources", "external_id,customer,kind\nX,C1,cheq\n")
    assert not bad.ok and "check" in bad.errors[0].fix
