from __future__ import annotations

import json

import pytest

from arpolicy.cli.main import app
from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import is_current
from tests.conftest import new_pg_database


def test_init_creates_and_is_idempotent(runner, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
    for _ in range(2):
        res = runner.invoke(app, ["init"])
        assert res.exit_code == 0, res.output
    assert is_current(make_engine(url))


@pytest.mark.postgres
def test_init_on_postgresql(runner, monkeypatch):
    url, drop = new_pg_database()
    try:
        monkeypatch.setenv("ARPOLICY_DATABASE_URL", url)
        assert runner.invoke(app, ["init"]).exit_code == 0
        res = runner.invoke(app, ["tenants", "create", "pg", "--base-currency", "EUR"])
        assert res.exit_code == 0, res.output
        listed = json.loads(runner.invoke(app, ["tenants", "list", "--json"]).stdout)
        assert listed[0]["slug"] == "pg" and listed[0]["base_currency"] == "EUR"
    finally:
        drop()


def test_bad_database_url_is_explained(runner, monkeypatch):
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", "mysql://nobody@nowhere/db")
    res = runner.invoke(app, ["init"])
    assert res.exit_code == 2
    assert "not supported" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Slug"], "not a valid tenant slug"),
        (["ok", "--base-currency", "usd"], "upper case: USD"),
        (["ok", "--timezone", "Mars/Base"], "IANA"),
        (["ok", "--locale", "xx_YY"], "locale"),
        (["ok", "--ageing", "30,20"], "strictly increase"),
        (["ok", "--ageing", "a,b"], "positive whole numbers"),
    ],
)
def test_tenant_create_errors(runner, cli_db, args, message):
    res = runner.invoke(app, ["tenants", "create", *args])
    assert res.exit_code == 2
    assert message in res.stderr
    assert "fix:" in res.stderr


def test_duplicate_tenant_is_a_conflict(runner, cli_db):
    assert runner.invoke(app, ["tenants", "create", "dup"]).exit_code == 0
    res = runner.invoke(app, ["tenants", "create", "dup"])
    assert res.exit_code == 2 and "already exists" in res.stderr
