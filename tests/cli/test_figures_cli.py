"""customers list/show and report ageing, through the real CLI entry point."""

from __future__ import annotations

import csv
import io
import json

from arpolicy.cli.main import app

AS_OF = ["--as-of", "2026-06-30"]


def test_ageing_json_has_rows_and_totals(runner, shop):
    res = runner.invoke(app, ["report", "ageing", *AS_OF, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["currency"] == "USD" and data["as_of"] == "2026-06-30"
    assert [c["external_id"] for c in data["customers"]] == ["A1", "B2"]
    a = data["customers"][0]
    assert a["ageing"]["current"] == "50.00" and a["ageing"]["1-30"] == "100.00"
    assert data["customers"][1]["ageing"]["over 120"] == "20.00"  # 2026-02-01 is 149 days past due
    assert data["totals"]["total"] == "170.00"
    assert data["totals"]["unaccounted_payment"] == "5.00"
    assert data["totals"]["outstanding"] == "165.00"


def test_ageing_csv_is_spreadsheet_safe(runner, shop):
    res = runner.invoke(app, ["report", "ageing", *AS_OF, "--csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0][:3] == ["customer", "name", "current"]
    names = {r[0]: r[1] for r in rows[1:]}
    assert names["A1"].startswith("'=HYPERLINK")
    assert rows[-1][1] == "Total" and rows[-1][-1] == "165.00"


def test_ageing_table_prints_data_as_written(runner, shop):
    res = runner.invoke(app, ["report", "ageing", *AS_OF], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "[bold]Bob[/bold]" in res.stdout  # never interpreted as markup
    assert "Total" in res.stdout


def test_json_and_csv_together_is_an_error(runner, shop):
    res = runner.invoke(app, ["report", "ageing", "--json", "--csv"])
    assert res.exit_code == 2
    assert "exclude each other" in res.stderr


def test_bad_as_of_date_is_a_clear_error(runner, shop):
    res = runner.invoke(app, ["report", "ageing", "--as-of", "30/06/2026"])
    assert res.exit_code == 2
    assert "--as-of" in res.stderr and "YYYY-MM-DD" in res.stderr


def test_unknown_tenant_lists_the_known_ones(runner, shop):
    res = runner.invoke(app, ["report", "ageing", "--tenant", "nope"])
    assert res.exit_code == 2
    assert "no tenant 'nope'" in res.stderr and "shop" in res.stderr


def test_customers_show_json(runner, shop):
    res = runner.invoke(app, ["customers", "show", "A1", *AS_OF, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["figures"]["base"]["outstanding"] == "150.00"
    assert data["figures"]["base"]["overdue"] == "100.00"
    assert [d["number"] for d in data["open_documents"]] == ["I-1", "I-2"]
    assert data["open_documents"][0]["days_past_due"] == 29


def test_customers_show_unknown_id(runner, shop):
    res = runner.invoke(app, ["customers", "show", "ZZZ"])
    assert res.exit_code == 2
    assert "no customer 'ZZZ'" in res.stderr


def test_customers_list_overdue_only(runner, shop):
    res = runner.invoke(app, ["customers", "list", *AS_OF, "--overdue", "--json"])
    data = json.loads(res.stdout)
    assert [c["external_id"] for c in data["customers"]] == ["A1", "B2"]
    res = runner.invoke(app, ["customers", "list", "--as-of", "2026-01-01", "--overdue", "--json"])
    assert json.loads(res.stdout)["customers"] == []


def test_commands_refuse_an_unmigrated_database(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    res = runner.invoke(app, ["report", "ageing"])
    assert res.exit_code == 2
    assert "arpolicy init" in res.stderr
