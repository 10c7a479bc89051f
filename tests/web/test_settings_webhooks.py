"""Settings > Webhooks, server side, on both databases: register an endpoint (its secret
shown once), switch it off and on, a test event, its deliveries and a retry, delete; the
API's checks beside the field; webhooks:manage only; another tenant's endpoint is 404."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.models import OutboxMessage, UserRole, WebhookEndpoint
from arpolicy.webhooks import destinations
from tests.web.settings_support import actions, rows
from tests.web.signin_support import make_web_user, sign_in
from tests.webhooks.support import offline_resolver

SECRET = re.compile(r'id="new-secret" type="text" readonly value="(whsec_[^"]+)"')
URL = "https://hooks.example.com/ar"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(destinations, "system_resolver", offline_resolver)


def test_an_admin_registers_tests_and_retries(web_client: TestClient, db_engine: Engine) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    tenant = admin.caller.tenant_id
    csrf = sign_in(web_client, admin)
    assert web_client.get("/settings/webhooks").status_code == 200
    created = web_client.post(
        "/settings/webhooks",
        data={"csrf_token": csrf, "url": URL, "events": ["customer.created"], "description": "ERP"},
    )
    assert created.status_code == 200, created.text
    secret = SECRET.search(created.text)
    assert secret is not None
    (endpoint,) = rows(db_engine, tenant, WebhookEndpoint)
    assert (endpoint.url, endpoint.events, endpoint.description) == (
        URL,
        ["customer.created"],
        "ERP",
    )
    listed = web_client.get("/settings/webhooks")
    assert URL in listed.text and secret.group(1) not in listed.text
    tested = web_client.post(f"/settings/webhooks/{endpoint.id}/test", data={"csrf_token": csrf})
    assert tested.status_code == 200 and "<code>webhook.test</code>" in tested.text
    (delivery,) = rows(db_engine, tenant, OutboxMessage, endpoint_id=endpoint.id)
    retried = web_client.post(
        f"/settings/webhooks/deliveries/{delivery.id}/retry", data={"csrf_token": csrf}
    )
    assert retried.status_code == 200 and f"Delivery {delivery.id} is queued again" in retried.text
    off = web_client.post(
        f"/settings/webhooks/{endpoint.id}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert off.status_code == 200
    assert rows(db_engine, tenant, WebhookEndpoint)[0].active is False
    refused = web_client.post(f"/settings/webhooks/{endpoint.id}/test", data={"csrf_token": csrf})
    assert refused.status_code == 409  # the API refuses a test of an endpoint that is off
    assert "form-error" in refused.text
    filtered = web_client.get(
        "/settings/webhooks", params={"status": "pending"}, headers={"HX-Request": "true"}
    )
    assert filtered.text.lstrip().startswith('<div id="deliveries"')
    gone = web_client.post(f"/settings/webhooks/{endpoint.id}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 200 and rows(db_engine, tenant, WebhookEndpoint) == []
    actor = f"user:{admin.email} (web)"
    assert [a for a, who in actions(db_engine, tenant, "webhook") if who == actor] == [
        "webhook_endpoint.created",
        "webhook_endpoint.tested",
        "webhook_delivery.retried",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]


def test_bad_endpoints_are_refused_beside_the_field(
    web_client: TestClient, db_engine: Engine
) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    cases = [
        ({"url": "http://hooks.example.com/x", "events": ["*"]}, 'id="e-url"'),
        ({"url": "https://inside.example/x", "events": ["*"]}, 'id="e-url"'),
        ({"url": URL}, 'id="e-events"'),
    ]
    for data, marker in cases:
        bad = web_client.post("/settings/webhooks", data={"csrf_token": csrf, **data})
        assert bad.status_code == 422, bad.text
        assert marker in bad.text, data
    assert rows(db_engine, admin.caller.tenant_id, WebhookEndpoint) == []


def test_only_webhooks_manage_and_only_ones_own_tenant(
    web_client: TestClient, db_engine: Engine
) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    web_client.post("/settings/webhooks", data={"csrf_token": csrf, "url": URL, "events": ["*"]})
    (endpoint,) = rows(db_engine, admin.caller.tenant_id, WebhookEndpoint)
    supervisor = make_web_user(db_engine, UserRole.SUPERVISOR, tenant_id=admin.caller.tenant_id)
    csrf = sign_in(web_client, supervisor)
    assert web_client.get("/settings/webhooks").status_code == 403
    path = f"/settings/webhooks/{endpoint.id}/delete"
    assert web_client.post(path, data={"csrf_token": csrf}).status_code == 403
    stranger = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, stranger)
    assert web_client.post(path, data={"csrf_token": csrf}).status_code == 404
    assert web_client.post(path, data={}).status_code == 403  # no CSRF token
    assert len(rows(db_engine, admin.caller.tenant_id, WebhookEndpoint)) == 1
