from __future__ import annotations

import json

from arpolicy.cli.main import app

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
    res = runner.invoke(app, ["rules", "match", "days_past_due >= 1 and balance > 10 USD", *AS_OF,
                              "--explain", "I-1", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["documents"] == ["I-1", "I-3"] and data["matches"] == 2
    assert data["explanation"]["verdict"] == "yes"
    assert "days_past_due 29 >= 1: yes" in data["explanation"]["text"]


def test_match_of_other_levels_and_unknown_documents_are_clear_errors(runner, shop):
    res = runner.invoke(app, ["rules", "match", "outstanding > 1 USD", "--level", "customer"])
    assert res.exit_code == 2 and "not available yet" in res.stderr
    res = runner.invoke(app, ["rules", "match", "paid", "--explain", "NOPE"])
    assert res.exit_code == 2 and "no document numbered 'NOPE'" in res.stderr
