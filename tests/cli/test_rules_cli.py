from __future__ import annotations

import json
from datetime import date

from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import get_tenant
from tests.fixtures.factories import create_customer, create_document, create_rate

AS_OF = ["--as-of", "2026-06-30"]


def test_check_valid_rule_prints_canonical_text_and_json(runner, shop):
    res = runner.invoke(app, ["rules", "check", "balance>50 USD and not   disputed", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["valid"] is True
    assert data["text"] == "balance > 50 USD and not disputed"
    assert data["json"]["all"][0] == {
        "field": "balance",
        "op": ">",
        "value": {"amount": "50", "currency": "USD"},
    }


def test_check_reports_every_problem_with_where_and_fix(runner, shop):
    res = runner.invoke(app, ["rules", "check", "balanse > 5 USD and currency > 3", "--json"])
    assert res.exit_code == 2
    problems = json.loads(res.stdout)["problems"]
    assert any("balanse" in p["what"] and "balance" in p["fix"] for p in problems)
    assert any("currency" in p["what"] for p in problems)
    res = runner.invoke(app, ["rules", "check", "balanse > 5 USD"])
    assert res.exit_code == 2 and "did you mean balance" in res.stderr


def test_match_selects_in_the_database_and_explains(runner, shop):
    res = runner.invoke(
        app,
        [
            "rules",
            "match",
            "days_past_due >= 1 and balance > 10 USD",
            *AS_OF,
            "--explain",
            "I-1",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["documents"] == ["I-1", "I-3"] and data["matches"] == 2
    assert data["explanation"]["verdict"] == "yes"
    assert "days_past_due 29 >= 1: yes" in data["explanation"]["text"]


def test_match_customers_with_their_figures_and_explain_one(runner, shop):
    # as of 2026-06-30: A1 owes 150.00 (100.00 overdue); B2 20.00 less 5.00 unallocated
    res = runner.invoke(
        app,
        [
            "rules",
            "match",
            "outstanding > 100 USD or overdue = 0 USD",
            "--level",
            "customer",
            *AS_OF,
            "--explain",
            "B2",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["level"] == "customer" and data["customers"] == ["A1"] and data["matches"] == 1
    assert data["explanation"]["customer"] == "B2" and data["explanation"]["verdict"] == "no"
    assert "outstanding 15.00 USD > 100.00 USD: no" in data["explanation"]["text"]
    res = runner.invoke(app, ["rules", "match", "unaccounted_payment > 0 USD", "-l", "customer"])
    assert res.exit_code == 0, res.output
    assert "1 customer(s) match" in res.stdout and "B2" in res.stdout


def test_match_payment_profiles(runner, shop):
    res = runner.invoke(
        app,
        [
            "rules",
            "match",
            "payment_attempts = 0 and monthly_dso is empty "
            "and customer.unaccounted_payment > 0 USD",
            "--level",
            "payment",
            *AS_OF,
            "--explain",
            "B2",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["customers"] == ["B2"] and data["explanation"]["verdict"] == "yes"
    assert "customer.unaccounted_payment 5.00 USD > 0.00 USD: yes" in data["explanation"]["text"]


def test_match_invoices_by_their_customer_figures(runner, shop):
    res = runner.invoke(
        app,
        ["rules", "match", "customer.overdue >= 100 USD and not has_p2p_date", *AS_OF, "--json"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["documents"] == ["I-1", "I-2"]


def test_match_errors_are_clear(runner, shop):
    res = runner.invoke(app, ["rules", "match", "outstanding > 1 USD", "--level", "vendor"])
    assert res.exit_code == 2 and "is not a rule level" in res.stderr
    res = runner.invoke(app, ["rules", "match", "paid", "--explain", "NOPE"])
    assert res.exit_code == 2 and "no document numbered 'NOPE'" in res.stderr
    res = runner.invoke(
        app, ["rules", "match", "overdue > 1 USD", "-l", "customer", "--explain", "NOPE"]
    )
    assert res.exit_code == 2 and "no customer with id 'NOPE'" in res.stderr


def test_match_compares_money_across_currencies_and_shows_the_rates(runner, shop):
    """``open_issue_amount = 0 USD`` covers invoices in every currency (it matched only the
    USD ones); ``balance > 10 USD`` compares an EUR balance at the day's rate, shown."""
    with transaction(shop) as s:
        t = get_tenant(s, "shop")
        create_rate(s, t, "EUR", "USD", date(2026, 1, 1), "1.08")
        c = create_customer(s, t, external_id="E1")
        create_document(s, t, c, "9.26", number="E-1", currency="EUR", due_date=date(2026, 6, 1))
        create_document(s, t, c, "9.25", number="E-2", currency="EUR", due_date=date(2026, 6, 1))
    res = runner.invoke(app, ["rules", "match", "open_issue_amount = 0 USD", *AS_OF, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["documents"] == ["I-1", "I-2", "I-3", "E-1", "E-2"]
    res = runner.invoke(app, ["rules", "match", "balance > 10 USD", *AS_OF, "--explain", "E-1"])
    assert res.exit_code == 0, res.output
    assert "4 invoice(s) match" in res.stdout and "E-2" not in res.stdout
    assert "1 EUR = 1.08 USD (rate of 2026-01-01)" in res.stdout
    assert "balance 9.26 EUR = 10.001 USD at 1.08 on 2026-06-30 > 10.00 USD: yes" in res.stdout


TABLE = """decide first
  when days_past_due > 60 then "final"   # a comment
  when days_past_due >= 1 then {"level": 1}
  otherwise "none"
"""


def test_match_a_decision_table_shows_what_each_rule_decides(runner, shop):
    # as of 2026-06-30: I-3 is 149 days past due, I-1 29, I-2 not yet due
    res = runner.invoke(app, ["rules", "match", TABLE, *AS_OF, "--explain", "I-1"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "2 invoice(s) match a rule of the table as of 2026-06-30" in res.stdout
    assert '  rule 1 then "final": 1: I-3\n' in res.stdout
    assert '  rule 2 then {"level": 1}: 1: I-1\n' in res.stdout
    assert '  otherwise "none": every other invoice\n' in res.stdout
    assert 'decide first: {"level": 1}' in res.stdout
    res = runner.invoke(
        app, ["rules", "match", TABLE.replace("first", "collect"), *AS_OF, "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["matches"] == 2 and data["documents"] == ["I-1", "I-3"]
    assert data["outcomes"] == [
        {"rule": 1, "then": "final", "matches": 1, "documents": ["I-3"]},
        {"rule": 2, "then": {"level": 1}, "matches": 2, "documents": ["I-1", "I-3"]},
        {"rule": None, "then": "none", "documents": []},
    ]


def test_match_a_customer_decision_table(runner, shop):
    table = 'decide first when outstanding > 100 USD then "big" when outstanding > 0 then "small"'
    res = runner.invoke(app, ["rules", "match", table, "-l", "customer", *AS_OF])
    assert res.exit_code == 0, res.output
    assert '  rule 1 then "big": 1: A1\n' in res.stdout
    assert '  rule 2 then "small": 1: B2\n' in res.stdout
