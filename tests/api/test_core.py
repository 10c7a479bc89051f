"""The API's shared behaviour: authentication, permissions, errors, idempotency, paging."""

from __future__ import annotations

import pytest

from arpolicy.models import UserRole

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_no_key_is_401_problem(client):
    r = client.get("/v1/users")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/unauthorized") and "Bearer" in body["fix"]
    assert body["request_id"] == r.headers["x-request-id"]


def test_a_wrong_or_revoked_key_is_401(client, caller):
    me = caller()
    bad = me.key[:-3] + ("aaa" if not me.key.endswith("aaa") else "bbb")
    assert client.get("/v1/users", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    keys = client.get("/v1/keys", headers=me.headers).json()["items"]
    assert len(keys) == 1
    r = client.post(f"/v1/keys/{keys[0]['id']}/revoke", headers=me.headers)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.get("/v1/users", headers=me.headers).status_code == 401


def test_role_permissions_are_checked(client, caller):
    agent = caller(UserRole.AGENT)
    r = client.post("/v1/users", headers=agent.headers,
                    json={"email": "a@b.com", "name": "A", "role": "admin"})  # fmt: skip
    assert r.status_code == 403 and "users:manage" in r.json()["detail"]
    assert client.get("/v1/audit", headers=agent.headers).status_code == 403


def test_scopes_narrow_a_key(client, caller):
    me = caller()
    r = client.post("/v1/keys", headers=me.headers, json={"name": "ro", "scopes": ["users:read"]})
    assert r.status_code == 201
    narrow = {"Authorization": f"Bearer {r.json()['key']}"}
    assert client.get("/v1/users", headers=narrow).status_code == 200
    assert client.get("/v1/audit", headers=narrow).status_code == 403


def test_a_key_cannot_exceed_its_role(client, caller):
    sales = caller(UserRole.SALES)
    r = client.post(
        "/v1/keys", headers=sales.headers, json={"name": "x", "scopes": ["users:manage"]}
    )
    assert r.status_code == 422 and r.json()["where"] == "scopes"


def test_unknown_and_server_owned_fields_are_422(client, caller):
    me = caller()
    r = client.post("/v1/users", headers=me.headers,
                    json={"email": "x@y.com", "name": "X", "role": "collector", "tenant_id": 1})  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"] == [{"where": "body.tenant_id", "message": "unknown or server-owned field",
                                   "fix": "remove this field: it is unknown or set by the server"}]  # fmt: skip


def test_idempotency_key_replays_and_refuses_a_different_body(client, caller):
    me = caller()
    h = {**me.headers, "Idempotency-Key": "op-1"}
    body = {"email": "idem@example.com", "name": "I", "role": "collector"}
    first = client.post("/v1/users", headers=h, json=body)
    again = client.post("/v1/users", headers=h, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/users", headers=h, json={**body, "name": "Other"})
    assert other.status_code == 422 and other.json()["where"] == "header Idempotency-Key"
    users = client.get("/v1/users", headers=me.headers, params={"q": "idem@"}).json()["items"]
    assert len(users) == 1


def test_idempotency_keys_are_per_tenant(client, caller):
    a, b = caller(), caller()
    body = {"email": "same@example.com", "name": "S", "role": "sales"}
    ra = client.post("/v1/users", headers={**a.headers, "Idempotency-Key": "k"}, json=body)
    rb = client.post("/v1/users", headers={**b.headers, "Idempotency-Key": "k"}, json=body)
    assert ra.status_code == rb.status_code == 201 and ra.json()["id"] != rb.json()["id"]


def test_cursor_pagination_walks_every_row_once(client, caller):
    me = caller()
    for i in range(7):
        client.post("/v1/users", headers=me.headers,
                    json={"email": f"p{i}@example.com", "name": f"N{6 - i}", "role": "sales"})  # fmt: skip
    for sort in ("id", "-id", "name", "-name"):
        seen, cursor = [], None
        while True:
            params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/users", headers=me.headers, params=params).json()
            seen += [u["id"] for u in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 8, sort


def test_bad_cursor_and_sort_are_422(client, caller):
    me = caller()
    assert (
        client.get("/v1/users", headers=me.headers, params={"cursor": "zzz"}).json()["where"]
        == "cursor"
    )
    r = client.get("/v1/users", headers=me.headers, params={"sort": "password"})
    assert r.status_code == 422 and "email" in r.json()["fix"]


def test_changes_are_audited_with_before_and_after(client, caller):
    me = caller()
    uid = client.post("/v1/users", headers=me.headers,
                      json={"email": "aud@example.com", "name": "A", "role": "sales"}).json()["id"]  # fmt: skip
    client.patch(f"/v1/users/{uid}", headers={**me.headers, "X-Request-Id": "req42"},
                 json={"role": "collector"})  # fmt: skip
    events = client.get(
        "/v1/audit", headers=me.headers, params={"entity": "user", "entity_id": str(uid)}
    ).json()["items"]
    assert [e["action"] for e in events] == ["user.updated", "user.created"]
    assert events[0]["before"] == {"role": "sales"} and events[0]["after"] == {"role": "collector"}
    assert events[0]["request_id"] == "req42" and me.key.split("_")[1] in events[0]["actor"]


def test_rate_limit_is_a_429_with_retry_after(api_engine, clock, caller):
    from fastapi.testclient import TestClient

    from arpolicy.app import create_app
    from arpolicy.config import Settings

    app = create_app(Settings(database_url=api_engine.url.render_as_string(hide_password=False),
                              rate_limit_per_minute=3), clock=clock)  # fmt: skip
    me = caller()
    with TestClient(app) as c:
        codes = [c.get("/v1/users", headers=me.headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/users", headers=me.headers)
        assert int(r.headers["retry-after"]) >= 1 and r.json()["type"].endswith("/rate-limited")
    app.state.engine.dispose()


def test_another_tenants_user_is_404(client, caller):
    a, b = caller(), caller()
    assert client.get(f"/v1/users/{b.user_id}", headers=a.headers).status_code == 404
    ids = [u["id"] for u in client.get("/v1/users", headers=a.headers).json()["items"]]
    assert b.user_id not in ids
