"""Test helpers for webhooks and the worker: a real HTTP receiver that verifies Standard
Webhooks signatures, databases of their own, and small factories.

The worker claims due messages of *every* tenant, so its tests must not share a database
with tests that leave messages behind: :func:`private_engine` gives each test module its own
migrated SQLite file or PostgreSQL database.

The receivers listen on 127.0.0.1, a loopback address webhooks are refused by default: the
tests that use them allow loopback explicitly (:data:`LOOPBACK`, :func:`loopback_allowed`),
as an operator would for a self-hosted receiver.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import standardwebhooks.webhooks as swh
from sqlalchemy import Engine, select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from arpolicy.kit.clock import Clock, FixedClock
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import OutboxMessage, OutboxStatus
from arpolicy.webhooks.destinations import ALLOW_SETTING, Destinations, parse_networks
from arpolicy.webhooks.service import create_endpoint

_seq = itertools.count(1)
NAMES: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "localhost": ["127.0.0.1", "::1"],
    "inside.example": ["10.1.2.3"],
    "mixed.example": ["93.184.215.14", "192.168.1.1"],
    "loop.example": ["127.0.0.1"],
}
"""What :func:`offline_resolver` answers for names (no test asks a real DNS server)."""


def offline_resolver(host: str, port: int) -> list[str]:
    """Numeric hosts in any form the system accepts (``2130706433``, ``[::1]``...) as the
    system reads them; names from :data:`NAMES`; anything else does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        if host in NAMES:
            return NAMES[host]
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: Name or service not known") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"
LOOPBACK = Destinations(parse_networks(LOOPBACK_NETWORKS), resolve=offline_resolver)
"""Where the test receivers are: allowed explicitly (the default refuses loopback)."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    verified: bool
    status: int
    payload: Any = None


class Receiver:
    """A threaded HTTP server on 127.0.0.1 (random port). ``expect(path, secret, [500, 200])``
    registers a hook: requests to it are verified with ``Webhook(secret).verify`` (401 when
    the signature is wrong) and answered with the scripted statuses, then 200."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.secrets: dict[str, str] = {}
        self.script: dict[str, deque[int]] = defaultdict(deque)
        self.headers: dict[str, dict[str, str]] = {}
        self.received: list[Received] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is not a test failure

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def expect(self, path: str, secret: str, statuses: tuple[int, ...] = (), **headers: str) -> str:
        self.secrets[path] = secret
        self.script[path].extend(statuses)
        self.headers[path] = headers
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("content-length", 0))).decode()
        headers = {k.lower(): v for k, v in h.headers.items()}
        if self.delay:
            time.sleep(self.delay)
        secret = self.secrets.get(h.path)
        payload, verified = None, False
        if secret is not None:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                pass
        with self.lock:
            queue = self.script[h.path]
            status = (queue.popleft() if queue else 200) if verified else 401
            self.received.append(Received(h.path, headers, body, verified, status, payload))
        h.send_response(status)
        for name, value in self.headers.get(h.path, {}).items():
            h.send_header(name.replace("_", "-"), value)
        reply = b"ok" if status < 300 else f"status {status}".encode()
        h.send_header("content-length", str(len(reply)))
        h.end_headers()
        h.wfile.write(reply)


def verify_as_of(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Make ``Webhook.verify`` judge the timestamp against ``clock`` (a test clock) rather
    than the wall clock: the signature check itself is unchanged."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            return clock.now().astimezone(tz) if tz else clock.now()

    monkeypatch.setattr(swh, "datetime", ClockDatetime)


@contextmanager
def private_engine(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database used by one test module only."""
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("private") / "db.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    from tests.conftest import new_pg_database

    url, drop = new_pg_database()
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        drop()


def settle(engine: Engine) -> None:
    """Fail whatever a test left pending, so the next test's worker does not send it."""
    with transaction(engine) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, last_error="test finished")
        )


def new_tenant(engine: Engine) -> int:
    with transaction(engine) as s:
        return create_tenant(s, f"wh-{uuid.uuid4().hex[:8]}-{next(_seq)}").id


def new_endpoint(
    engine: Engine,
    tenant_id: int,
    url: str,
    events: list[str] | None = None,
    destinations: Destinations = LOOPBACK,
) -> tuple[int, str]:
    with transaction(engine) as s:
        endpoint, secret = create_endpoint(
            s, tenant_id, url, events or ["*"], destinations=destinations
        )
        return endpoint.id, secret


def load(engine: Engine, model: type[Any], ident: int) -> Any:
    with transaction(engine, write=False) as s:
        return s.get(model, ident)


def message_ids(engine: Engine, tenant_id: int) -> list[int]:
    with transaction(engine, write=False) as s:
        return list(
            s.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.tenant_id == tenant_id)
                .order_by(OutboxMessage.id)
            )
        )


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def wh_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """This module's own migrated database, SQLite and PostgreSQL in turn."""
    with private_engine(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture
def db(wh_engine: Engine) -> Iterator[Engine]:
    """The module's database; what a test leaves pending is failed afterwards."""
    yield wh_engine
    settle(wh_engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's setting allows loopback (the test receivers): for the worker's own
    client and for apps created after this fixture."""
    monkeypatch.setenv(ALLOW_SETTING, LOOPBACK_NETWORKS)
    return LOOPBACK_NETWORKS


@pytest.fixture
def receiver(
    clock: FixedClock, monkeypatch: pytest.MonkeyPatch, loopback_allowed: str
) -> Iterator[Receiver]:
    """A live receiver (on 127.0.0.1, allowed) whose signature checks use the test clock."""
    verify_as_of(monkeypatch, clock)
    with Receiver(clock) as r:
        yield r
