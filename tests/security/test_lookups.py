"""The lookups that come before the tenant is known (arpolicy.tenancy.rls) answer the same on
SQLite (plain queries) and PostgreSQL (definer functions), and get_tenant, create_tenant
and authenticate behave as before for the owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from arpolicy.auth.keys import authenticate, create_api_key
from arpolicy.exceptions import ConflictError, NotFoundError
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import OutboxMessage, WebhookEndpoint
from arpolicy.tenancy.rls import (
    tenant_directory,
    tenant_of_key,
    tenant_of_slug,
    tenants_with_due_outbox,
)
from tests.fixtures.factories import create_tenant, create_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _message(session, tenant, kind: str, due: datetime, n: int) -> None:
    endpoint = None
    if kind == "webhook":
        endpoint = WebhookEndpoint(
            tenant_id=tenant.id, url="https://example.com/h", events=["x"], secret="s", active=True
        )
        session.add(endpoint)
        session.flush()
    session.add(
        OutboxMessage(
            tenant_id=tenant.id,
            kind=kind,
            event_type="x",
            event_id=f"e{n}",
            dedupe_key=f"d{n}",
            payload={},
            next_attempt_at=due,
            endpoint_id=endpoint.id if endpoint else None,
        )
    )
    session.flush()


def test_slugs_keys_and_the_directory(session):
    a, b = create_tenant(session), create_tenant(session)
    user = create_user(session, a)
    _, key = create_api_key(session, user, "k")
    prefix = "_".join(key.split("_", 2)[:2])
    assert tenant_of_key(session, prefix) == a.id
    assert tenant_of_key(session, "arp_000000000000") is None
    assert tenant_of_slug(session, b.slug) == b.id
    assert tenant_of_slug(session, "no-such") is None
    directory = tenant_directory(session)
    assert (a.id, a.slug) in directory and (b.id, b.slug) in directory
    assert directory == sorted(directory, key=lambda p: p[1])
    assert len(tenant_directory(session, limit=1)) == 1


def test_due_outbox_tenants_longest_waiting_first(session):
    a, b, c = create_tenant(session), create_tenant(session), create_tenant(session)
    _message(session, a, "webhook", NOW - timedelta(hours=1), 1)
    _message(session, b, "webhook", NOW - timedelta(days=1), 2)
    _message(session, c, "email", NOW - timedelta(days=2), 3)
    _message(session, c, "webhook", NOW + timedelta(hours=1), 4)  # not due yet
    mine = {a.id, b.id, c.id}
    webhooks = [t for t in tenants_with_due_outbox(session, NOW, kind="webhook") if t in mine]
    assert webhooks == [b.id, a.id]
    anything = [t for t in tenants_with_due_outbox(session, NOW) if t in mine]
    assert anything == [c.id, b.id, a.id]


def test_get_tenant_scopes_and_explains(session):
    a = create_tenant(session)
    assert get_tenant(session, a.slug).id == a.id
    if session.get_bind().dialect.name == "postgresql":
        assert session.scalar(text("SELECT current_setting('app.tenant_id')")) == str(a.id)
    with pytest.raises(NotFoundError, match="no tenant") as err:
        get_tenant(session, "no-such-tenant")
    assert "known tenants:" in (err.value.fix or "")


def test_create_tenant_refuses_a_taken_slug(session):
    a = create_tenant(session)
    with pytest.raises(ConflictError, match="already exists"):
        create_tenant(session, a.slug)


def test_authenticate_as_the_owner(session):
    a = create_tenant(session)
    user = create_user(session, a)
    _, key = create_api_key(session, user, "k")
    found = authenticate(session, key, NOW)
    assert found is not None and (found.tenant.id, found.user.id) == (a.id, user.id)
    assert authenticate(session, key[:-2] + "xx", NOW) is None
    assert authenticate(session, "arp_000000000000_secret", NOW) is None
