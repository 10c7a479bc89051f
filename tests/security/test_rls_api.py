"""The whole API connected as the service role, under row-level security (PostgreSQL):
authentication finds the key before the tenant is known, every request is scoped to its
tenant, and another tenant's rows stay invisible."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.kit.clock import FixedClock
from tests.security.seeding import NOW, RlsDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def client(rls_db: RlsDatabase) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=rls_db.app_url), clock=FixedClock(NOW))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.engine.dispose()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_service_connects_as_the_service_role(client, rls_db):
    assert client.app.state.engine.url.username == rls_db.app_role  # type: ignore[attr-defined]
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["schema_current"] is True


def test_a_key_works_end_to_end_and_sees_only_its_tenant(client, rls_db):
    a, b = rls_db.a, rls_db.b
    me = _auth(a.key)

    tenant = client.get("/v1/tenant", headers=me)
    assert tenant.status_code == 200 and tenant.json()["slug"] == a.slug

    users = client.get("/v1/users", headers=me, params={"limit": 100})
    assert users.status_code == 200
    ids = {u["id"] for u in users.json()["items"]}
    assert a.user_id in ids and b.user_id not in ids

    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "name": "New", "role": "collector"}
    h = {**me, "Idempotency-Key": uuid.uuid4().hex}
    created = client.post("/v1/users", headers=h, json=body)
    assert created.status_code == 201, created.text
    again = client.post("/v1/users", headers=h, json=body)
    assert again.status_code == 201 and again.json() == created.json()

    audit = client.get("/v1/audit", headers=me, params={"limit": 100})
    assert audit.status_code == 200
    events = [(e["action"], e["entity_id"]) for e in audit.json()["items"]]
    assert ("user.created", str(created.json()["id"])) in events

    with rls_db.truth.connect() as conn:
        stored = conn.execute(
            text("SELECT tenant_id FROM users WHERE email = :e"), {"e": email}
        ).scalar_one()
        used = conn.scalar(
            text("SELECT last_used_at FROM api_keys WHERE tenant_id = :t AND name = 'seed'"),
            {"t": a.tenant_id},
        )
    assert stored == a.tenant_id and used is not None  # the key's use was recorded


def test_another_tenants_objects_are_404(client, rls_db):
    a, b = rls_db.a, rls_db.b
    assert client.get(f"/v1/users/{b.user_id}", headers=_auth(a.key)).status_code == 404
    assert client.get(f"/v1/users/{b.user_id}", headers=_auth(b.key)).status_code == 200
    theirs = client.get("/v1/users", headers=_auth(b.key), params={"limit": 100}).json()
    assert a.user_id not in {u["id"] for u in theirs["items"]}


def test_unknown_and_forged_keys_are_401(client, rls_db):
    forged = rls_db.a.key[:-4] + ("aaaa" if not rls_db.a.key.endswith("aaaa") else "bbbb")
    for key in (forged, "arp_000000000000_x", "nonsense"):
        assert client.get("/v1/users", headers=_auth(key)).status_code == 401


def test_every_plain_read_route_works_as_the_service_role(client, rls_db):
    """A route that reads outside its tenant's scoped transaction would fail here (no row,
    or a refused write), not under the superuser the other API tests connect as."""
    schema = client.get("/openapi.json").json()
    paths = sorted(
        p
        for p, ops in schema["paths"].items()
        if "get" in ops and p.startswith("/v1/")
        if "{" not in p
    )
    assert "/v1/users" in paths
    answers = {p: client.get(p, headers=_auth(rls_db.a.key)).status_code for p in paths}
    assert {p: s for p, s in answers.items() if s >= 500 or s in (401, 404)} == {}
