"""/v1/customers on both databases, who may do what: owners need owners:write, credit
exemption credit:write, figures more than ledger:read; another tenant's customer is 404 and
never listed; a bad id or date is 422, never 500."""

from __future__ import annotations

import pytest

from arpolicy.models import OutboxMessage, UserRole
from tests.api.customers_support import C, new_customer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_owners_need_owners_write_and_exemption_credit_write(client, caller, stored, subscribe):
    admin = caller()
    subscribe(admin.tenant_id)
    collector = caller(UserRole.COLLECTOR, tenant_id=admin.tenant_id)
    supervisor = caller(UserRole.SUPERVISOR, tenant_id=admin.tenant_id)
    r = client.post(
        C,
        headers=collector.headers,
        json={"external_id": "C1", "name": "A", "finance_owner_id": collector.user_id},
    )
    assert r.status_code == 403 and "owners:write" in r.json()["detail"]
    assert r.json()["where"] == "body.finance_owner_id"
    r = client.post(
        C,
        headers=collector.headers,
        json={"external_id": "C1", "name": "A", "credit_check_exempt": True},
    )
    assert r.status_code == 403 and "credit:write" in r.json()["detail"]
    # the default value is no change; a supervisor may assign owners
    cid = new_customer(client, collector, credit_check_exempt=False)["id"]
    r = client.patch(
        f"{C}/{cid}", headers=collector.headers, json={"sales_owner_id": collector.user_id}
    )
    assert r.status_code == 403
    r = client.patch(
        f"{C}/{cid}", headers=supervisor.headers, json={"finance_owner_id": collector.user_id}
    )
    assert r.status_code == 200 and r.json()["finance_owner_id"] == collector.user_id
    r = client.patch(f"{C}/{cid}", headers=supervisor.headers, json={"credit_check_exempt": True})
    assert r.status_code == 403
    r = client.patch(f"{C}/{cid}", headers=admin.headers, json={"credit_check_exempt": True})
    assert r.status_code == 200 and r.json()["credit_check_exempt"] is True
    kinds = [m.event_type for m in stored(admin.tenant_id, OutboxMessage)]
    assert kinds == [
        "customer.created",
        "customer.updated",
        "customer.owner_changed",
        "customer.updated",
    ]
    r = client.patch(
        f"{C}/{cid}", headers=supervisor.headers, json={"finance_owner_id": 2_000_000_000}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.finance_owner_id"


def test_another_tenants_customer_is_404_and_never_listed(client, caller):
    a, b = caller(), caller()
    theirs = new_customer(client, b, external_id="B1")["id"]
    new_customer(client, a, external_id="A1")
    for r in (
        client.get(f"{C}/{theirs}", headers=a.headers),
        client.get(f"{C}/{theirs}/figures", headers=a.headers),
        client.patch(f"{C}/{theirs}", headers=a.headers, json={"name": "x"}),
    ):
        assert r.status_code == 404, r.text
    assert [c["external_id"] for c in client.get(C, headers=a.headers).json()["items"]] == ["A1"]
    r = client.post(
        C, headers=a.headers, json={"external_id": "A2", "name": "x", "parent_id": theirs}
    )
    assert r.status_code == 422 and r.json()["where"] == "body.parent_id"
    # the same external id in another tenant is no conflict
    assert (
        client.post(C, headers=a.headers, json={"external_id": "B1", "name": "x"}).status_code
        == 201
    )
    assert stored_names(b, client) == ["ACME"]


def stored_names(who, client):
    return [c["name"] for c in client.get(C, headers=who.headers).json()["items"]]


def test_read_permissions(client, caller):
    me = caller()
    cid = new_customer(client, me)["id"]
    r = client.post("/v1/keys", headers=me.headers, json={"name": "ro", "scopes": ["ledger:read"]})
    narrow = {"Authorization": f"Bearer {r.json()['key']}"}
    assert client.get(f"{C}/{cid}", headers=narrow).json()["figures"] is None
    assert client.get(f"{C}/{cid}/figures", headers=narrow).status_code == 403
    r = client.post(C, headers=narrow, json={"external_id": "Z", "name": "Z"})
    assert r.status_code == 403 and "ledger:write" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        f"{C}/0",
        f"{C}/-1",
        f"{C}/abc",
        f"{C}/99999999999999999999",
        f"{C}/1/figures?as_of=0001-01-01",
        f"{C}/1?as_of=2026-13-01",
    ],
)
def test_bad_ids_and_dates_are_422_never_500(client, caller, path):
    r = client.get(path, headers=caller().headers)
    assert r.status_code == 422, r.text
