"""The demo generator: deterministic, covering every state the product knows, internally
consistent (money, FX, references). Writing it to the database is test_demo_write.py."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from arpolicy.exceptions import ValidationError
from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money, exponent
from arpolicy.ledger.demo import TABLES, DemoData, generate
from arpolicy.models import (
    DEFAULT_AGEING_BOUNDS,
    AttemptStatus,
    DisputeStatus,
    DocumentType,
    PromiseStatus,
    SourceKind,
    SourceStatus,
    SubscriptionStatus,
    UserRole,
)

TODAY = date(2026, 11, 23)


def dump(data: DemoData) -> str:
    return json.dumps(dataclasses.asdict(data), default=repr, ensure_ascii=False)


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(30, 7, TODAY)


@pytest.fixture(scope="module")
def big() -> DemoData:
    return generate(300, 3, TODAY)


def bucket(days_past_due: int, bounds: list[int]) -> int:
    if days_past_due <= 0:
        return 0
    return next((i for i, b in enumerate(bounds, 1) if days_past_due <= b), len(bounds) + 1)


def rate_table(data: DemoData) -> RateTable:
    return RateTable(
        (r["from_currency"], r["to_currency"], r["valid_on"], r["rate"]) for r in data.fx_rates
    )


# determinism ----------------------------------------------------------------------------
def test_same_arguments_give_identical_rows(small):
    assert dump(generate(30, 7, TODAY)) == dump(small)


def test_rows_do_not_depend_on_hash_seed():
    """Set or dict-hash order would show up under different PYTHONHASHSEEDs."""
    code = (
        "import dataclasses, hashlib, json, datetime;"
        "from arpolicy.ledger.demo import generate;"
        "d = generate(25, 5, datetime.date(2026, 11, 23));"
        "print(hashlib.sha256(json.dumps(dataclasses.asdict(d), default=repr,"
        " ensure_ascii=False).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    here = hashlib.sha256(dump(generate(25, 5, TODAY)).encode()).hexdigest()
    assert digests == {here}


def test_different_seeds_or_dates_differ(small):
    assert dump(generate(30, 8, TODAY)) != dump(small)
    assert dump(generate(30, 7, TODAY + timedelta(days=1))) != dump(small)


def test_a_customer_does_not_depend_on_how_many_are_asked_for(small):
    assert generate(12, 7, TODAY).customers == small.customers[:12]


def test_rejects_bad_arguments():
    with pytest.raises(ValidationError, match="base currency"):
        generate(5, 1, TODAY, base_currency="SEK")
    with pytest.raises(ValidationError):
        generate(-1, 1, TODAY)
    assert generate(0, 1, TODAY).counts()["customers"] == 0


# coverage: every state appears in a small demo -------------------------------------------
def test_every_subscription_status(small):
    assert {s["status"] for s in small.subscriptions} == set(SubscriptionStatus)


def test_every_attempt_status_with_realistic_failures(small):
    attempts = small.payment_attempts
    assert {a["status"] for a in attempts} == set(AttemptStatus)
    reasons = {a["failure_reason"] for a in attempts if a["status"] == AttemptStatus.FAILURE}
    assert {"expired_card", "insufficient_funds"} <= reasons
    assert None not in reasons
    assert {a["gateway"] for a in attempts} <= {"stripe", "adyen", "braintree", "gocardless"}
    retrying = [a for a in attempts if a["next_retry_at"] is not None]
    assert retrying and all(a["next_retry_at"] > a["attempted_at"] for a in retrying)
    assert max(a["attempt_number"] for a in attempts) >= 4


def test_ageing_covers_every_default_bucket(small):
    open_debits = [
        d
        for d in small.documents
        if d["doc_type"] != DocumentType.CREDIT_NOTE and d["balance_minor"] and not d["voided"]
    ]
    buckets = {bucket((TODAY - d["due_date"]).days, DEFAULT_AGEING_BOUNDS) for d in open_debits}
    assert buckets == set(range(len(DEFAULT_AGEING_BOUNDS) + 2))


def test_cards_valid_expiring_and_expired(small):
    cards = [s for s in small.payment_sources if s["kind"] == SourceKind.CARD]
    by_status = defaultdict(list)
    for card in cards:
        year, month = card["expiry_year"], card["expiry_month"]
        last_day = date(year, month, calendar.monthrange(year, month)[1])
        by_status[card["status"]].append(last_day)
    assert all(TODAY <= d <= TODAY + timedelta(days=30) for d in by_status[SourceStatus.EXPIRING])
    assert all(d < TODAY for d in by_status[SourceStatus.EXPIRED])
    assert all(d > TODAY + timedelta(days=30) for d in by_status[SourceStatus.VALID])
    assert by_status[SourceStatus.EXPIRING] and by_status[SourceStatus.EXPIRED]
    assert {s["kind"] for s in small.payment_sources} == set(SourceKind)


def test_countries_languages_currencies(small):
    customers = small.customers
    assert len({c["country"] for c in customers}) >= 8
    currencies = {c["currency"] for c in customers}
    assert {"USD", "EUR", "JPY", "KWD"} <= currencies and len(currencies) >= 6
    assert exponent("JPY") == 0 and exponent("KWD") == 3
    for c in customers:
        assert c["locale"] == f"{c['language']}_{c['country']}"
        Locale.parse(c["locale"])
        ZoneInfo(c["timezone"])
        assert c["billing_address"]["country"] == c["country"]


def test_promises_disputes_orders_in_every_state(small):
    assert {p["status"] for p in small.promises} >= {
        PromiseStatus.OPEN,
        PromiseStatus.KEPT,
        PromiseStatus.BROKEN,
    }
    open_dates = [p["promised_on"] for p in small.promises if p["status"] == PromiseStatus.OPEN]
    assert min(open_dates) < TODAY < max(open_dates)
    assert any(p["document_ref"] is None for p in small.promises)
    assert {d["status"] for d in small.disputes} == set(DisputeStatus)
    assert len({o["status"] for o in small.sales_orders}) >= 5


def test_a_realistic_ledger_spread(big):
    docs = big.documents
    debits = [d for d in docs if d["doc_type"] != DocumentType.CREDIT_NOTE and not d["voided"]]
    paid = [d for d in debits if d["balance_minor"] == 0]
    partial = [d for d in debits if 0 < d["balance_minor"] < d["amount_minor"]]
    invoices = sum(d["doc_type"] == DocumentType.INVOICE for d in docs)
    assert 8 <= invoices / len(big.customers) <= 12
    assert 0.6 < len(paid) / len(debits) < 0.95
    assert partial and any(d["voided"] for d in docs)
    assert {d["doc_type"] for d in docs} == set(DocumentType)
    assert any(d["doc_type"] == DocumentType.CREDIT_NOTE and d["balance_minor"] for d in docs)
    with_docs = {d["customer_ref"] for d in docs}
    assert len(with_docs) < len(big.customers)  # some customers have no documents yet
    assert any(d["disputed"] for d in docs)
    assert any(p["unallocated_minor"] == p["amount_minor"] for p in big.payments)  # on account
    contacts = big.contacts
    assert any(c["email"] is None for c in contacts) and any(c["bounced"] for c in contacts)
    assert {(c["customer_ref"], c["is_billing"]) for c in contacts if c["is_billing"]} == {
        (i, True) for i in range(len(big.customers))
    }
    customers = big.customers
    assert sum(c["parent_ref"] is not None for c in customers) >= 2
    assert any(c["credit_check_exempt"] for c in customers)
    assert {c["net_term_days"] for c in customers} == {0, 15, 30, 45, 60}
    assert any(c["auto_collection"] for c in customers)
    assert any(not c["auto_collection"] for c in customers)


# consistency --------------------------------------------------------------------------
def test_references_point_at_rows_of_the_same_customer(small):
    for name, (_, refs) in TABLES.items():
        for row in getattr(small, name):
            for ref, (_, parent) in refs.items():
                assert row[ref] is None or 0 <= row[ref] < len(getattr(small, parent)), name
    for a in small.allocations:
        payment, doc = small.payments[a["payment_ref"]], small.documents[a["document_ref"]]
        assert payment["customer_ref"] == doc["customer_ref"]
        assert payment["currency"] == doc["currency"]
        assert a["allocated_on"] >= doc["document_date"]
    for c in small.customers:
        if c["parent_ref"] is not None:
            assert small.customers[c["parent_ref"]]["segment"] == "Enterprise"
    for d in small.documents:
        assert d["currency"] == small.customers[d["customer_ref"]]["currency"]
    numbers = [(d["doc_type"], d["number"]) for d in small.documents]
    assert len(set(numbers)) == len(numbers)


def test_allocations_never_exceed_payments_or_documents(big):
    per_payment, per_doc = Counter(), Counter()
    for a in big.allocations:
        assert a["amount_minor"] > 0
        per_payment[a["payment_ref"]] += a["amount_minor"]
        per_doc[a["document_ref"]] += a["amount_minor"]
    for i, p in enumerate(big.payments):
        assert per_payment[i] <= p["amount_minor"]
        assert p["unallocated_minor"] == p["amount_minor"] - per_payment[i]
        left = Money.from_minor(p["unallocated_minor"], p["currency"]).amount * p["fx_rate"]
        assert p["base_unallocated_minor"] == Money.of(left, "USD").minor_units()
    for i, d in enumerate(big.documents):
        assert 0 <= d["balance_minor"] <= d["amount_minor"]
        assert per_doc[i] <= d["amount_minor"] - d["balance_minor"]


def test_base_amounts_come_from_the_rate_table(big):
    """Every conversion is RateTable.convert at the record's date: the rates cover every
    date used (a missing rate would raise) and agree to the minor unit."""
    rates = rate_table(big)

    def check(row, amount_key, base_key, on):
        c = rates.convert(Money.from_minor(row[amount_key], row["currency"]), "USD", on)
        assert row[base_key] == c.converted.minor_units()
        return c

    for d in big.documents:
        c = check(d, "amount_minor", "base_amount_minor", d["document_date"])
        assert (d["fx_rate"], d["fx_rate_on"]) == (c.rate, c.rate_on)
        check(d, "balance_minor", "base_balance_minor", d["document_date"])
    for p in big.payments:
        c = check(p, "amount_minor", "base_amount_minor", p["received_on"])
        assert (p["fx_rate"], p["fx_rate_on"]) == (c.rate, c.rate_on)
    for p in big.promises:
        check(p, "amount_minor", "base_amount_minor", p["promised_on"])
    for d in big.disputes:
        check(d, "amount_minor", "base_amount_minor", d["opened_on"])


def test_rates_are_monthly_exact_and_plausible(small):
    first = min(r["valid_on"] for r in small.fx_rates)
    assert first <= min(d["document_date"] for d in small.documents)
    assert first <= TODAY - timedelta(days=2 * 365)
    pairs = defaultdict(list)
    for r in small.fx_rates:
        assert isinstance(r["rate"], Decimal) and r["valid_on"].day == 1
        assert r["valid_on"] <= TODAY and r["to_currency"] == "USD"
        pairs[r["from_currency"]].append(r["rate"])
    assert set(pairs) == {"EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "KWD"}
    plausible = {
        "EUR": (0.9, 1.3),
        "GBP": (1.05, 1.5),
        "JPY": (0.005, 0.009),
        "CAD": (0.6, 0.9),
        "AUD": (0.55, 0.8),
        "CHF": (0.95, 1.35),
        "KWD": (3.1, 3.4),
    }
    for cur, values in pairs.items():
        low, high = (Decimal(str(v)) for v in plausible[cur])
        assert all(low < v < high for v in values), cur
        assert len(set(values)) > 1


def test_another_base_currency():
    data = generate(15, 2, TODAY, base_currency="EUR")
    assert {r["to_currency"] for r in data.fx_rates} == {"EUR"}
    for d in data.documents:
        if d["currency"] == "EUR":
            assert d["fx_rate"] == 1 and d["base_amount_minor"] == d["amount_minor"]


def test_custom_fields_match_their_definitions(small):
    defs = {(f["entity"], f["key"]): f for f in small.custom_fields}
    csm = {u["email"] for u in small.users if u["role"] == UserRole.CUSTOMER_SUCCESS}
    for c in small.customers:
        f = c["custom_fields"]
        assert f["tier"] in defs[("customer", "tier")]["options"]
        assert isinstance(f["strategic"], bool) and int(f["employees"]) > 0
        assert f.get("client_csm", next(iter(csm))) in csm
        if "contract_value" in f:
            assert Money.from_json(f["contract_value"]).currency == c["currency"]
        if "renewal_date" in f:
            assert date.fromisoformat(f["renewal_date"]) > TODAY - timedelta(days=366)
    projects = defs[("document", "project")]["options"]
    doc_fields = [d["custom_fields"] for d in small.documents if d["custom_fields"]]
    assert any("po_number" in f for f in doc_fields)
    assert all(f["project"] in projects for f in doc_fields if "project" in f)


def test_users_form_teams_with_managers(small):
    users = small.users
    for u in users:
        if u["role"] == UserRole.COLLECTOR and u["active"]:
            lead = users[u["manager_ref"]]
            assert lead["role"] == UserRole.SUPERVISOR and lead["team"] == u["team"]
    assert {"DACH", "Americas", "France", "APAC"} <= {u["team"] for u in users}
    assert len({u["email"] for u in users}) == len(users)
    for c in small.customers:
        owner = users[c["finance_owner_ref"]]
        assert owner["role"] == UserRole.COLLECTOR and owner["active"]
        assert users[c["sales_owner_ref"]]["role"] == UserRole.SALES
