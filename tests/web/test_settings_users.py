"""Settings > Users, server side, on both databases: invite (an email with a one-time
link), change a role, deactivate (sessions end), send the invitation again; permissions,
CSRF, bad input beside the field, another tenant's user, the audit trail."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.models import User, UserRole, WebSession
from tests.web.settings_support import actions, rows
from tests.web.signin_support import make_web_user, sign_in

LINK = re.compile(r"http\S*/invitation/(\S+)")


def _mails(client: TestClient) -> list[str]:
    url = client.app.state.settings.mail_url  # type: ignore[attr-defined]
    box = mailbox.Maildir(Path(url.removeprefix("maildir://")), create=True)
    return [m.get_payload(decode=True).decode() for m in box]  # type: ignore[union-attr]


def test_an_admin_invites_a_user_who_gets_a_link(web_client: TestClient, db_engine: Engine) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    page = web_client.get("/settings/users")
    assert page.status_code == 200 and admin.email in page.text and "Invite a user" in page.text
    response = web_client.post(
        "/settings/users",
        data={
            "csrf_token": csrf,
            "name": "Nora New",
            "email": "Nora@Example.com",
            "role": "collector",
        },
    )
    assert response.status_code == 200, response.text
    assert "An invitation was emailed to nora@example.com" in response.text
    (user,) = rows(db_engine, admin.caller.tenant_id, User, email="nora@example.com")
    assert (user.role, user.active, user.password_hash) == (UserRole.COLLECTOR, True, None)
    assert 'badge">invited' in response.text
    (mail,) = _mails(web_client)
    token = LINK.search(mail)
    assert token is not None and "Nora New" in mail
    assert web_client.get(f"/invitation/{token.group(1)}").status_code == 200
    # again: a new link, the first one stops working
    again = web_client.post(f"/settings/users/{user.id}/invite", data={"csrf_token": csrf})
    assert again.status_code == 200 and "An invitation was emailed" in again.text
    assert len(_mails(web_client)) == 2
    assert web_client.get(f"/invitation/{token.group(1)}").text.count("has expired") == 1
    actor = f"user:{admin.email} (web)"
    assert ("user.created", actor) in actions(db_engine, admin.caller.tenant_id)
    assert actions(db_engine, admin.caller.tenant_id, "user.invited") == [
        ("user.invited", actor),
        ("user.invited", actor),
    ]


def test_bad_input_is_shown_beside_the_field_and_nothing_is_stored(
    web_client: TestClient, db_engine: Engine
) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, admin)
    before = len(rows(db_engine, admin.caller.tenant_id, User))
    bad = web_client.post(
        "/settings/users",
        data={"csrf_token": csrf, "name": "X", "email": "not-an-email", "role": "collector"},
    )
    assert bad.status_code == 422
    assert (
        'id="e-email"' in bad.text and 'aria-invalid="true" aria-describedby="e-email"' in bad.text
    )
    assert 'value="not-an-email"' in bad.text
    taken = web_client.post(
        "/settings/users",
        data={"csrf_token": csrf, "name": "Me", "email": admin.email, "role": "admin"},
    )
    assert taken.status_code == 422 and f"a user with e-mail {admin.email} exists" in taken.text
    role = web_client.post(
        "/settings/users",
        data={"csrf_token": csrf, "name": "Y", "email": "y@example.com", "role": "boss"},
    )
    assert role.status_code == 422 and 'id="e-role"' in role.text
    assert len(rows(db_engine, admin.caller.tenant_id, User)) == before
    assert _mails(web_client) == []


def test_role_change_and_deactivation_end_the_users_sessions(
    web_client: TestClient, db_engine: Engine
) -> None:
    admin = make_web_user(db_engine, UserRole.ADMIN)
    other = make_web_user(db_engine, UserRole.COLLECTOR, tenant_id=admin.caller.tenant_id)
    sign_in(web_client, other)  # a session of the other user
    csrf = sign_in(web_client, admin)
    uid = other.caller.user_id
    changed = web_client.post(
        f"/settings/users/{uid}/role", data={"csrf_token": csrf, "role": "supervisor"}
    )
    assert changed.status_code == 200 and f"{other.email} is now supervisor" in changed.text
    off = web_client.post(f"/settings/users/{uid}/deactivate", data={"csrf_token": csrf})
    assert off.status_code == 200 and "deactivated and signed out everywhere" in off.text
    (user,) = rows(db_engine, admin.caller.tenant_id, User, id=uid)
    assert (user.role, user.active) == (UserRole.SUPERVISOR, False)
    sessions = rows(db_engine, admin.caller.tenant_id, WebSession, user_id=uid)
    assert sessions and all(s.revoked_at is not None for s in sessions)
    self_off = web_client.post(
        f"/settings/users/{admin.caller.user_id}/deactivate", data={"csrf_token": csrf}
    )
    assert self_off.status_code == 422 and "you cannot deactivate yourself" in self_off.text
    events = actions(db_engine, admin.caller.tenant_id, "user.updated")
    assert events == [("user.updated", f"user:{admin.email} (web)")] * 2


def test_permissions_csrf_and_other_tenants(web_client: TestClient, db_engine: Engine) -> None:
    collector = make_web_user(db_engine, UserRole.COLLECTOR)
    target = make_web_user(db_engine, UserRole.SALES, tenant_id=collector.caller.tenant_id)
    csrf = sign_in(web_client, collector)
    page = web_client.get("/settings/users")
    assert page.status_code == 200 and target.email in page.text  # users:read
    assert "Invite a user" not in page.text and "/deactivate" not in page.text
    uid = target.caller.user_id
    assert (
        web_client.post(
            "/settings/users",
            data={"csrf_token": csrf, "name": "Z", "email": "z@example.com", "role": "admin"},
        ).status_code
        == 403
    )
    assert (
        web_client.post(
            f"/settings/users/{uid}/role", data={"csrf_token": csrf, "role": "admin"}
        ).status_code
        == 403
    )
    assert (
        web_client.post(f"/settings/users/{uid}/deactivate", data={"csrf_token": csrf}).status_code
        == 403
    )
    admin = make_web_user(db_engine, UserRole.ADMIN, tenant_id=collector.caller.tenant_id)
    csrf = sign_in(web_client, admin)
    assert web_client.post(f"/settings/users/{uid}/deactivate", data={}).status_code == 403
    stranger = make_web_user(db_engine, UserRole.ADMIN)  # another tenant
    sign_in(web_client, stranger)
    csrf = sign_in(web_client, stranger)
    assert (
        web_client.post(f"/settings/users/{uid}/deactivate", data={"csrf_token": csrf}).status_code
        == 404
    )
    assert (
        web_client.post(f"/settings/users/{uid}/invite", data={"csrf_token": csrf}).status_code
        == 404
    )
    (user,) = rows(db_engine, collector.caller.tenant_id, User, id=uid)
    assert (user.role, user.active) == (UserRole.SALES, True)
    assert actions(db_engine, collector.caller.tenant_id, "user.updated") == []
    assert _mails(web_client) == []
