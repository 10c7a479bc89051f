"""Password reset and invitation links, server side, on both databases."""

from __future__ import annotations

import mailbox
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.auth.signin import issue_link
from arpolicy.kit.db import transaction
from arpolicy.models import User, UserTokenKind
from arpolicy.tenancy.rls import scope_tenant
from tests.web.signin_support import PASSWORD, WebUser, csrf_of, make_web_user, sign_in

LINK = re.compile(r"http://127\.0\.0\.1:8000(/(?:reset|invitation)/\S+)")


def _mails(client: TestClient) -> list[str]:
    url = client.app.state.settings.mail_url  # type: ignore[attr-defined]
    box = mailbox.Maildir(Path(url.removeprefix("maildir://")), create=True)
    return [m.get_payload(decode=True).decode() for m in box]


def _ask_reset(client: TestClient, who: WebUser, email: str | None = None) -> str:
    form = client.get("/forgot")
    response = client.post(
        "/forgot",
        data={
            "csrf_token": csrf_of(form.text),
            "organisation": who.slug,
            "email": email or who.email,
        },
    )
    assert response.status_code == 200
    assert "is on its way" in response.text
    return response.text


def _choose(client: TestClient, path: str, password: str, confirm: str | None = None) -> int:
    client.get(path)  # sets the form token's cookie, whether the link is valid or not
    token = client.cookies.get("arpolicy_csrf")
    data = {"csrf_token": token, "password": password, "confirm": confirm or password}
    return client.post(path, data=data).status_code


def test_a_reset_link_sets_a_new_password_once_and_ends_other_sessions(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    other = TestClient(web_client.app, follow_redirects=False)
    sign_in(other, who)
    _ask_reset(web_client, who)
    (body,) = _mails(web_client)
    path = LINK.search(body).group(1)  # type: ignore[union-attr]
    assert _choose(web_client, path, "short", "short") == 422
    assert _choose(web_client, path, "a brand new password", "another one!!") == 422
    assert _choose(web_client, path, "a brand new password") == 303  # signed in
    assert web_client.get("/dashboard").status_code == 200
    assert other.get("/dashboard").status_code == 303  # the old session ended
    assert _choose(web_client, path, "yet another password") == 410  # used up
    web_client.cookies.clear()
    sign_in(web_client, who, "a brand new password")


def test_an_unknown_email_reads_the_same_and_sends_nothing(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    _ask_reset(web_client, who, "nobody@nowhere.example")
    assert _mails(web_client) == []


def test_an_invitation_link_expires_after_seven_days(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    clock = web_client.app.state.clock  # type: ignore[attr-defined]
    with transaction(db_engine) as db:
        scope_tenant(db, who.caller.tenant_id)
        user = db.get(User, who.caller.user_id)
        assert user is not None
        token = issue_link(db, user, UserTokenKind.INVITATION, clock.now())
    assert "Welcome to arpolicy" in web_client.get(f"/invitation/{token}").text
    assert "/reset/" not in web_client.get(f"/invitation/{token}").text
    # a reset page does not take an invitation token, nor an altered one
    assert "expired" in web_client.get(f"/reset/{token}").text
    assert "expired" in web_client.get(f"/invitation/{token}x").text
    clock.set(clock.now() + timedelta(days=7))
    assert "expired" in web_client.get(f"/invitation/{token}").text
    assert _choose(web_client, f"/invitation/{token}", "a good password") == 410
    sign_in(web_client, who, PASSWORD)  # the old password still works
