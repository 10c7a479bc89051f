"""Test helpers for email dispatch: a real SMTP server (aiosmtpd) that records what it
takes and answers as scripted, databases of their own, and queued emails as the decision
side writes them (an ``emails`` row and its ``outbox`` row, in one transaction).

The dispatcher claims due emails of *every* tenant, so its tests must not share a database
with tests that leave emails behind: ``mail_engine`` gives each test module its own.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, update

from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import (
    Contact,
    Customer,
    Email,
    EmailMode,
    EmailStatus,
    OutboxMessage,
    OutboxStatus,
)
from arpolicy.tenancy.rls import scope_tenant
from tests.webhooks.support import private_engine

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Sink:
    """A live SMTP server on 127.0.0.1. ``data_replies`` / ``rcpt_replies`` script refusals
    ("451 ..." / "550 ..."); ``login`` makes AUTH required with that (user, password)."""

    login: tuple[str, str] | None = None
    delay: float = 0.0
    """Seconds each DATA takes before it is answered."""
    received: list[Received] = field(default_factory=list)
    data_replies: deque[str] = field(default_factory=deque)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    controller: Controller | None = None

    def __enter__(self) -> Sink:
        self.port = free_port()
        kwargs: dict[str, Any] = {"server_hostname": "sink.test", "ready_timeout": 10}
        if self.login is not None:
            kwargs |= {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.controller is not None
        self.controller.stop()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        who = f"{user}:{password}@" if user is not None else ""
        return f"smtp://{who}127.0.0.1:{self.port}?timeout=10"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.login == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.sink.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            reply = self.sink.data_replies.popleft() if self.sink.data_replies else None
            if reply:
                return reply
            self.sink.received.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 Message accepted for delivery"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def mail_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """This module's own migrated database, SQLite and PostgreSQL in turn."""
    with private_engine(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture
def mdb(mail_engine: Engine) -> Iterator[Engine]:
    """The module's database; what a test leaves pending is failed afterwards."""
    yield mail_engine
    with transaction(mail_engine) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, last_error="test finished")
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as s:
        yield s


@dataclass(frozen=True)
class Queued:
    tenant_id: int
    customer_id: int
    email_id: int
    outbox_id: int
    message_id: str
    key: str


def new_customer(
    engine: Engine, tenant_id: int | None = None, contacts: list[dict[str, Any]] | None = None
) -> tuple[int, int]:
    """(tenant id, customer id): a new tenant unless given, a customer, its contacts."""
    n = next(_seq)
    with transaction(engine) as s:
        if tenant_id is None:
            tenant_id = create_tenant(s, f"mail-{uuid.uuid4().hex[:8]}-{n}").id
        scope_tenant(s, tenant_id)
        customer = Customer(
            tenant_id=tenant_id, external_id=f"C{n}", name=f"Kunde {n}", custom_fields={}
        )
        s.add(customer)
        s.flush()
        for i, c in enumerate(contacts or []):
            s.add(
                Contact(tenant_id=tenant_id, customer_id=customer.id, external_id=f"K{n}-{i}", **c)
            )
        return tenant_id, customer.id


def email_row(tenant_id: int, customer_id: int, decided_at: datetime = NOW, **kw: Any) -> Email:
    """An unsaved queued Email with German text and a non-ASCII display name."""
    n = next(_seq)
    key = kw.pop("key", f"1:first:{customer_id}:{n}")
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "key": key,
        "message_id": f"<r{n}.{uuid.uuid4().hex[:12]}@mail.arpolicy.test>",
        "mode": EmailMode.LIVE,
        "status": EmailStatus.QUEUED,
        "cycle": "Standard",
        "reminder": "first",
        "decided_at": decided_at,
        "from_address": "Buchhaltung Müller GmbH <ar@mueller.example>",
        "reply_to": "Forderungen <ar-replies@mueller.example>",
        "to": [f"Jürgen Groß <kunde{n}@example.com>"],
        "cc": [],
        "subject": f"Zahlungserinnerung Nr. {n}: Rechnung überfällig",
        "text_body": "Sehr geehrte Damen und Herren,\nbitte begleichen Sie 1.234,56 €.\n",
        "html_body": None,
        "documents": [],
        "attempts": 0,
        "in_doubt": False,
    }
    values.update(kw)
    return Email(**values)


def queue_email(
    engine: Engine, tenant_id: int, customer_id: int, decided_at: datetime = NOW, **kw: Any
) -> Queued:
    """Queue one email as the decision side does: the Email row and its outbox row, in
    one transaction, due at ``send_after`` or at the decision time."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        email = email_row(tenant_id, customer_id, decided_at, **kw)
        s.add(email)
        s.flush()
        row = outbox_row(email)
        s.add(row)
        s.flush()
        return Queued(tenant_id, customer_id, email.id, row.id, email.message_id, email.key)


def outbox_row(email: Email) -> OutboxMessage:
    return OutboxMessage(
        tenant_id=email.tenant_id,
        kind="email",
        event_type="email",
        event_id=email.message_id,
        dedupe_key=email.key,
        endpoint_id=None,
        payload={"email_id": email.id},
        status=OutboxStatus.PENDING,
        next_attempt_at=email.send_after or email.decided_at,
    )


def load_email(engine: Engine, email_id: int) -> Email:
    with transaction(engine, write=False) as s:
        email = s.get(Email, email_id)
        assert email is not None
        return email


def load_outbox(engine: Engine, outbox_id: int) -> OutboxMessage:
    with transaction(engine, write=False) as s:
        row = s.get(OutboxMessage, outbox_id)
        assert row is not None
        return row


def queue_many(
    engine: Engine, tenant_id: int, customer_id: int, n: int, decided_at: datetime = NOW
) -> list[Queued]:
    """Queue ``n`` emails in one transaction (crash tests, benchmarks)."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        emails = [email_row(tenant_id, customer_id, decided_at) for _ in range(n)]
        s.add_all(emails)
        s.flush()
        rows = [outbox_row(e) for e in emails]
        s.add_all(rows)
        s.flush()
        return [
            Queued(tenant_id, customer_id, e.id, r.id, e.message_id, e.key)
            for e, r in zip(emails, rows, strict=True)
        ]
