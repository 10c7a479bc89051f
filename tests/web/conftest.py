"""The web app under test.

- ``web_client``: a TestClient on each database (SQLite, PostgreSQL) with a fixed clock,
  for the server side of signing in, CSRF and permissions (tests/web/test_*.py).
- ``live``: the app served by uvicorn in a thread on SQLite with a small demo tenant
  (every demo user's password is ``demo-password``), for the browser tests that walk each
  screen in Debian's Chromium through Playwright (tests/web/browser.py has the helpers).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.app import create_app
from arpolicy.cli.demo import install_example, set_passwords
from arpolicy.config import Settings
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.demo import generate, write
from arpolicy.models import User, UserRole
from arpolicy.tenancy.rls import scope_tenant, tenant_of_slug
from tests.api.conftest import NOW
from tests.conftest import IN_CI

PASSWORD = "demo-password"
LIVE_SLUG = "demo"


@pytest.fixture
def web_client(db_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    from arpolicy.kit.clock import FixedClock

    settings = Settings(
        database_url=db_engine.url.render_as_string(hide_password=False),
        mail_url=f"maildir://{tmp_path / 'mail'}",
    )
    app = create_app(settings, clock=FixedClock(NOW))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c
    app.state.engine.dispose()


@dataclass
class Live:
    """The served app: its address, its database and the demo users' emails by role."""

    url: str
    engine: Engine
    mail: Path
    emails: dict[UserRole, str]

    def email(self, role: UserRole) -> str:
        return self.emails[role]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{base / 'app.db'}"
    engine = make_engine(url)
    upgrade(engine)
    today = NOW.date()
    with transaction(engine) as db:
        write(db, LIVE_SLUG, generate(40, 1, today))
        install_example(db, LIVE_SLUG, today)
        set_passwords(db, LIVE_SLUG, PASSWORD)
    emails: dict[UserRole, str] = {}
    with transaction(engine, write=False) as db:
        tenant_id = tenant_of_slug(db, LIVE_SLUG)
        assert tenant_id is not None
        scope_tenant(db, tenant_id)
        for user in db.scalars(select(User).where(User.active).order_by(User.id)):
            emails.setdefault(user.role, user.email)
    port = _free_port()
    settings = Settings(
        database_url=url,
        mail_url=f"maildir://{base / 'mail'}",
        public_url=f"http://127.0.0.1:{port}",
        now=NOW.isoformat(),
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start in 20 s")
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", engine, base / "mail", emails)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at Debian's Chromium (Playwright cannot
    download its own browsers here). Without it the browser tests skip on a laptop and
    fail under CI=true."""
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


SCREENSHOTS = os.environ.get("ARPOLICY_SCREENSHOTS", "") not in {"", "0"}
