"""Signing in through the real forms in a TestClient (server-side web tests)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from arpolicy.auth.passwords import hash_password
from arpolicy.kit.db import transaction
from arpolicy.models import User, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import Caller, make_caller

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class WebUser:
    """A tenant's user with a password, its API caller (key) and its email."""

    caller: Caller
    email: str

    @property
    def slug(self) -> str:
        return self.caller.slug


def make_web_user(
    engine: Engine, role: UserRole = UserRole.ADMIN, *, tenant_id: int | None = None
) -> WebUser:
    """A new tenant (or ``tenant_id``) with a user of ``role`` whose password is
    :data:`PASSWORD` (and an API key, to set data up through the API)."""
    caller = make_caller(engine, role, tenant_id=tenant_id)
    with transaction(engine) as db:
        scope_tenant(db, caller.tenant_id)
        db.execute(
            update(User)
            .where(User.tenant_id == caller.tenant_id, User.id == caller.user_id)
            .values(password_hash=_HASH)
        )
        user = db.get(User, caller.user_id)
        assert user is not None
        email = user.email
    return WebUser(caller, email)


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: TestClient, who: WebUser, password: str = PASSWORD) -> str:
    """Sign ``who`` in through /sign-in; the client keeps the session cookie. Returns the
    session's CSRF token (for the forms and htmx requests of the pages)."""
    client.cookies.clear()
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "organisation": who.slug,
            "email": who.email,
            "password": password,
            "next": "/dashboard",
        },
    )
    assert response.status_code == 303, response.text
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
