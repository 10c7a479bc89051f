"""A bad ARPOLICY_* setting is a clear error naming the variable (exit 2), on every command,
the service and the worker included, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from arpolicy.cli.main import app


@pytest.mark.parametrize("command", [["customers", "list"], ["serve"], ["worker", "--once"]])
@pytest.mark.parametrize(
    "variable,value",
    [("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/33"), ("ARPOLICY_PORT", "eighty")],
)
def test_a_bad_setting_names_its_variable(cli_db, monkeypatch, command, variable, value):
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: {variable}: " in result.stderr
    assert f"fix: correct {variable} in the environment" in result.stderr
    assert "Traceback" not in result.output
