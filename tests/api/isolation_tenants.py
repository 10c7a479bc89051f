"""Two demo tenants for the tenant isolation tests (test_isolation*.py): A and B, each filled
by the demo generator, B also through the API (keys, users, webhooks, assignment, a customer
only B has) and by hand where no route writes (outbox, engagement, notifications), so that
every tenant table holds B's rows; and a digest of B's rows, to show A changed none.
The ``tenants`` fixture builds them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.api.context import scope_tenant
from arpolicy.auth.signin import issue_link, open_session
from arpolicy.config import Settings
from arpolicy.kit.db import transaction
from arpolicy.ledger import demo
from arpolicy.models import (
    Base,
    Customer,
    CustomerNote,
    DeliveryAttempt,
    Document,
    Email,
    EmailDocument,
    EmailMode,
    EmailStatus,
    EngagementCycle,
    EngagementSettings,
    EngagementTask,
    FigureSnapshot,
    InboundEmail,
    InboundKind,
    NoteKind,
    Notification,
    OutboxMessage,
    ReminderPause,
    Tenant,
    User,
    UserTokenKind,
    WebhookEndpoint,
    WorklistMark,
)
from tests.api.conftest import NOW, Caller, make_caller
from tests.api.isolation_routes import LIST_ROUTES, OBJECT_ROUTES, PARAM_MODELS, route_exists

TODAY: date = NOW.date()


DEMO_CUSTOMERS = 12
"""The showcase: every state the demo knows, and rows in every ledger table."""


@dataclass
class Tenants:
    a: Caller
    b: Caller
    b_spare_key_id: int
    """A second key of B's, so the owner's revoke in the control run spares B's own key."""
    b_ids: dict[type[Base], list[int]] = field(default_factory=dict)


def seed_demo_tenant(engine: Engine, seed: int) -> Caller:
    """A demo tenant (every ledger table filled) and an admin key of a new admin user."""
    slug = f"iso-{uuid.uuid4().hex[:8]}"
    with transaction(engine) as s:
        tenant = demo.write(s, slug, demo.generate(DEMO_CUSTOMERS, seed, TODAY))
        tenant_id = tenant.id
    return make_caller(engine, tenant_id=tenant_id)


def seed_api_objects(client: TestClient, b: Caller) -> None:
    """Rows the demo does not write, made the way a tenant makes them: through the API."""
    h = b.headers
    r = client.post(
        "/v1/users",
        headers={**h, "Idempotency-Key": f"iso-{b.slug}"},
        json={"email": f"seed@{b.slug}.example", "name": "Seed", "role": "sales"},
    )
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert client.patch(f"/v1/users/{uid}", headers=h, json={"team": "Iso"}).status_code == 200
    for method, path, body in API_SEEDS:
        if route_exists(client.app, method, path):  # type: ignore[arg-type]
            r = client.request(method, path, headers=h, json=body)
            assert r.status_code in (200, 201), f"seeding {path}: {r.status_code} {r.text}"


ONLY_B = "ONLY-B-CUSTOMER"
"""An external id only tenant B has (the two demo tenants share theirs)."""


API_SEEDS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "POST",
        "/v1/webhooks/endpoints",
        {"url": "https://hooks.example.com/arpolicy", "events": ["customer.created"]},
    ),
    (
        "PUT",
        "/v1/assignment/policies/finance",
        {
            "policy": {
                "role": "finance",
                "rules": [
                    {
                        "name": "All",
                        "assign": {"strategy": "round_robin", "users": ["role:collector"]},
                    }
                ],
            }
        },
    ),
    ("POST", "/v1/assignment/runs", {"role": "finance", "dry_run": False}),
    (
        "POST",
        "/v1/customers",
        {
            "external_id": ONLY_B,
            "name": "B only",
            "currency": "USD",
            "custom_fields": {"tier": "SMB"},
        },
    ),
]
"""Calls that fill the tables the demo leaves empty (when their routes exist)."""


