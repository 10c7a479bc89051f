"""Signing in, server side, on both databases: lockout, CSRF, sessions, links."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.web.signin_support import PASSWORD, csrf_of, make_web_user, sign_in


def _events(engine: Engine, tenant_id: int) -> list[tuple[str, str]]:
    with transaction(engine, write=False) as db:
        scope_tenant(db, tenant_id)
        rows = db.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action.like("user.%"))
            .order_by(AuditEvent.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def _post_sign_in(client: TestClient, slug: str, email: str, password: str) -> int:
    form = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "organisation": slug,
            "email": email,
            "password": password,
        },
    ).status_code


def test_signing_in_opens_a_session_and_is_audited(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    assert web_client.get("/dashboard").status_code == 303
    sign_in(web_client, who)
    assert web_client.get("/dashboard").status_code == 200
    assert ("user.signed_in", f"user:{who.email} (web)") in _events(db_engine, who.caller.tenant_id)


def test_five_wrong_passwords_lock_the_account(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine)
    for _ in range(5):
        assert _post_sign_in(web_client, who.slug, who.email, "wrong password!") == 401
    # locked: even the right password is refused, with the reason
    form = web_client.get("/sign-in")
    response = web_client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "organisation": who.slug,
            "email": who.email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 401
    assert "locked" in response.text
    actions = [a for a, _ in _events(db_engine, who.caller.tenant_id)]
    assert actions.count("user.sign_in_failed") == 4
    assert "user.locked" in actions and "user.sign_in_refused" in actions
    assert "user.signed_in" not in actions


def test_a_wrong_email_or_organisation_reads_like_a_wrong_password(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    assert _post_sign_in(web_client, who.slug, "nobody@x.example", PASSWORD) == 401
    assert _post_sign_in(web_client, "no-such-org", who.email, PASSWORD) == 401
    assert _post_sign_in(web_client, who.slug, who.email.upper(), PASSWORD) == 303


def test_a_sign_in_post_without_the_form_token_is_refused(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    response = web_client.post(
        "/sign-in", data={"organisation": who.slug, "email": who.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "arpolicy_session" not in response.cookies


def test_a_signed_in_post_needs_the_session_token(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine)
    token = sign_in(web_client, who)
    assert web_client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert web_client.get("/dashboard").status_code == 200  # still signed in
    assert web_client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert web_client.get("/dashboard").status_code == 303  # signed out: the session is void


def test_a_session_ends_when_idle_and_at_its_end(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine)
    sign_in(web_client, who)
    clock = web_client.app.state.clock  # type: ignore[attr-defined]
    start = clock.now()
    clock.set(start + timedelta(minutes=119))
    assert web_client.get("/dashboard").status_code == 200  # and touched
    clock.set(start + timedelta(minutes=119 + 119))
    assert web_client.get("/dashboard").status_code == 200
    clock.set(start + timedelta(hours=12))
    assert web_client.get("/dashboard").status_code == 303  # the absolute end
    sign_in(web_client, who)
    clock.set(clock.now() + timedelta(minutes=121))
    assert web_client.get("/dashboard").status_code == 303  # idle


def test_next_never_leaves_the_site(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine)
    form = web_client.get("/sign-in")
    for target, expected in [
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/customers?x=1", "/customers?x=1"),
    ]:
        web_client.cookies.clear()
        form = web_client.get("/sign-in")
        response = web_client.post(
            "/sign-in",
            data={
                "csrf_token": csrf_of(form.text),
                "organisation": who.slug,
                "email": who.email,
                "password": PASSWORD,
                "next": target,
            },
        )
        assert response.headers["location"] == expected


def test_pages_carry_the_security_headers_and_the_api_keeps_its_own(
    web_client: TestClient,
) -> None:
    page = web_client.get("/sign-in")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["set-cookie"].lower().count("httponly") == 1
    api = web_client.get("/v1/customers")
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in api.headers
    static = web_client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
