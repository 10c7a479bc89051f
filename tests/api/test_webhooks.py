"""/v1/webhooks: endpoints, deliveries and their attempts, on both databases.

These tests run the worker, which claims due messages of every tenant, so the module has a
database of its own (``api_engine`` is overridden here).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.kit.db import transaction
from arpolicy.models import UserRole, WebhookEndpoint
from arpolicy.webhooks import EVENTS, destinations, emit
from arpolicy.webhooks.destinations import ALLOW_SETTING
from arpolicy.worker import deliveries, run_once
from arpolicy.worker.claims import LEASE
from arpolicy.worker.deliveries import UNFINISHED
from tests.webhooks.support import (
    loopback_allowed,
    offline_resolver,
    private_engine,
    receiver,
    settle,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
__all__ = ["loopback_allowed", "receiver"]
E = "/v1/webhooks/endpoints"
D = "/v1/webhooks/deliveries"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def webhook_db(request, tmp_path_factory):
    with private_engine(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture
def api_engine(webhook_db):
    yield webhook_db
    settle(webhook_db)


@pytest.fixture(autouse=True)
def _receivers_on_loopback(loopback_allowed):
    """The test receivers listen on 127.0.0.1: the app (created after this) and the worker
    allow loopback, as an operator would for a self-hosted receiver."""


def _create(client, who, url="https://hooks.example.com/ar", events=("*",), **kw):
    r = client.post(E, headers=who.headers, json={"url": url, "events": list(events), **kw})
    assert r.status_code == 201, r.text
    return r.json()


def _emit(engine, clock, who, n=1, event="customer.created"):
    with transaction(engine) as s:
        for i in range(n):
            emit(s, who.tenant_id, event, {"id": i}, key=f"{event}:{i}", at=clock.now())


def test_event_types_are_listed(client, caller):
    r = client.get("/v1/webhooks/event-types", headers=caller().headers)
    assert r.status_code == 200
    assert {e["type"] for e in r.json()} == set(EVENTS) and "webhook.test" in EVENTS


def test_the_secret_is_shown_at_creation_only_and_never_audited(client, caller):
    me = caller()
    created = _create(client, me, description="ERP", events=["customer.created"])
    assert created["secret"].startswith("whsec_") and created["active"] is True
    read = client.get(f"{E}/{created['id']}", headers=me.headers).json()
    assert "secret" not in read and read["events"] == ["customer.created"]
    listed = client.get(E, headers=me.headers).json()["items"]
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    rotated = client.post(f"{E}/{created['id']}/rotate-secret", headers=me.headers)
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    audit = client.get("/v1/audit", headers=me.headers, params={"entity": "webhook_endpoint"})
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions == ["webhook_endpoint.secret_rotated", "webhook_endpoint.created"]
    assert "whsec_" not in audit.text


def test_a_repeated_create_with_the_same_idempotency_key_makes_one_endpoint(client, caller):
    me = caller()
    h = {**me.headers, "Idempotency-Key": "hook-1"}
    body = {"url": "https://hooks.example.com/x", "events": ["*"]}
    first, again = (client.post(E, headers=h, json=body) for _ in range(2))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first.json(), "secret": None}  # the secret is shown once
    assert len(client.get(E, headers=me.headers).json()["items"]) == 1


@pytest.mark.parametrize(
    "body,where",
    [
        ({"url": "http://hooks.example.com/x", "events": ["*"]}, "body.url"),
        ({"url": "not a url", "events": ["*"]}, "body.url"),
        ({"url": "https://h.example/x", "events": ["customer.created", "nope"]}, "body.events.1"),
        ({"url": "https://h.example/x", "events": []}, "body.events"),
        ({"url": "https://h.example/x", "events": ["*"], "secret": "whsec_x"}, "body.secret"),
        (
            {"url": "https://h.example/x", "events": ["*"], "description": "a\x00b"},
            "body.description",
        ),
    ],
)
def test_bad_endpoints_are_422_naming_the_field(client, caller, body, where):
    r = client.post(E, headers=caller().headers, json=body)
    assert r.status_code == 422 and r.json()["where"] == where, r.text


def test_plain_http_is_accepted_for_localhost_only(client, caller):
    me = caller()
    assert _create(client, me, url="http://localhost:9000/hook")["url"].startswith("http://")
    assert _create(client, me, url="http://127.0.0.1:9000/hook")["active"]


def test_update_is_audited_and_deactivating_stops_pending_deliveries(client, caller, clock):
    me = caller()
    hook = _create(client, me)
    _emit(client.app.state.engine, clock, me, n=2)
    r = client.patch(
        f"{E}/{hook['id']}",
        headers=me.headers,
        json={"events": ["payment.created"], "description": "d", "active": False},
    )
    assert r.status_code == 200 and r.json()["active"] is False
    pending = client.get(D, headers=me.headers, params={"status": "pending"}).json()["items"]
    failed = client.get(D, headers=me.headers, params={"status": "failed"}).json()["items"]
    assert pending == [] and len(failed) == 2 and "deactivated" in failed[0]["last_error"]
    [event] = client.get(
        "/v1/audit", headers=me.headers, params={"action": "webhook_endpoint.updated"}
    ).json()["items"]
    assert event["before"] == {"events": ["*"], "description": None, "active": True}
    assert event["after"] == {"events": ["payment.created"], "description": "d", "active": False}
    r = client.patch(f"{E}/{hook['id']}", headers=me.headers, json={"url": None})
    assert r.status_code == 422 and r.json()["where"] == "body.url"


def test_delete_removes_the_endpoint_and_its_deliveries(client, caller, clock):
    me = caller()
    hook = _create(client, me)
    _emit(client.app.state.engine, clock, me)
    assert client.delete(f"{E}/{hook['id']}", headers=me.headers).status_code == 204
    assert client.get(f"{E}/{hook['id']}", headers=me.headers).status_code == 404
    assert client.get(D, headers=me.headers).json()["items"] == []
    [event] = client.get(
        "/v1/audit", headers=me.headers, params={"action": "webhook_endpoint.deleted"}
    ).json()["items"]
    assert event["before"]["url"] == hook["url"] and "secret" not in event["before"]


def test_a_test_ping_is_delivered_signed_with_its_attempts_visible(client, caller, clock, receiver):
    me = caller()
    hook = _create(client, me, url="https://placeholder.example/", events=["payment.created"])
    url = receiver.expect("/api-ping", hook["secret"], (500,))
    client.patch(f"{E}/{hook['id']}", headers=me.headers, json={"url": url})
    r = client.post(f"{E}/{hook['id']}/test", headers=me.headers)
    assert r.status_code == 202 and r.json()["event_type"] == "webhook.test"
    delivery = r.json()["id"]
    engine = client.app.state.engine
    assert run_once(engine, clock, rand=lambda: 0.5).retrying == 1
    detail = client.get(f"{D}/{delivery}", headers=me.headers).json()
    assert detail["status"] == "pending" and detail["attempts"] == 1
    assert [a["status_code"] for a in detail["attempt_log"]] == [500]
    r = client.post(f"{D}/{delivery}/retry", headers=me.headers)  # no need to wait 5 s
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert datetime.fromisoformat(r.json()["next_attempt_at"]) == clock.now()
    assert run_once(engine, clock, rand=lambda: 0.5).delivered == 1
    detail = client.get(f"{D}/{delivery}", headers=me.headers).json()
    assert detail["status"] == "delivered" and detail["payload"]["type"] == "webhook.test"
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    got = receiver.at("/api-ping")
    assert [g.verified for g in got] == [True, True]
    assert {g.headers["webhook-id"] for g in got} == {detail["event_id"]}


def test_retry_and_test_need_an_active_endpoint(client, caller, clock):
    me = caller()
    hook = _create(client, me)
    _emit(client.app.state.engine, clock, me)
    [delivery] = client.get(D, headers=me.headers).json()["items"]
    client.patch(f"{E}/{hook['id']}", headers=me.headers, json={"active": False})
    for path in (f"{D}/{delivery['id']}/retry", f"{E}/{hook['id']}/test"):
        r = client.post(path, headers=me.headers)
        assert r.status_code == 409 and '"active": true' in r.json()["fix"], path


def test_deliveries_filter_and_page(client, caller, clock):
    me = caller()
    a = _create(client, me, events=["customer.created"])
    b = _create(client, me, events=["*"])
    engine = client.app.state.engine
    _emit(engine, clock, me, n=3)
    _emit(engine, clock, me, n=2, event="payment.created")
    everything = client.get(D, headers=me.headers).json()["items"]
    assert len(everything) == 8 and everything[0]["id"] > everything[-1]["id"]  # newest first
    only_a = client.get(D, headers=me.headers, params={"endpoint_id": a["id"]}).json()["items"]
    assert len(only_a) == 3 and {d["endpoint_id"] for d in only_a} == {a["id"]}
    payments = client.get(D, headers=me.headers, params={"event_type": "payment.created"})
    assert {d["endpoint_id"] for d in payments.json()["items"]} == {b["id"]}
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(D, headers=me.headers, params=params).json()
        seen += [d["id"] for d in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [d["id"] for d in everything]
    assert client.get(D, headers=me.headers, params={"status": "bogus"}).status_code == 422


def test_another_tenants_endpoints_and_deliveries_are_404(client, caller, clock):
    mine, theirs = caller(), caller()
    hook = _create(client, theirs)
    _emit(client.app.state.engine, clock, theirs)
    [delivery] = client.get(D, headers=theirs.headers).json()["items"]
    h = mine.headers
    calls = [
        ("get", f"{E}/{hook['id']}", None),
        ("patch", f"{E}/{hook['id']}", {"active": False}),
        ("delete", f"{E}/{hook['id']}", None),
        ("post", f"{E}/{hook['id']}/rotate-secret", None),
        ("post", f"{E}/{hook['id']}/test", None),
        ("get", f"{D}/{delivery['id']}", None),
        ("post", f"{D}/{delivery['id']}/retry", None),
    ]
    for method, path, body in calls:
        r = client.request(method, path, headers=h, json=body)
        assert r.status_code == 404, (method, path, r.status_code)
    assert client.get(E, headers=h).json()["items"] == []
    assert client.get(D, headers=h).json()["items"] == []
    assert client.get(D, headers=h, params={"endpoint_id": hook["id"]}).json()["items"] == []
    with transaction(client.app.state.engine, write=False) as s:
        assert s.scalar(select(WebhookEndpoint.active).where(WebhookEndpoint.id == hook["id"]))


def test_webhooks_need_the_manage_permission(client, caller):
    collector = caller(UserRole.COLLECTOR)
    for method, path in (("get", E), ("post", E), ("get", D), ("get", "/v1/webhooks/event-types")):
        r = client.request(
            method,
            path,
            headers=collector.headers,
            json={"url": "https://h.example/x", "events": ["*"]} if method == "post" else None,
        )
        assert r.status_code == 403 and "webhooks:manage" in r.json()["detail"]
    assert _create(client, caller(UserRole.FINANCE_MANAGER))["id"]


def test_ids_out_of_range_are_422_not_500(client, caller):
    me = caller()
    assert client.get(f"{E}/99999999999", headers=me.headers).status_code == 422
    assert client.get(f"{D}/0", headers=me.headers).status_code == 422


def test_internal_destinations_are_refused_by_default(api_engine, clock, caller, monkeypatch):
    """An app with the default setting (no network allowed): create and change refuse a
    URL whose host is or resolves to an internal address; nothing is stored."""
    monkeypatch.delenv(ALLOW_SETTING)
    monkeypatch.setattr(destinations, "system_resolver", offline_resolver)
    app = create_app(
        Settings(database_url=api_engine.url.render_as_string(hide_password=False)), clock=clock
    )
    me = caller()
    with TestClient(app, raise_server_exceptions=False) as client:
        for url in (
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://[::1]/",
            "https://metadata.google.internal/",
            "http://127.0.0.1:9/h",
            "https://inside.example/hook",
        ):
            r = client.post(E, headers=me.headers, json={"url": url, "events": ["*"]})
            assert r.status_code == 422 and r.json()["where"] == "body.url", (url, r.text)
            assert "ARPOLICY_WEBHOOK_ALLOW_NETWORKS" in r.json()["fix"], url
        assert client.get(E, headers=me.headers).json()["items"] == []
        hook = _create(client, me)
        r = client.patch(
            f"{E}/{hook['id']}", headers=me.headers, json={"url": "https://loop.example/"}
        )
        assert r.status_code == 422 and "loop.example resolves to 127.0.0.1" in r.json()["detail"]
        assert client.get(f"{E}/{hook['id']}", headers=me.headers).json()["url"] == hook["url"]
    app.state.engine.dispose()


def test_a_blocked_delivery_fails_at_once_with_its_reason(client, caller, clock, monkeypatch):
    me = caller()
    hook = _create(client, me, url="https://rebinding.example/hook")
    _emit(client.app.state.engine, clock, me)
    monkeypatch.delenv(ALLOW_SETTING)  # the worker's rule: the default
    monkeypatch.setattr(destinations, "system_resolver", lambda host, port: ["127.0.0.1"])
    assert run_once(client.app.state.engine, clock, rand=lambda: 0.5).failed == 1
    [delivery] = client.get(D, headers=me.headers, params={"endpoint_id": hook["id"]}).json()[
        "items"
    ]
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert delivery["last_error"].startswith("blocked: rebinding.example resolves to 127.0.0.1")
    detail = client.get(f"{D}/{delivery['id']}", headers=me.headers).json()
    assert [a["error"] for a in detail["attempt_log"]] == [delivery["last_error"]]


def test_a_delivery_whose_outcome_was_lost_is_shown_in_doubt(
    client, caller, clock, receiver, monkeypatch
):
    """The worker stops right after handing the event over: the attempt shows without an
    outcome; the next claim sends the same webhook-id again and the delivery is in doubt."""
    me = caller()
    hook = _create(client, me, url="https://placeholder.example/", events=["customer.created"])
    url = receiver.expect("/doubt", hook["secret"])
    client.patch(f"{E}/{hook['id']}", headers=me.headers, json={"url": url})
    engine = client.app.state.engine
    _emit(engine, clock, me)

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m, pytest.raises(Killed):
        m.setattr(deliveries, "record", killed)
        run_once(engine, clock, rand=lambda: 0.5)
    [delivery] = client.get(D, headers=me.headers).json()["items"]
    detail = client.get(f"{D}/{delivery['id']}", headers=me.headers).json()
    assert (detail["attempts"], detail["in_doubt"], detail["status"]) == (1, False, "pending")
    assert [(a["status_code"], a["error"]) for a in detail["attempt_log"]] == [(None, None)]
    clock.advance(LEASE)
    assert run_once(engine, clock, rand=lambda: 0.5).delivered == 1
    [doubt] = client.get(D, headers=me.headers, params={"in_doubt": True}).json()["items"]
    assert doubt["id"] == delivery["id"] and doubt["in_doubt"] and doubt["status"] == "delivered"
    assert client.get(D, headers=me.headers, params={"in_doubt": False}).json()["items"] == []
    detail = client.get(f"{D}/{delivery['id']}", headers=me.headers).json()
    assert [(a["status_code"], a["error"]) for a in detail["attempt_log"]] == [
        (None, UNFINISHED),
        (200, None),
    ]
    assert {g.headers["webhook-id"] for g in receiver.at("/doubt")} == {detail["event_id"]}
    assert len(receiver.at("/doubt")) == 2
