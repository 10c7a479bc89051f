"""The seed-004 rule table of docs/rules.md: every row of the seed's engagement rule tables
is there, in order, with a rule that checks at its level and, run on the small ledger of
seed004_ledger.py as of 2026-11-23 (a Monday), matches the record it should and not the
one it should not, in the database (SQLite and PostgreSQL) and in Python alike.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import records
from arpolicy.ledger.selection import select as select_ids
from arpolicy.rules import Level, bind, check, parse, to_python, to_text
from tests.rules.seed004_ledger import AS_OF, CUSTOM, ledger

DOC = Path(__file__).parents[2] / "docs" / "rules.md"

SEED_ROWS = {  # the first column of each table of seed 004, in its order
    "customer": [
        "Outstanding",
        "Overdue",
        "Net Overdue",
        "Open Debits",
        "Unaccounted Payment",
        "Unutilisted Credit",
        "Ageing Bucket(eg. 1-30)",
        "Open Issue Amount",
        "Open P2P Amount",
        "Last Email Date",
        "Last Reply Date",
        "Next P2P Date",
        "Finance Owner",
        "Sales Owner",
        "Outstanding Mismatch",
    ],
    "invoice": [
        "Amount",
        "Balance",
        "Converted Amount",
        "Converted Balance",
        "Open Issue Amount",
        "Open P2P Amount",
        "Document Date",
        "Due Date",
        "Posting Date",
        "P2P Date",
        "Open P2P Amount",
        "Last Email Date",
        "Last Reply Date",
        "Transaction Type",
        "Document Type",
        "Currency",
        "Location",
        "Business Unit",
        "Has P2P Date",
        "Disputed",
        "Paid",
        "Custom Field",
    ],
    "payment": [
        "Last Attempted Payment Date",
        "Last Attempted Payment Status",
        "Last Attempted Payment Amount",
        "Last Attempted Payment Method",
        "Last Attempted Payment Failure Error",
        "Last Payment Gateway Used",
        "Dunning Status of Last Attempted Payment",
        "Count of Payment Attempts",
        "Next Scheduled Retry",
        "Primary Payment Method",
        "Backup Payment Method",
        "Masked Credit Card Numbers",
        "Auto Collection",
        "Net Term Days",
        "Payment Risk",
        "Payment Source Status",
        "Monthly DSO (Days)",
        "Average Payment Attempts",
        "Subscription Status",
        "Last Email",
        "Last Reply Date",
    ],
}

# level -> rule -> (a record it matches, one it does not); None: nothing can match it yet
EXPECTED: dict[str, dict[str, tuple[str | None, str]]] = {
    "customer": {
        "outstanding > 1000 USD": ("BIG", "SMALL"),
        "overdue > 1000 USD": ("BIG", "SMALL"),
        "net_overdue > 1000 USD": ("BIG", "SMALL"),
        "open_debits > 1000 USD": ("BIG", "SMALL"),
        "unaccounted_payment > 0": ("BIG", "SMALL"),
        "unutilised_credit > 0": ("BIG", "SMALL"),
        "ageing_1_30 > 5000 USD": ("BIG", "SMALL"),
        "open_issue_amount = 0": ("BIG", "SMALL"),
        "open_p2p_amount > 2000 USD": ("BIG", "SMALL"),
        "last_email_at = 30 days ago": ("BIG", "SMALL"),
        "last_reply_at = 30 days ago": ("BIG", "SMALL"),
        "next_p2p_date in the next 7 days": ("BIG", "SMALL"),
        'finance_owner includes ("ana@example.com")': ("BIG", "SMALL"),
        'sales_owner includes ("raj@example.com")': ("BIG", "SMALL"),
        "outstanding_mismatch = 0": ("BIG", "SMALL"),
    },
    "invoice": {
        "amount > 1000 USD": ("B1", "S1"),
        "balance > 500 USD": ("B1", "S1"),
        "converted_amount > 1000 USD": ("E1", "S1"),
        "converted_balance > 500 USD": ("E1", "S1"),
        "open_issue_amount = 0": ("B1", "S1"),
        "open_p2p_amount > 0": ("B1", "S1"),
        "document_date = 30 days ago": ("B1", "S1"),
        "due_date = 30 days ago": ("B1", "S1"),
        "posting_date = 30 days ago": ("B1", "S1"),
        "p2p_date in the next 7 days": ("B1", "S1"),
        "customer.open_p2p_amount > 2000 USD": ("B1", "S1"),
        "last_email_at = 30 days ago": ("B1", "S1"),
        "last_reply_at = 30 days ago": ("B1", "S1"),
        "debit_or_credit = credit": ("CN1", "B1"),
        "document_type includes (invoice, debit_note)": ("B1", "CN1"),
        "currency includes (USD)": ("B1", "E1"),
        'location includes ("New Delhi")': ("B1", "S1"),
        'business_unit includes ("retail outlets")': ("B1", "S1"),
        "has_p2p_date": ("B1", "S1"),
        "not disputed": ("B1", "S1"),
        "not paid": ("B1", "P1"),
        "cf.po_number = PO-778": ("B1", "S1"),
    },
    "payment": {
        "last_attempt_at in the last 7 days": ("BIG", "SMALL"),
        "last_attempt_status = success": ("SMALL", "BIG"),
        "last_attempt_amount > 1000 USD": ("BIG", "SMALL"),
        "last_attempt_method = cash": ("BIG", "SMALL"),
        'last_attempt_error = "Insufficient funds"': ("BIG", "SMALL"),
        "last_attempt_gateway includes (stripe)": ("BIG", "SMALL"),
        "dunning_status = exhausted": ("BIG", "SMALL"),
        "payment_attempts > 1000": ("MANY", "BIG"),
        "next_retry_at in the last 7 days": ("BIG", "SMALL"),
        "primary_payment_method = cash": ("BIG", "SMALL"),
        "backup_payment_method = card": ("BIG", "SMALL"),
        "card_same_as_last_update": ("SMALL", "MANY"),
        "auto_collection": ("SMALL", "BIG"),
        "net_term_days > 1000": ("MANY", "BIG"),
        "payment_risk = high": (None, "SMALL"),  # no source in the ledger yet (docs say so)
        "payment_source_status = valid": ("SMALL", "MANY"),
        "monthly_dso > 1000": ("MANY", "BIG"),
        "average_payment_attempts > 1000": ("MANY", "BIG"),
        "subscription_status = active": ("SMALL", "BIG"),
        "customer.last_email_at < 7 days ago": ("BIG", "SMALL"),
        "customer.last_reply_at < 7 days ago": ("BIG", "SMALL"),
    },
}


def seed_table() -> dict[str, list[tuple[str, str, str]]]:
    """level -> [(seed rule, seed example, rule)] as docs/rules.md lists them."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The seed-004 rule table", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[tuple[str, str, str]]] = {}
    for level, body in re.findall(r"### (\w+) level\n(.*?)(?=\n### |\Z)", section, re.S):
        rows = [line for line in body.splitlines() if line.startswith("| ")][1:]  # no header
        found[level] = []
        for row in rows:
            name, example, rule, _note = (c.strip() for c in row.strip("|").split(" | "))
            assert rule.startswith("`") and rule.endswith("`"), row
            found[level].append((name, example, rule[1:-1]))
    return found


