"""Settings > Organisation and Mail, server side, on both databases: everyone reads the
organisation, settings:manage changes it (audited, bad input beside the field, nothing
stored); the mail transport shown without its password, and a test email to oneself."""

from __future__ import annotations

import mailbox
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, Tenant, UserRole
from tests.web.settings_support import actions, rows
from tests.web.signin_support import make_web_user, sign_in

FORM = {
    "name": "Renamed Ltd",
    "timezone": "Europe/Berlin",
    "locale": "de_DE",
    "ageing_bounds": "15, 45, 90",
    "payment_link_url": "https://pay.example.com/{customer_number}",
    "bank_account_holder": "Renamed Ltd",
    "bank_iban": "DE89 3704 0044 0532 0130 00",
    "bank_bic": "",
    "bank_bank_name": "",
}


def _tenant(engine: Engine, tenant_id: int) -> Tenant:
    with transaction(engine, write=False) as db:
        tenant = db.get(Tenant, tenant_id)
        assert tenant is not None
        db.expunge(tenant)
    return tenant


def test_an_admin_changes_the_organisation(web_client: TestClient, db_engine: Engine) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    page = web_client.get("/settings/tenant")
    assert page.status_code == 200 and "Save the settings" in page.text
    saved = web_client.post("/settings/tenant", data={"csrf_token": csrf, **FORM})
    assert saved.status_code == 200, saved.text
    assert "settings are saved" in saved.text
    tenant = _tenant(db_engine, admin.caller.tenant_id)
    assert (tenant.name, tenant.timezone, tenant.locale) == (
        "Renamed Ltd",
        "Europe/Berlin",
        "de_DE",
    )
    assert tenant.ageing_bounds == [15, 45, 90]
    assert (
        tenant.bank_details is not None and tenant.bank_details["iban"] == "DE89370400440532013000"
    )
    (event,) = [
        e for e in rows(db_engine, admin.caller.tenant_id, AuditEvent) if e.entity == "tenant"
    ]
    assert event.actor == f"user:{admin.email} (web)"


def test_bad_values_come_back_beside_their_field(web_client: TestClient, db_engine: Engine) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    before = _tenant(db_engine, admin.caller.tenant_id)
    cases = {
        "timezone": ("Mars/Olympus", 'id="e-timezone"'),
        "ageing_bounds": ("30, sixty", 'id="e-ageing_bounds"'),
        "bank_iban": ("DE00 1234", 'id="e-bank_iban"'),
        "payment_link_url": ("ftp://pay.example.com", 'id="e-payment_link_url"'),
    }
    for name, (value, marker) in cases.items():
        bad = web_client.post("/settings/tenant", data={"csrf_token": csrf, **FORM, name: value})
        assert bad.status_code == 422, (name, bad.text)
        assert marker in bad.text, name
        assert f'value="{value}"' in bad.text
    after = _tenant(db_engine, admin.caller.tenant_id)
    assert (after.name, after.timezone, after.ageing_bounds) == (
        before.name,
        before.timezone,
        before.ageing_bounds,
    )
    assert [
        e for e in rows(db_engine, admin.caller.tenant_id, AuditEvent) if e.entity == "tenant"
    ] == []


def test_a_collector_reads_but_cannot_change(web_client: TestClient, db_engine: Engine) -> None:
    collector = make_web_user(db_engine, UserRole.COLLECTOR)
    csrf = sign_in(web_client, collector)
    page = web_client.get("/settings/tenant")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text
    assert "Save the settings" not in page.text
    home = web_client.get("/settings")
    assert home.status_code == 200 and 'aria-current="page">Organisation' in home.text
    assert "/settings/webhooks" not in page.text and "/settings/audit" not in page.text
    assert web_client.post("/settings/tenant", data={"csrf_token": csrf, **FORM}).status_code == 403
    for path in ("/settings/mail", "/settings/webhooks", "/settings/audit"):
        assert web_client.get(path).status_code == 403, path
    assert web_client.post("/settings/mail/test", data={"csrf_token": csrf}).status_code == 403
    assert _tenant(db_engine, collector.caller.tenant_id).name != "Renamed Ltd"
    admin = make_web_user(db_engine, UserRole.ADMIN, tenant_id=collector.caller.tenant_id)
    sign_in(web_client, admin)
    assert web_client.post("/settings/tenant", data=FORM).status_code == 403  # no CSRF token
    assert _tenant(db_engine, collector.caller.tenant_id).name != "Renamed Ltd"


def test_the_mail_tab_hides_the_password_and_sends_a_test(
    web_client: TestClient, db_engine: Engine
) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    settings = web_client.app.state.settings  # type: ignore[attr-defined]
    page = web_client.get("/settings/mail")
    assert page.status_code == 200 and settings.mail_url in page.text
    sent = web_client.post("/settings/mail/test", data={"csrf_token": csrf})
    assert sent.status_code == 200 and "A test email was handed" in sent.text
    box = mailbox.Maildir(Path(settings.mail_url.removeprefix("maildir://")))
    (mail,) = list(box)
    assert mail["To"] == admin.email and "the mail settings work" in mail.get_payload()
    original = settings.mail_url
    settings.mail_url = "smtp://robot:s3cret-pass@127.0.0.1:1?timeout=2"
    try:
        page = web_client.get("/settings/mail")
        assert "s3cret-pass" not in page.text and "robot:***@127.0.0.1" in page.text
        failed = web_client.post("/settings/mail/test", data={"csrf_token": csrf})
    finally:
        settings.mail_url = original
    assert failed.status_code == 502 and "was not sent" in failed.text
    assert "s3cret-pass" not in failed.text
    events = [
        e
        for e in rows(db_engine, admin.caller.tenant_id, AuditEvent)
        if e.action == "mail.test_sent"
    ]
    assert [e.after["sent"] for e in events] == [True, False]
    assert all(e.actor == f"user:{admin.email} (web)" for e in events)
    assert (
        actions(db_engine, admin.caller.tenant_id, "mail.")
        == [("mail.test_sent", f"user:{admin.email} (web)")] * 2
    )
