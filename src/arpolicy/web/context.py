"""What every screen gets: the signed-in user as a :class:`Caller`, the same kind of object
the API's routes get (``api.context.Api``), so a view reads and writes through the very
functions a route calls, with the same permissions and the same audit trail (the actor is
``user:<email> (web)``).

``Depends(signed_in("ledger:read"))`` answers a visitor without a live session with a
redirect to the sign-in page (an htmx request gets ``HX-Redirect``), a user whose role
lacks the permission with 403, and checks the CSRF token of every unsafe request (form
field ``csrf_token`` or header ``X-CSRF-Token``, which base.html sends with every htmx
request).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from arpolicy.api.context import Api, Forbidden
from arpolicy.audit import Actor
from arpolicy.auth.permissions import permissions_of
from arpolicy.auth.signin import SignedIn, load_session, needs_touch, touch
from arpolicy.exceptions import ArpolicyError
from arpolicy.kit.db import transaction
from arpolicy.models import UserRole

COOKIE = "arpolicy_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(ArpolicyError):
    status = 401
    type = "unauthorized"


class BadCsrf(ArpolicyError):
    status = 403
    type = "forbidden"


@dataclass
class Caller(Api):
    """A signed-in user of the web app (an :class:`Api` without a key)."""

    user_name: str = ""
    role: UserRole = UserRole.AGENT
    csrf_token: str = ""
    session_id: int = 0

    @property
    def principal(self) -> str:
        return f"user:{self.user_id}"

    @property
    def actor(self) -> Actor:
        return Actor(
            tenant_id=self.tenant_id,
            label=f"user:{self.user_email} (web)",
            user_id=self.user_id,
            request_id=self.request_id,
            clock=self.clock,
        )

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(
                f"your role ({self.role.value}) may not {permission}",
                fix="ask an admin of your organisation for a role that may (docs/web.md)",
            )


def _load(request: Request) -> SignedIn | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    state = request.app.state
    now = state.clock.now()
    with transaction(state.engine, write=False) as db:
        found = load_session(db, cookie, now, state.settings)
    if found is not None and needs_touch(found.session, now):
        with transaction(state.engine, write=True) as db:
            touch(db, found, now)
    return found


def current(request: Request) -> SignedIn | None:
    """The live session of this request, if any (read once per request)."""
    if not hasattr(request.state, "signed_in"):
        request.state.signed_in = _load(request)
    found: SignedIn | None = request.state.signed_in
    return found


def caller_of(request: Request, found: SignedIn) -> Caller:
    state = request.app.state
    user = found.user
    return Caller(
        engine=state.engine,
        clock=state.clock,
        tenant_id=found.tenant.id,
        tenant_slug=found.tenant.slug,
        user_id=user.id,
        user_email=user.email,
        key_id=0,
        key_prefix="",
        permissions=permissions_of(user.role),
        request_id=request.state.request_id,
        settings=state.settings,
        tenant=found.tenant,
        user_name=user.name,
        role=user.role,
        csrf_token=found.session.csrf_token,
        session_id=found.session.id,
    )


async def _check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise BadCsrf(
            "the form's security token is missing or out of date",
            fix="reload the page and submit the form again",
        )


def signed_in(permission: str | None = None) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the signed-in user, who must have ``permission`` (if given)."""

    async def dependency(request: Request) -> Caller:
        found = await run_in_threadpool(current, request)
        if found is None:
            raise NotSignedIn(
                "you are not signed in, or your session has ended",
                fix=f"sign in at /sign-in?next={quote(request.url.path)}",
            )
        caller = caller_of(request, found)
        if request.method not in SAFE:
            await _check_csrf(request, caller.csrf_token)
        if permission is not None:
            caller.require(permission)
        return caller

    return dependency


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/sign-in?next={quote(target, safe='')}"


def safe_next(value: Any) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
    return text
