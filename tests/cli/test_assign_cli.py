"""``arpolicy assign`` and the import hook, end to end on a SQLite file."""

from __future__ import annotations

import json

from sqlalchemy import select

from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.models import Customer, User
from tests.fixtures.factories import create_tenant, create_user

POLICY = """
policies:
  - role: finance
    rules:
      - name: DACH
        when: language includes (de)
        assign: {strategy: round_robin, users: ["team:DACH"]}
    fallback: {strategy: fixed, users: [cal@shop.example]}
"""


def _setup(cli_db):
    with transaction(cli_db) as s:
        t = create_tenant(s, "shop")
        for email, team in (
            ("ann@shop.example", "DACH"),
            ("ben@shop.example", "DACH"),
            ("cal@shop.example", "US"),
        ):
            create_user(s, t, email=email, team=team)


def _owners(cli_db):
    with transaction(cli_db, write=False) as s:
        rows = s.execute(
            select(Customer.external_id, User.email).join(
                User, User.id == Customer.finance_owner_id
            )
        )
        return dict(rows.all())


def test_load_import_assigns_then_explain_and_set(cli_db, runner, tmp_path):
    _setup(cli_db)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    r = runner.invoke(app, ["assign", "load", str(policy)])
    assert r.exit_code == 0, r.output
    assert "finance policy saved as version 1" in r.output
    customers = tmp_path / "customers.csv"
    customers.write_text("external_id,name,language\nA,Alpha,de\nB,Beta,de\nC,Gamma,en\n")
    r = runner.invoke(app, ["import", "customers", str(customers), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [a["changed"] for a in out["assignment"]] == [3]
    assert _owners(cli_db) == {
        "A": "ann@shop.example",
        "B": "ben@shop.example",
        "C": "cal@shop.example",
    }
    r = runner.invoke(app, ["assign", "explain", "A", "--json"])
    info = json.loads(r.output)["finance"]
    assert info["rule"] == "DACH" and "language de includes (de): yes" in info["explanation"]
    r = runner.invoke(
        app, ["assign", "set", "A", "--role", "finance", "--user", "cal@shop.example"]
    )
    assert r.exit_code == 0 and "(locked)" in r.output
    r = runner.invoke(app, ["assign", "run", "--json"])
    finance = next(x for x in json.loads(r.output) if x["role"] == "finance")
    assert (finance["changed"], finance["locked"]) == (0, 1)
    assert _owners(cli_db)["A"] == "cal@shop.example"


def test_dry_run_and_errors(cli_db, runner, tmp_path):
    _setup(cli_db)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "role: finance\nrules:\n  - name: x\n    when: langage = de\n    assign: {strategy: fixed, users: [nobody@x.example]}\n"
    )
    r = runner.invoke(app, ["assign", "load", str(bad)])
    assert r.exit_code == 2 and "rules[0].when" in r.output and "did you mean language" in r.output
    assert "rules[0].assign.users" in r.output
    r = runner.invoke(app, ["assign", "run", "--role", "owner"])
    assert r.exit_code == 2 and "finance or sales" in r.output
    r = runner.invoke(app, ["assign", "run", "--dry-run", "--json"])
    assert r.exit_code == 0 and all(x["note"] for x in json.loads(r.output))
