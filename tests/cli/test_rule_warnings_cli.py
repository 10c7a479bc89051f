"""Warnings at the terminal (issue 12, item 10): `rules check`, `engage load` and `assign
load` say when a rule is unknown for many of the records it reads, and still succeed."""

from __future__ import annotations

import json

from arpolicy.cli.main import app

RULE = "not (last_attempt_status = failure)"
WARNING = "warning: the rule is unknown for 2 of 2 customers (100%), so it never matches them"
FIX = "  fix: if customers with no last_attempt_status should match, write: last_attempt_status "


def test_check_warns_and_exits_zero(runner, shop):
    res = runner.invoke(app, ["rules", "check", RULE, "-l", "payment", "--as-of", "2026-06-30"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "valid payment rule: not last_attempt_status = failure\n"
    lines = res.stderr.splitlines()
    assert lines[0].startswith(WARNING) and lines[0].endswith(" (as of 2026-06-30)")
    assert lines[1].startswith(FIX + "is empty or not last_attempt_status = failure;")
    res = runner.invoke(app, ["rules", "check", RULE, "-l", "payment", "--json"])
    assert res.exit_code == 0, res.output
    (w,) = json.loads(res.stdout)["warnings"]
    assert (w["field"], w["count"], w["total"], w["share"]) == ("last_attempt_status", 2, 2, 1.0)
    fixed = "last_attempt_status is empty or " + RULE
    res = runner.invoke(app, ["rules", "check", fixed, "-l", "payment"])
    assert res.exit_code == 0 and res.stderr == ""


def test_loading_a_cycle_or_a_policy_warns_and_saves(runner, shop, tmp_path):
    cycles = tmp_path / "cycles.yaml"
    cycles.write_text(f"name: Key\npayment: {RULE}\nreminders: [{{name: n, template: firm}}]\n")
    res = runner.invoke(app, ["engage", "load", str(cycles)])
    assert res.exit_code == 0, res.output
    assert "cycle 'Key' saved: version 1" in res.stdout
    assert "warning: cycle 'Key': the payment rule is unknown for 2 of 2 customers" in res.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "role: finance\nrules:\n  - name: abroad\n    when: country != DE\n"
        "    assign: {strategy: round_robin, users: ['role:collector']}\n"
    )
    res = runner.invoke(app, ["assign", "load", str(policy)])
    assert res.exit_code == 0, res.output
    assert "finance policy saved as version 1" in res.stdout
    assert (
        "warning: finance policy: the rule at rules[0].when is unknown for 2 of 2 customers"
        in res.stderr
    )
    assert "  fix: if customers with no country should match, write: country is empty or " in (
        res.stderr
    )
