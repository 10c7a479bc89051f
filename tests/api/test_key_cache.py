"""A key remembered in process (arpolicy.api.keycache) is checked again against the database
by the request's first transaction: a change made elsewhere (another process, the CLI, the
database by hand) takes effect on the next request, as if the key were authenticated from
scratch. The changes here are made straight in the database, as another process would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from arpolicy.api.context import scope_tenant
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.models import ApiKey, Customer, Tenant, User, UserRole
from tests.api.conftest import NOW, Caller


def _change(engine: Engine, tenant_id: int, stmt: Any) -> None:
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        s.execute(stmt)


def _customer(client: TestClient, who: Caller) -> int:
    made = client.post(
        "/v1/customers", json={"external_id": "KC-1", "name": "Cached"}, headers=who.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_key_revoked_elsewhere_is_refused_on_the_next_request(
    client: TestClient, caller: Callable[..., Caller], api_engine: Engine
) -> None:
    who = caller()
    cid = _customer(client, who)
    assert client.get(f"/v1/customers/{cid}", headers=who.headers).status_code == 200
    assert client.app.state.key_cache.get(who.key, NOW) is not None  # type: ignore[attr-defined]
    _change(
        api_engine,
        who.tenant_id,
        update(ApiKey).where(ApiKey.tenant_id == who.tenant_id).values(revoked_at=NOW),
    )
    for path in (f"/v1/customers/{cid}", "/v1/customers"):
        refused = client.get(path, headers=who.headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"] == "the API key is unknown, revoked or expired"
    assert client.app.state.key_cache.get(who.key, NOW) is None  # type: ignore[attr-defined]


def test_a_user_deactivated_elsewhere_is_refused(
    client: TestClient, caller: Callable[..., Caller], api_engine: Engine
) -> None:
    who = caller()
    cid = _customer(client, who)
    _change(
        api_engine, who.tenant_id, update(User).where(User.id == who.user_id).values(active=False)
    )
    refused = client.post(
        "/v1/customers", json={"external_id": "KC-2", "name": "Never"}, headers=who.headers
    )
    assert refused.status_code == 401, refused.text
    ok_again = caller(tenant_id=who.tenant_id)
    assert client.get(f"/v1/customers/{cid}", headers=ok_again.headers).status_code == 200
    listed = client.get("/v1/customers?external_id=KC-2", headers=ok_again.headers).json()
    assert listed["items"] == []  # nothing was written by the refused request


def test_a_narrowed_role_is_refused_and_a_widened_one_served(
    client: TestClient, caller: Callable[..., Caller], api_engine: Engine
) -> None:
    who = caller(UserRole.COLLECTOR)
    _customer(client, who)
    _change(
        api_engine, who.tenant_id, update(User).where(User.id == who.user_id).values(role="sales")
    )
    body = {"external_id": "KC-3", "name": "Not allowed"}
    refused = client.post("/v1/customers", json=body, headers=who.headers)
    assert refused.status_code == 403, refused.text
    assert "ledger:write" in refused.json()["detail"]
    _change(
        api_engine, who.tenant_id, update(User).where(User.id == who.user_id).values(role="admin")
    )
    allowed = client.post("/v1/customers", json=body, headers=who.headers)
    assert allowed.status_code == 201, allowed.text


def test_tenant_settings_changed_elsewhere_are_used(
    client: TestClient, caller: Callable[..., Caller], api_engine: Engine
) -> None:
    who = caller()
    cid = _customer(client, who)
    first = client.get(f"/v1/customers/{cid}", headers=who.headers).json()
    assert first["figures"]["as_of"] == "2026-11-23"
    _change(
        api_engine,
        who.tenant_id,
        update(Tenant).where(Tenant.id == who.tenant_id).values(timezone="Pacific/Kiritimati"),
    )
    then = client.get(f"/v1/customers/{cid}", headers=who.headers).json()
    assert then["figures"]["as_of"] == "2026-11-24"  # noon UTC is past midnight at UTC+14


def test_a_key_past_its_expiry_is_refused(
    client: TestClient, caller: Callable[..., Caller], api_engine: Engine, clock: FixedClock
) -> None:
    who = caller()
    cid = _customer(client, who)
    _change(
        api_engine,
        who.tenant_id,
        update(ApiKey)
        .where(ApiKey.tenant_id == who.tenant_id)
        .values(expires_at=NOW + timedelta(hours=1)),
    )
    assert client.get(f"/v1/customers/{cid}", headers=who.headers).status_code == 200
    clock.advance(timedelta(hours=2))
    assert client.get(f"/v1/customers/{cid}", headers=who.headers).status_code == 401
    assert client.get(f"/v1/customers/{cid}/figures", headers=who.headers).status_code == 401


def test_the_customer_read_is_the_same_answer_as_the_list_gives(
    client: TestClient, caller: Callable[..., Caller], stored: Callable[..., list[Any]]
) -> None:
    """GET /v1/customers/{id} answers from a row of the table, not the ORM object."""
    who = caller()
    cid = _customer(client, who)
    one = client.get(f"/v1/customers/{cid}", headers=who.headers)
    assert one.headers["content-type"] == "application/json"
    listed = client.get("/v1/customers?figures=true", headers=who.headers).json()["items"]
    assert one.json() == next(item for item in listed if item["id"] == cid)
    (row,) = stored(who.tenant_id, Customer, id=cid)
    assert one.json()["external_id"] == row.external_id == "KC-1"
