"""Keys and replays never give a caller more than it has (issue 11, items 1 and 2).

- An ``Idempotency-Key`` replay goes only to the principal (API key) that sent the first
  request; another principal of the tenant reusing the key gets a 422, never the response.
- A secret shown once (a new API key, a webhook signing secret) is not stored for replays.
- Every replay is in the audit log.
- A key can only mint keys within its own permissions, over every scope.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from arpolicy.auth.permissions import PERMISSIONS, ROLE_PERMISSIONS
from arpolicy.models import AuditEvent, IdempotencyRecord, UserRole

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- item 1: replays ---------------------------------------------------------------------


def test_an_agent_repeating_an_admins_key_creation_gets_a_422_not_the_key(client, caller):
    admin = caller()
    agent = caller(UserRole.AGENT, tenant_id=admin.tenant_id)
    body = {"name": "billing sync"}
    first = client.post("/v1/keys", headers={**admin.headers, "Idempotency-Key": "k-1"}, json=body)
    assert first.status_code == 201 and first.json()["key"].startswith("arp_")

    stolen = client.post("/v1/keys", headers={**agent.headers, "Idempotency-Key": "k-1"}, json=body)
    assert stolen.status_code == 422
    problem = stolen.json()
    assert problem["where"] == "header Idempotency-Key"
    assert "another API key or user" in problem["detail"]
    assert "key" not in problem and first.json()["key"] not in stolen.text
    assert "idempotent-replayed" not in stolen.headers
    # and the agent still cannot act as admin
    assert client.patch("/v1/tenant", headers=agent.headers, json={}).status_code == 403


def test_another_key_of_the_same_user_does_not_get_the_replay_either(client, caller):
    admin = caller()
    other = client.post("/v1/keys", headers=admin.headers, json={"name": "second"}).json()["key"]
    h = {"Idempotency-Key": "u-1"}
    body = {"email": "replay@example.com", "name": "R", "role": "collector"}
    assert client.post("/v1/users", headers={**admin.headers, **h}, json=body).status_code == 201
    again = client.post("/v1/users", headers={**_bearer(other), **h}, json=body)
    assert again.status_code == 422 and again.json()["where"] == "header Idempotency-Key"


def test_a_replay_withholds_the_key_and_is_audited(client, caller, stored):
    admin = caller()
    h = {**admin.headers, "Idempotency-Key": "k-2"}
    first = client.post("/v1/keys", headers=h, json={"name": "ci"})
    again = client.post("/v1/keys", headers=h, json={"name": "ci"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["idempotent-secret-withheld"] == "key"
    replayed = again.json()
    assert replayed["key"] is None and replayed["id"] == first.json()["id"]
    assert first.json()["key"] not in again.text
    # the secret is not in the database either
    records = stored(admin.tenant_id, IdempotencyRecord, key="k-2")
    assert records[0].response["key"] is None and records[0].principal.startswith("key:")
    events = stored(admin.tenant_id, AuditEvent, action="request.replayed")
    assert len(events) == 1
    assert events[0].after == {"key": "k-2", "status": 201, "secrets_withheld": ["key"]}
    assert events[0].actor.startswith("key:")


def test_a_replayed_webhook_secret_is_withheld(client, caller, monkeypatch):
    admin = caller()
    h = {**admin.headers, "Idempotency-Key": "w-1"}
    body = {"url": "https://hooks.example.com/ar", "events": ["*"]}
    first = client.post("/v1/webhooks/endpoints", headers=h, json=body)
    assert first.status_code == 201, first.text
    again = client.post("/v1/webhooks/endpoints", headers=h, json=body)
    assert again.status_code == 201 and again.json()["secret"] is None
    assert again.headers["idempotent-secret-withheld"] == "secret"
    assert first.json()["secret"] not in again.text


def test_records_without_a_principal_are_never_replayed(client, caller, api_engine):
    from arpolicy.kit.db import transaction
    from arpolicy.tenancy.rls import scope_tenant

    admin = caller()
    h = {**admin.headers, "Idempotency-Key": "old-1"}
    body = {"email": "old@example.com", "name": "O", "role": "sales"}
    assert client.post("/v1/users", headers=h, json=body).status_code == 201
    with transaction(api_engine) as s:
        scope_tenant(s, admin.tenant_id)
        row = s.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.key == "old-1", IdempotencyRecord.tenant_id == admin.tenant_id
            )
        )
        assert row is not None
        row.principal = None
    assert client.post("/v1/users", headers=h, json=body).status_code == 422


# --- item 2: minting ---------------------------------------------------------------------


def _scoped(client, admin, scopes: list[str]) -> dict[str, str]:
    r = client.post("/v1/keys", headers=admin.headers, json={"name": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    return _bearer(r.json()["key"])


def test_a_scoped_key_cannot_mint_its_way_to_the_tenant_settings(client, caller):
    admin = caller()
    narrow = _scoped(client, admin, ["ledger:read", "keys:own"])
    assert client.patch("/v1/tenant", headers=narrow, json={}).status_code == 403

    minted = client.post("/v1/keys", headers=narrow, json={"name": "minted"})
    assert minted.status_code == 201
    assert minted.json()["scopes"] == ["keys:own", "ledger:read"]
    assert (
        client.patch("/v1/tenant", headers=_bearer(minted.json()["key"]), json={}).status_code
        == 403
    )

    wider = client.post("/v1/keys", headers=narrow, json={"name": "m", "scopes": ["users:manage"]})
    assert wider.status_code == 403
    assert wider.json()["where"] == "scopes" and "users:manage" in wider.json()["detail"]


def test_a_key_with_keys_manage_cannot_mint_a_wider_key_for_another_user(client, caller):
    admin = caller()
    other_admin = caller(UserRole.ADMIN, tenant_id=admin.tenant_id)
    narrow = _scoped(client, admin, ["keys:manage", "keys:own", "ledger:read"])
    r = client.post("/v1/keys", headers=narrow, json={"name": "x", "user_id": other_admin.user_id})
    assert r.status_code == 201 and r.json()["scopes"] == ["keys:manage", "keys:own", "ledger:read"]
    minted = _bearer(r.json()["key"])
    assert client.patch("/v1/tenant", headers=minted, json={}).status_code == 403
    r = client.post(
        "/v1/keys",
        headers=narrow,
        json={"name": "y", "user_id": other_admin.user_id, "scopes": ["settings:manage"]},
    )
    assert r.status_code == 403


def test_a_key_mints_for_another_user_only_what_both_hold(client, caller):
    admin = caller()
    agent = caller(UserRole.AGENT, tenant_id=admin.tenant_id)
    narrow = _scoped(client, admin, ["keys:manage", "keys:own", "users:manage"])
    r = client.post("/v1/keys", headers=narrow, json={"name": "x", "user_id": agent.user_id})
    assert r.status_code == 201 and r.json()["scopes"] == ["keys:own"]


def test_check_scopes_refuses_a_grant_of_nothing():
    from arpolicy.auth.keys import check_scopes
    from arpolicy.exceptions import PermissionDeniedError
    from arpolicy.models import User

    agent = User(email="a@example.com", role=UserRole.AGENT)
    with pytest.raises(PermissionDeniedError, match="none of the permissions"):
        check_scopes(None, agent, frozenset({"settings:manage"}))
    assert check_scopes(None, agent, frozenset(PERMISSIONS)) is None
    assert check_scopes(None, agent, None) is None


def test_an_unscoped_key_still_mints_an_unscoped_key(client, caller):
    admin = caller()
    r = client.post("/v1/keys", headers=admin.headers, json={"name": "full"})
    assert r.status_code == 201 and r.json()["scopes"] is None


@pytest.mark.parametrize("scope", sorted(PERMISSIONS))
def test_over_every_scope_a_minted_key_stays_within_its_minter(client, caller, scope):
    """For each permission: a key scoped to it (plus keys:own, which minting needs) mints
    keys only within those two, whether it asks for nothing, for its own scopes or for
    each other permission."""
    admin = caller()
    own = sorted({scope, "keys:own"})
    narrow = _scoped(client, admin, own)
    default = client.post("/v1/keys", headers=narrow, json={"name": "d"})
    assert default.status_code == 201 and default.json()["scopes"] == own
    same = client.post("/v1/keys", headers=narrow, json={"name": "s", "scopes": own})
    assert same.status_code == 201 and same.json()["scopes"] == own
    for other in sorted(ROLE_PERMISSIONS[UserRole.ADMIN] - set(own)):
        r = client.post("/v1/keys", headers=narrow, json={"name": "o", "scopes": [scope, other]})
        assert r.status_code == 403, (scope, other, r.text)
        assert other in r.json()["detail"]
    keys = client.get("/v1/keys", headers=admin.headers).json()["items"]
    assert len(keys) == 4  # the caller's own, the scoped one, and the two allowed
