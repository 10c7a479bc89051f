"""What the row-level security tests share: a tenant with a row in every tenant table, and
the database they are written to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.auth.keys import create_api_key
from arpolicy.kit.db import transaction
from arpolicy.kit.migrate import alembic_config
from arpolicy.ledger.demo import generate, write
from arpolicy.models import (
    DeliveryAttempt,
    IdempotencyRecord,
    OutboxMessage,
    User,
    UserRole,
    WebhookEndpoint,
)

_RLS_MIGRATION = ScriptDirectory.from_config(alembic_config()).get_revision("c3e5a7b9d1f3")
ROW_LEVEL_SECURITY_TABLES: tuple[str, ...] = _RLS_MIGRATION.module.ROW_LEVEL_SECURITY_TABLES
"""The tenant tables of the row-level security migration: :func:`seed` writes a row in each."""

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OLD = datetime(2026, 1, 1, tzinfo=UTC)
DUE = datetime(2026, 11, 1, tzinfo=UTC)
"""When the seeded webhook message is due."""


@dataclass
class Seeded:
    tenant_id: int
    slug: str
    user_id: int
    key: str


@dataclass
class RlsDatabase:
    kind: str
    owner_url: str
    app_url: str
    owner: Engine
    app: Engine
    truth: Engine
    """The superuser, whom row-level security never binds: what is really stored."""
    app_role: str
    owner_role: str | None
    """None when the owner is the superuser."""
    a: Seeded
    b: Seeded


def seed(engine: Engine, slug: str, number: int, *, idempotency_at: datetime = OLD) -> Seeded:
    """A demo tenant with a row in every tenant table, written through ``engine``."""
    with transaction(engine) as s:
        data = generate(10, number, date(2026, 11, 23))
        assert all(data.counts().values()), data.counts()  # a row in every ledger table
        tenant = write(s, slug, data)
        user = User(
            tenant_id=tenant.id,
            email=f"admin@{slug}.test",
            name="Admin",
            role=UserRole.ADMIN,
            active=True,
        )
        s.add(user)
        s.flush()
        _, key = create_api_key(s, user, "seed")
        actor = Actor(tenant_id=tenant.id, label="test:seed")
        audit_record(s, actor, "tenant.seeded", "tenant", tenant.id, at=NOW)
        s.add(
            IdempotencyRecord(
                tenant_id=tenant.id, key="k1", request_hash="h", created_at=idempotency_at
            )
        )
        endpoint = WebhookEndpoint(
            tenant_id=tenant.id,
            url="https://example.com/hook",
            events=["customer.created"],
            secret="whsec_x",
            active=True,
        )
        s.add(endpoint)
        s.flush()
        message = OutboxMessage(
            tenant_id=tenant.id,
            kind="webhook",
            event_type="customer.created",
            event_id=f"evt_{slug}",
            dedupe_key=f"d_{slug}",
            endpoint_id=endpoint.id,
            payload={"slug": slug},
            next_attempt_at=DUE,
        )
        s.add(message)
        s.flush()
        s.add(
            DeliveryAttempt(
                tenant_id=tenant.id, message_id=message.id, at=NOW, status_code=500, duration_ms=3
            )
        )
        return Seeded(tenant.id, slug, user.id, key)
