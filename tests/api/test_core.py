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
    r = client.post(
        "/v1/users", headers=agent.headers, json={"email": "a@b.com", "name": "A", "role": "admin"}
    )
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
    r = client.post(
        "/v1/users",
        headers=me.headers,
        json={"email": "x@y.com", "name": "X", "role": "collector", "tenant_id": 1},
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "where": "body.tenant_id",
            "message": "unknown or server-owned field",
            "fix": "remove this field: it is unknown or set by the server",
        }
    ]


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
        client.post(
            "/v1/users",
            headers=me.headers,
            json={"email": f"p{i}@example.com", "name": f"N{6 - i}", "role": "sales"},
        )
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
    uid = client.post(
        "/v1/users",
        headers=me.headers,
        json={"email": "aud@example.com", "name": "A", "role": "sales"},
    ).json()["id"]
    client.patch(
        f"/v1/users/{uid}",
        headers={**me.headers, "X-Request-Id": "req42"},
        json={"role": "collector"},
    )
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

    app = create_app(
        Settings(
            database_url=api_engine.url.render_as_string(hide_password=False),
            rate_limit_per_minute=3,
        ),
        clock=clock,
    )
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


# --- the schema says what the server checks (issue 11 item 8) ----------------------------


def _inputs(spec: dict, node: object, seen: frozenset[str] = frozenset()):
    """Every schema node a request may carry, ``$ref`` followed (each component once per
    path, so recursive schemas end)."""
    if isinstance(node, list):
        for item in node:
            yield from _inputs(spec, item, seen)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if ref and ref not in seen:
            yield from _inputs(
                spec, spec["components"]["schemas"][ref.split("/")[-1]], seen | {ref}
            )
        yield node
        for value in node.values():
            yield from _inputs(spec, value, seen)


def _request_nodes(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                yield f"{method.upper()} {path} {param['name']}", _inputs(spec, param["schema"])
            for media in op.get("requestBody", {}).get("content", {}).values():
                yield f"{method.upper()} {path} body", _inputs(spec, media["schema"])


def test_every_date_and_instant_a_request_takes_is_bounded_in_the_schema(client):
    from arpolicy.api.types import DAY_PATTERN, INSTANT_PATTERN

    spec = client.get("/openapi.json").json()
    expected = {"date": DAY_PATTERN, "date-time": INSTANT_PATTERN}
    seen = 0
    for label, nodes in _request_nodes(spec):
        for node in nodes:
            if isinstance(node.get("format"), str) and node["format"] in expected:
                seen += 1
                assert node.get("pattern") == expected[node["format"]], label
    assert seen >= 40


def test_dates_and_instants_are_iso_and_from_1900_to_2999(client, caller, stored):
    from arpolicy.models import FxRate

    me = caller()
    for bad in ("0", "1700000000", "1899-12-31", "3000-01-01", "2026-01-31T00:00", "20260131"):
        r = client.get("/v1/reports/ageing", headers=me.headers, params={"as_of": bad})
        assert r.status_code == 422, bad
        assert r.json()["where"] == "query.as_of" and "YYYY-MM-DD" in r.json()["fix"]
    ok = client.get("/v1/reports/ageing", headers=me.headers, params={"as_of": "2999-12-31"})
    assert ok.status_code == 200 and ok.json()["as_of"] == "2999-12-31"
    rate = {"from_currency": "EUR", "to_currency": "USD", "rate": "1.1", "valid_on": 0}
    r = client.post("/v1/fx-rates", headers=me.headers, json=rate)
    assert r.status_code == 422 and r.json()["where"] == "body.valid_on"
    for bad in ("0", "2026-01-31T09:30:00", "2026-01-31 09:30:00Z", "1899-12-31T23:00:00Z"):
        r = client.get("/v1/audit", headers=me.headers, params={"since": bad})
        assert r.status_code == 422 and r.json()["where"] == "query.since", bad
    since = {"since": "2026-01-31T10:30:00+01:00"}
    assert client.get("/v1/audit", headers=me.headers, params=since).status_code == 200
    assert stored(me.tenant_id, FxRate) == []


def test_every_sort_parameter_lists_exactly_what_its_listing_takes(client, caller):
    me = caller()
    spec = client.get("/openapi.json").json()
    listings = 0
    for path, item in spec["paths"].items():
        sort = [p for p in item.get("get", {}).get("parameters", []) if p["name"] == "sort"]
        if not sort:
            continue
        listings += 1
        values = sort[0]["schema"]["anyOf"][0]["enum"]
        assert {"id", "-id"} <= set(values), path
        for value in values:
            r = client.get(path, headers=me.headers, params={"sort": value, "limit": 1})
            assert r.status_code == 200, (path, value, r.text)
        r = client.get(path, headers=me.headers, params={"sort": "password"})
        assert r.status_code == 422 and r.json()["where"] == "query.sort", path
        assert f"'{values[-1]}'" in r.json()["fix"]
    assert listings >= 20


def test_a_405_names_every_method_of_the_path_in_allow(client, caller):
    me = caller()
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        documented = sorted(m.upper() for m in item)
        method = next(m for m in ("DELETE", "PUT", "PATCH", "POST", "GET") if m not in documented)
        concrete = "/".join("1" if p.startswith("{") else p for p in path.split("/"))
        r = client.request(method, concrete, headers=me.headers)
        assert r.status_code == 405, (method, path)
        assert r.headers["allow"] == ", ".join(documented), (method, path)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["fix"].startswith(f"use one of {r.headers['allow']}")


def test_a_patch_may_leave_a_field_out_but_never_null_it(client, caller, stored):
    from arpolicy.models import User

    me = caller()
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    name = spec["UserUpdate"]["properties"]["name"]
    assert name["type"] == "string" and "anyOf" not in name and "default" not in name
    key = spec["CustomerUpdate"]["properties"]["external_id"]
    assert key["type"] == "string" and "anyOf" not in key
    team = spec["UserUpdate"]["properties"]["team"]  # a team can be removed: null stays
    assert {"type": "null"} in team["anyOf"]
    for path, body in (
        (f"/v1/users/{me.user_id}", {"name": None, "active": None}),
        ("/v1/tenant", {"name": None}),
    ):
        r = client.patch(path, headers=me.headers, json=body)
        assert r.status_code == 422 and r.json()["where"] == "body.name", path
        assert "leave the field out" in r.json()["fix"]
    assert stored(me.tenant_id, User)[0].active is True
    r = client.post("/v1/customers", headers=me.headers, json={"external_id": "C1", "name": "A"})
    r = client.patch(
        f"/v1/customers/{r.json()['id']}", headers=me.headers, json={"external_id": None}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.external_id"


def test_currency_codes_are_listed_in_the_schema_and_checked(client, caller, stored):
    from arpolicy.models import FxRate

    me = caller()
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    codes = spec["RateCreate"]["properties"]["from_currency"]["enum"]
    assert {"USD", "EUR", "JPY", "KWD"} <= set(codes) and not {"AAA", "XAU", "usd"} & set(codes)
    money = spec["MoneyValue"]["properties"]["currency"]["enum"]
    assert money == codes
    rate = {"from_currency": "AAA", "to_currency": "USD", "rate": "1.1", "valid_on": "2026-01-01"}
    r = client.post("/v1/fx-rates", headers=me.headers, json=rate)
    assert r.status_code == 422 and r.json()["where"] == "body.from_currency"
    assert "ISO 4217" in r.json()["fix"]
    assert stored(me.tenant_id, FxRate) == []
