"""A request the service cannot read is a 400 that says where (issue 12, item 13): a
misspelt query parameter is refused, never ignored, and a broken JSON body is a 400 with
its line and column, not a 422 with a character offset."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_an_unknown_query_parameter_is_a_400_naming_the_nearest(client, caller):
    me = caller()
    client.post(
        "/v1/customers",
        headers=me.headers,
        json={"external_id": "D1", "name": "D", "country": "DE"},
    )
    client.post(
        "/v1/customers",
        headers=me.headers,
        json={"external_id": "F1", "name": "F", "country": "FR"},
    )
    r = client.get("/v1/customers", headers=me.headers, params={"countri": "DE"})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"].endswith("/unknown-parameter") and body["where"] == "query.countri"
    assert body["fix"].startswith("did you mean country?")
    ok = client.get("/v1/customers", headers=me.headers, params={"country": "DE"})
    assert [c["external_id"] for c in ok.json()["items"]] == ["D1"]


def test_every_route_refuses_what_it_does_not_take(client, caller):
    me = caller()
    for path in ("/v1/users", "/v1/keys", "/v1/tenant", "/v1/reports/ageing", "/v1/audit"):
        r = client.get(path, headers=me.headers, params={"zzz_unknown": "1"})
        assert r.status_code == 400 and r.json()["where"] == "query.zzz_unknown", (path, r.text)
        assert client.get(path, headers=me.headers).status_code == 200, path


def test_declared_parameters_of_dependencies_still_pass(client, caller):
    me = caller()
    r = client.get("/v1/users", headers=me.headers, params={"limit": 1, "sort": "-id"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "raw,where",
    [
        (b'{"external_id": "X",\n "name": "Y",\n "country" "DE"}', "body, line 3, column 12"),
        (b'{"external_id": "X", "name": }', "body, line 1, column 30"),
        (b"not json", "body, line 1, column 1"),
    ],
)
def test_a_broken_json_body_is_a_400_with_line_and_column(client, caller, stored, raw, where):
    from arpolicy.models import Customer

    me = caller()
    r = client.post(
        "/v1/customers",
        headers={**me.headers, "Content-Type": "application/json"},
        content=raw,
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"].endswith("/invalid-json") and body["where"] == where
    assert body["detail"].startswith("the body is not valid JSON: ")
    assert stored(me.tenant_id, Customer) == []
