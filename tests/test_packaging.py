"""A plain ``pip install .`` (no dev extra) runs arpolicy (issue 13, item 6).

The package is built and installed into a new virtual environment with nothing else; every
module of ``arpolicy`` must import there (so every module imported at run time is a runtime
dependency), and the first commands a user runs must work: ``arpolicy --help``,
``arpolicy init`` and ``arpolicy worker --help``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = """
import importlib, pkgutil, arpolicy
failed = []
for m in pkgutil.walk_packages(arpolicy.__path__, "arpolicy."):
    if ".migrations.versions." in m.name or m.name.endswith(".migrations.env"):
        continue  # Alembic loads these itself, inside a migration context
    try:
        importlib.import_module(m.name)
    except Exception as e:
        failed.append(f"{m.name}: {type(e).__name__}: {e}")
print("\\n".join(failed))
raise SystemExit(1 if failed else 0)
"""


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("cleanenv")
    venv.EnvBuilder(with_pip=True, clear=True).create(where / "venv")
    pip = where / "venv" / "bin" / "pip"
    done = subprocess.run(
        [str(pip), "install", "-q", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return where


def _run(env_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARPOLICY_", "PYTHON"))}
    env["ARPOLICY_DATABASE_URL"] = f"sqlite:///{env_dir / 'arpolicy.db'}"
    return subprocess.run(
        args, capture_output=True, text=True, cwd=env_dir, env=env, timeout=300, check=False
    )


def test_the_clean_environment_has_no_dev_tools(clean_env: Path) -> None:
    python = str(clean_env / "venv" / "bin" / "python")
    for dev_only in ("pytest", "hypothesis", "schemathesis"):
        done = _run(clean_env, python, "-c", f"import {dev_only}")
        assert done.returncode != 0, f"{dev_only} should not be in a plain install"
    assert sys.prefix not in python


def test_every_module_imports_from_a_plain_install(clean_env: Path) -> None:
    done = _run(clean_env, str(clean_env / "venv" / "bin" / "python"), "-c", IMPORT_ALL)
    assert done.returncode == 0, done.stdout + done.stderr


def test_first_commands_run_from_a_plain_install(clean_env: Path) -> None:
    arpolicy = str(clean_env / "venv" / "bin" / "arpolicy")
    for args in (["--help"], ["init"], ["worker", "--help"]):
        done = _run(clean_env, arpolicy, *args)
        assert done.returncode == 0, f"arpolicy {' '.join(args)}:\n{done.stdout}{done.stderr}"
    assert (clean_env / "arpolicy.db").exists()


SERVE_PAGES = """
from fastapi.testclient import TestClient
from arpolicy.app import create_app
from arpolicy.config import Settings
import os
app = create_app(Settings(database_url=os.environ["ARPOLICY_DATABASE_URL"]))
with TestClient(app) as client:
    for path in ("/sign-in", "/static/vendor/htmx-2.0.11.min.js", "/static/app.css",
                 "/static/vendor/pico-2.1.1.min.css", "/static/vendor/chart-4.6.2.umd.min.js"):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
print("ok")
"""


def test_the_web_app_ships_its_templates_and_static_files(clean_env: Path) -> None:
    """The wheel carries web/templates and web/static (no build step at install)."""
    arpolicy = str(clean_env / "venv" / "bin" / "arpolicy")
    assert _run(clean_env, arpolicy, "init").returncode == 0
    done = _run(clean_env, str(clean_env / "venv" / "bin" / "python"), "-c", SERVE_PAGES)
    assert done.returncode == 0 and "ok" in done.stdout, done.stdout + done.stderr
