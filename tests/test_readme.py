"""The README's commands run as written, on a fresh SQLite database (issue 12, item 14).

What ``make run`` does first (its recipe is read from the Makefile, not copied here), then
every ``sh`` block of the README from "Using the CLI" to "Your own data", line by line in
one shell per block, each command required to succeed. Two liberties, both stated:

- the API is served on a free port instead of 8000 (a developer's own ``make run`` may hold
  8000), so ``127.0.0.1:8000`` in the curl lines is replaced by that port;
- ``arpolicy worker`` without ``--until-idle`` runs until stopped: it is started in the
  background and stopped at the end, as a reader running the README beside ``serve`` would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIRST, LAST = "## Using the CLI", "## Configuration"


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text.split(FIRST, 1)[1].split(LAST, 1)[0]
    return re.findall(r"```sh\n(.*?)```", part, flags=re.S)


def _make_run_setup() -> list[str]:
    """The commands of ``make run`` before ``serve``, with ``$(BIN)/`` dropped."""
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = make.split("\nrun:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    demo_n = re.search(r"ARPOLICY_DEMO_CUSTOMERS \?= (\d+)", make)
    assert demo_n is not None
    lines = [
        line.strip().replace("$(BIN)/", "").replace("$(ARPOLICY_DEMO_CUSTOMERS)", demo_n[1])
        for line in recipe
    ]
    assert lines[-1] == "arpolicy serve", lines
    return lines[:-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "arpolicy serve exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("arpolicy serve did not listen within 30 s")


def _run(script: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("curl") is None and not os.environ.get("CI"), reason="no curl")
def test_the_readme_commands_run_as_written(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ARPOLICY_DATABASE_URL": f"sqlite:///{tmp_path / 'arpolicy.db'}",
        "ARPOLICY_PORT": str(port),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    env.pop("ARPOLICY_TENANT", None)
    env.pop("ARPOLICY_NOW", None)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    _run("\n".join(_make_run_setup()), tmp_path, env)

    server = subprocess.Popen(
        [str(BIN / "arpolicy"), "serve"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    background: list[subprocess.Popen[bytes]] = [server]
    try:
        _wait_for(port, server)
        outputs = []
        for block in _blocks():
            lines = []
            for line in block.splitlines():
                if re.match(r"arpolicy worker\s+#", line):
                    worker = subprocess.Popen(
                        [str(BIN / "arpolicy"), "worker"], cwd=tmp_path, env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                    )  # fmt: skip
                    background.append(worker)
                    continue
                lines.append(line.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
            outputs.append(_run("\n".join(lines), tmp_path, env))
        for proc in background[1:]:
            assert proc.poll() is None, "arpolicy worker stopped by itself"
    finally:
        for proc in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)

    api = outputs[1]
    customers, end = json.JSONDecoder().raw_decode(api, api.index('{"items"'))
    ageing, _ = json.JSONDecoder().raw_decode(api, end)
    assert len(customers["items"]) == 2 and "status" not in ageing
    assert (tmp_path / "ageing.csv").read_text(encoding="utf-8").count("\n") > 2
    exported = (tmp_path / "customers.csv").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 1 + 4 and exported[0].startswith("external_id,")
    assert "Acme Europe GmbH" in outputs[-1]
    assert list((tmp_path / "var" / "mail" / "new").iterdir()), "the worker sent no email"