def seed_outbox(engine: Engine, tenant_id: int) -> None:
    """An endpoint, a message and a delivery attempt for B when the API made none."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        endpoint = s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id))
        if endpoint is None:
            endpoint = WebhookEndpoint(
                tenant_id=tenant_id,
                url="https://hooks.example.com/b",
                events=["*"],
                secret="whsec_" + "A" * 32,
                active=True,
            )
            s.add(endpoint)
            s.flush()
        message = OutboxMessage(
            tenant_id=tenant_id,
            kind="webhook",
            event_type="customer.created",
            event_id=f"msg_{uuid.uuid4().hex}",
            dedupe_key=uuid.uuid4().hex,
            endpoint_id=endpoint.id,
            payload={"type": "customer.created"},
            next_attempt_at=NOW,
        )
        s.add(message)
        s.flush()
        s.add(
            DeliveryAttempt(
                tenant_id=tenant_id,
                message_id=message.id,
                at=NOW,
                status_code=500,
                error="seeded",
                duration_ms=12,
            )
        )


def seed_engagement(engine: Engine, tenant_id: int) -> None:
    """An email, an inbound message, a task, a call note and a pause for B (and a cycle and the sending settings
    when the API made none): the demo writes no engagement rows."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        customer_id = s.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id))
        if (
            s.scalar(select(EngagementCycle.id).where(EngagementCycle.tenant_id == tenant_id))
            is None
        ):
            s.add(EngagementCycle(tenant_id=tenant_id, name="Iso", config={}, updated_by="seed"))
        if (
            s.scalar(select(EngagementSettings.id).where(EngagementSettings.tenant_id == tenant_id))
            is None
        ):
            s.add(EngagementSettings(tenant_id=tenant_id, config={}, updated_by="seed"))
        email = Email(
            tenant_id=tenant_id,
            customer_id=customer_id,
            key=f"iso:{uuid.uuid4()}",
            message_id=f"<{uuid.uuid4().hex}@iso.example>",
            mode=EmailMode.LIVE,
            status=EmailStatus.SENT,
            decided_at=NOW,
            from_address="ar@b.example",
            to=["x@b.example"],
            subject="Seeded",
            text_body="Seeded",
            cc=[],
            documents=[],
        )
        s.add(email)
        s.flush()
        document_id = s.scalar(select(Document.id).where(Document.tenant_id == tenant_id))
        if s.scalar(select(EmailDocument.id).where(EmailDocument.tenant_id == tenant_id)) is None:
            s.add(
                EmailDocument(
                    tenant_id=tenant_id,
                    email_id=email.id,
                    document_id=document_id,
                    mode=EmailMode.LIVE,
                )
            )
        s.add(
            InboundEmail(
                tenant_id=tenant_id,
                message_id=f"<{uuid.uuid4().hex}@in.example>",
                kind=InboundKind.REPLY,
                received_at=NOW,
                customer_id=customer_id,
                email_id=email.id,
                matched_by="in_reply_to",
            )
        )
        s.add(
            EngagementTask(
                tenant_id=tenant_id,
                customer_id=customer_id,
                key=f"iso:{uuid.uuid4()}",
                kind="no_address",
                detail="Seeded",
            )
        )
        # the customer sheet's call notes and by-hand pauses of the reminders
        s.add(
            CustomerNote(
                tenant_id=tenant_id,
                customer_id=customer_id,
                kind=NoteKind.CALL,
                body="Seeded",
                at=NOW,
                author="seed",
            )
        )
        s.add(
            ReminderPause(
                tenant_id=tenant_id,
                customer_id=customer_id,
                reason="Seeded",
                paused_at=NOW,
                paused_by="seed",
            )
        )


def seed_notifications(engine: Engine, tenant_id: int) -> None:
    """A notification to one of B's users (nothing routes to notifications yet: the row
    makes every table covered, and the isolation of the tables holds for it too)."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        user_id = s.scalar(select(User.id).where(User.tenant_id == tenant_id).limit(1))
        s.add(
            Notification(
                tenant_id=tenant_id,
                user_id=user_id,
                topic="iso.seeded",
                key=f"iso:{uuid.uuid4()}",
                message_id=f"<{uuid.uuid4().hex}@iso>",
                decided_at=NOW,
                to_address="x@b.example",
                subject="Seeded",
                text_body="Seeded",
                data={},
                actor="seed",
                attempts=0,
                in_doubt=False,
            )
        )
        user = s.get(User, user_id)
        assert user is not None
        open_session(s, user, NOW, Settings())  # the web app's tables
        issue_link(s, user, UserTokenKind.PASSWORD_RESET, NOW)
        customer_id = s.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id).limit(1))
        s.add(
            WorklistMark(
                tenant_id=tenant_id,
                kind="dispute",
                object_id=1,
                customer_id=customer_id,
                snoozed_until=TODAY,
                assigned_user_id=user_id,
                updated_by="seed",
            )
        )
        s.add(FigureSnapshot(tenant_id=tenant_id, as_of=TODAY, computed_at=NOW, data={}))


def tenant_tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


def ids_of(engine: Engine, tenant_id: int) -> dict[str, list[int]]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        return {
            t.name: list(s.scalars(select(t.c.id).where(t.c.tenant_id == tenant_id)))
            for t in tenant_tables()
        }


def fingerprint(engine: Engine, tenant_id: int) -> dict[str, str]:
    """A digest of every row of the tenant, per table (and of the tenant row itself)."""
    out = {}
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        tables = [(t, t.c.tenant_id == tenant_id) for t in tenant_tables()]
        tables.append((Tenant.__table__, Tenant.__table__.c.id == tenant_id))
        for table, where in tables:
            rows = s.execute(select(table).where(where).order_by(table.c.id)).all()
            out[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


@pytest.fixture
def tenants(api_engine: Engine, client: TestClient) -> Tenants:
    a = seed_demo_tenant(api_engine, seed=11)
    b = seed_demo_tenant(api_engine, seed=22)
    seed_api_objects(client, b)
    spare = client.post("/v1/keys", headers=b.headers, json={"name": "spare"})
    assert spare.status_code == 201, spare.text
    seed_outbox(api_engine, b.tenant_id)
    seed_engagement(api_engine, b.tenant_id)
    seed_notifications(api_engine, b.tenant_id)
    found = Tenants(a=a, b=b, b_spare_key_id=spare.json()["id"])
    by_table = ids_of(api_engine, b.tenant_id)
    empty = sorted(t for t, ids in by_table.items() if not ids)
    assert not empty, f"tenant B has no rows in {empty}: seed them so every table is covered"
    models = [m for m in OBJECT_ROUTES.values() if not isinstance(m, str)]
    for model in {*PARAM_MODELS.values(), *models, *LIST_ROUTES.values()}:
        found.b_ids[model] = by_table[model.__tablename__]
    return found