TABLE = seed_table()


def test_the_table_lists_every_seed_row_in_order_with_one_rule_each():
    assert {level: [name for name, _, _ in rows] for level, rows in TABLE.items()} == SEED_ROWS
    for level, rows in TABLE.items():  # each rule of the table has its expectation
        assert sorted(rule for _, _, rule in rows) == sorted(EXPECTED[level]), level


@pytest.mark.parametrize("level", list(TABLE))
def test_every_rule_checks_and_is_written_canonically(level):
    fields = catalogue_for("USD", custom_fields=CUSTOM).level(level)
    for _, _, rule in TABLE[level]:
        assert to_text(check(parse(rule), fields)) == rule  # written in canonical form


@pytest.mark.parametrize("level", list(TABLE))
def test_every_rule_matches_what_it_should_in_sql_and_python(session, level):
    t, labels = ledger(session)
    fields = catalogue_for("USD", custom_fields=CUSTOM).level(level)
    label = labels[Level(level) is Level.INVOICE]
    recs = {label[i]: r for i, r in records(session, t, fields, AS_OF)}
    fx = exchange(session, t)
    failures = []
    for name, _, text in TABLE[level]:
        bound = bind(check(parse(text), fields), AS_OF, tz="UTC", exchange=fx)
        in_sql = {label[i] for i in select_ids(session, t, bound, fields)}
        matches = to_python(bound, fields)
        in_python = {key for key, r in recs.items() if matches(r)}
        yes, no = EXPECTED[level][text]
        if in_sql != in_python or (yes is not None and yes not in in_sql) or no in in_sql:
            failures.append(
                f"{name}: {text} selects {sorted(in_sql)} in SQL, "
                f"{sorted(in_python)} in Python; expected {yes} and not {no}"
            )
        if yes is None:  # payment risk: nothing to match until the ledger has a source for it
            assert in_sql == set(), text
    assert not failures, "\n".join(failures)
