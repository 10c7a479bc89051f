"""The API under test: a TestClient per database (SQLite file, PostgreSQL), a fixed clock,
and a factory of tenants with a user and an API key.

The API commits real transactions, so tests do not roll back: each test makes its own
tenants (unique slugs), which also keeps tests apart when they share a database.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.app import create_app
from arpolicy.auth.keys import create_api_key
from arpolicy.config import Settings
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import User, UserRole

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_seq = itertools.count(1)


@dataclass
class Caller:
    """A tenant with one user of ``role`` and that user's key."""

    tenant_id: int
    slug: str
    user_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def api_engine(db_engine: Engine) -> Engine:
    return db_engine


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def client(api_engine: Engine, clock: FixedClock) -> Iterator[TestClient]:
    settings = Settings(database_url=api_engine.url.render_as_string(hide_password=False))
    app = create_app(settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.engine.dispose()


def make_caller(
    engine: Engine,
    role: UserRole = UserRole.ADMIN,
    *,
    tenant_id: int | None = None,
    scopes: list[str] | None = None,
    base_currency: str = "USD",
) -> Caller:
    """A new tenant (or ``tenant_id``), a user with ``role`` in it, and a key of that user."""
    n = next(_seq)
    with transaction(engine) as s:
        if tenant_id is None:
            slug = f"api-{uuid.uuid4().hex[:8]}-{n}"
            tenant = create_tenant(s, slug, base_currency=base_currency)
            tenant_id, slug = tenant.id, tenant.slug
        else:
            from arpolicy.models import Tenant

            slug = s.get(Tenant, tenant_id).slug  # type: ignore[union-attr]
        user = User(
            tenant_id=tenant_id,
            email=f"u{n}-{uuid.uuid4().hex[:6]}@example.com",
            name=f"User {n}",
            role=role,
            active=True,
        )
        s.add(user)
        s.flush()
        _, key = create_api_key(s, user, "test", scopes=scopes)
        return Caller(tenant_id=tenant_id, slug=slug, user_id=user.id, key=key)


@pytest.fixture
def caller(api_engine: Engine) -> Callable[..., Caller]:
    """``caller(role=..., tenant_id=..., scopes=...)`` -> a Caller with a fresh key."""

    def make(role: UserRole = UserRole.ADMIN, **kw: Any) -> Caller:
        return make_caller(api_engine, role, **kw)

    return make


# --- ledger resources (tests/api/test_customers.py and the others) -----------------------


@pytest.fixture
def subscribe(api_engine: Engine) -> Callable[..., int]:
    """``subscribe(tenant_id, events=("*",))`` -> id of a new active webhook endpoint, so
    that the tenant's changes queue outbox messages."""
    from arpolicy.api.context import scope_tenant
    from arpolicy.models import WebhookEndpoint

    def make(tenant_id: int, events: tuple[str, ...] = ("*",)) -> int:
        with transaction(api_engine) as s:
            scope_tenant(s, tenant_id)
            endpoint = WebhookEndpoint(
                tenant_id=tenant_id,
                url="https://hooks.example.com/ar",
                events=list(events),
                secret="whsec_dGVzdA==",
                active=True,
            )
            s.add(endpoint)
            s.flush()
            return endpoint.id

    return make


@pytest.fixture
def stored(api_engine: Engine) -> Callable[..., list[Any]]:
    """``stored(tenant_id, Model, **equal)`` -> the tenant's rows of ``Model`` (detached)."""
    from sqlalchemy import select

    from arpolicy.api.context import scope_tenant

    def fetch(tenant_id: int, model: Any, **equal: Any) -> list[Any]:
        with transaction(api_engine) as s:
            scope_tenant(s, tenant_id)
            stmt = select(model).filter_by(tenant_id=tenant_id, **equal).order_by(model.id)
            found = list(s.scalars(stmt))
            s.expunge_all()
            return found

    return fetch
