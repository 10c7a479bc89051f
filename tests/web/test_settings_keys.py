"""Settings > API keys and the audit log, server side, on both databases: a key shown once
with the API's minting rules, revoking, others' keys only with keys:manage; the audit log's
filters (actor, action, entity, days), paging, permission."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.models import ApiKey, UserRole
from tests.web.settings_support import actions, rows
from tests.web.signin_support import make_web_user, sign_in

SECRET = re.compile(r'id="new-key" type="text" readonly value="([^"]+)"')


def test_a_key_is_shown_once_and_works_on_the_api(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    csrf = sign_in(web_client, who)
    created = web_client.post(
        "/settings/keys",
        data={"csrf_token": csrf, "name": "sync", "scopes": ["ledger:read"], "expires_on": ""},
    )
    assert created.status_code == 200, created.text
    secret = SECRET.search(created.text)
    assert secret is not None and "it is shown this once" in created.text
    api = web_client.get("/v1/customers", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert api.status_code == 200
    listed = web_client.get("/settings/keys")
    assert "sync" in listed.text and secret.group(1) not in listed.text
    key = next(k for k in rows(db_engine, who.caller.tenant_id, ApiKey) if k.name == "sync")
    assert key.scopes == ["ledger:read"] and key.user_id == who.caller.user_id
    revoked = web_client.post(f"/settings/keys/{key.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200 and "is revoked" in revoked.text
    again = web_client.get("/v1/customers", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert again.status_code == 401
    actor = f"user:{who.email} (web)"
    assert actions(db_engine, who.caller.tenant_id, "api_key.") == [
        ("api_key.created", actor),
        ("api_key.revoked", actor),
    ]


def test_minting_rules_and_bad_input(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    csrf = sign_in(web_client, who)
    before = len(rows(db_engine, who.caller.tenant_id, ApiKey))
    beyond = web_client.post(
        "/settings/keys", data={"csrf_token": csrf, "name": "x", "scopes": ["users:manage"]}
    )
    assert beyond.status_code in (403, 422) and "users:manage" in beyond.text
    unnamed = web_client.post("/settings/keys", data={"csrf_token": csrf, "name": ""})
    assert unnamed.status_code == 422 and 'id="e-name"' in unnamed.text
    past = web_client.post(
        "/settings/keys", data={"csrf_token": csrf, "name": "old", "expires_on": "2026-01-01"}
    )
    assert past.status_code == 422 and 'id="e-expires_on"' in past.text
    assert "would have expired already" in past.text
    no_csrf = web_client.post("/settings/keys", data={"name": "sneaky"})
    assert no_csrf.status_code == 403
    assert len(rows(db_engine, who.caller.tenant_id, ApiKey)) == before


def test_others_keys_need_keys_manage(web_client: TestClient, db_engine: Engine) -> None:
    collector = make_web_user(db_engine, UserRole.COLLECTOR)
    admin = make_web_user(db_engine, UserRole.ADMIN, tenant_id=collector.caller.tenant_id)
    admin_key = rows(db_engine, admin.caller.tenant_id, ApiKey, user_id=admin.caller.user_id)[0]
    csrf = sign_in(web_client, collector)
    page = web_client.get("/settings/keys")
    assert admin_key.prefix not in page.text  # only one's own keys
    refused = web_client.post(f"/settings/keys/{admin_key.id}/revoke", data={"csrf_token": csrf})
    assert refused.status_code == 403
    stranger = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, stranger)
    missing = web_client.post(f"/settings/keys/{admin_key.id}/revoke", data={"csrf_token": csrf})
    assert missing.status_code == 404
    (key,) = rows(db_engine, admin.caller.tenant_id, ApiKey, id=admin_key.id)
    assert key.revoked_at is None
    csrf = sign_in(web_client, admin)
    page = web_client.get("/settings/keys")
    assert admin_key.prefix in page.text and collector.email in page.text  # keys:manage


def test_the_audit_log_filters_and_pages(web_client: TestClient, db_engine: Engine) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    for n in range(3):
        web_client.post("/settings/keys", data={"csrf_token": csrf, "name": f"k{n}"})
    mine = web_client.get(
        "/settings/audit", params={"actor": admin.email, "action": "api_key.created"}
    )
    assert mine.status_code == 200
    assert mine.text.count("<code>api_key.created</code>") == 3
    assert "user.signed_in" not in mine.text
    entity = web_client.get("/settings/audit", params={"entity": "user"})
    assert "<code>user.signed_in</code>" in entity.text and "api_key.created" not in entity.text
    today = web_client.get(
        "/settings/audit",
        params={"since": "2026-11-23", "until": "2026-11-23", "entity": "api_key"},
    )
    assert today.text.count("<code>api_key.created</code>") == 3
    earlier = web_client.get("/settings/audit", params={"until": "2026-11-22"})
    assert "No event matches." in earlier.text
    bad = web_client.get("/settings/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and 'id="e-since"' in bad.text
    swapped = web_client.get(
        "/settings/audit", params={"since": "2026-11-23", "until": "2026-11-01"}
    )
    assert swapped.status_code == 422 and 'id="e-until"' in swapped.text
    fragment = web_client.get(
        "/settings/audit", params={"entity": "api_key"}, headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="events"')
    supervisor = make_web_user(db_engine, UserRole.SUPERVISOR, tenant_id=admin.caller.tenant_id)
    sign_in(web_client, supervisor)
    assert web_client.get("/settings/audit").status_code == 200  # audit:read
    sales = make_web_user(db_engine, UserRole.SALES, tenant_id=admin.caller.tenant_id)
    sign_in(web_client, sales)
    assert web_client.get("/settings/audit").status_code == 403


def test_the_audit_log_pages_by_fifty(web_client: TestClient, db_engine: Engine) -> None:
    from arpolicy.audit import Actor, record
    from arpolicy.kit.db import transaction
    from arpolicy.tenancy.rls import scope_tenant
    from tests.api.conftest import NOW

    admin = make_web_user(db_engine, UserRole.ADMIN)
    tenant = admin.caller.tenant_id
    with transaction(db_engine) as db:
        scope_tenant(db, tenant)
        for n in range(55):
            record(db, Actor(tenant, "cli:paging"), "note.added", "note", n, at=NOW)
    sign_in(web_client, admin)
    first = web_client.get("/settings/audit", params={"action": "note.added"})
    assert first.text.count("<code>note.added</code>") == 50
    older = re.search(r'href="(/settings/audit\?[^"]*cursor=[^"]+)">Older events', first.text)
    assert older is not None
    second = web_client.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count("<code>note.added</code>") == 5 and "Older events" not in second.text
    assert "<td>note 4</td>" in second.text and "<td>note 54</td>" in first.text
