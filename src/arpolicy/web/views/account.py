"""Signing in and out, a forgotten password, an invitation (docs/web.md, "Signing in").

The signed-out forms are protected from cross-site posts by a double-submit token: a
random value in a ``SameSite=Strict`` cookie that the form must send back."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from arpolicy.auth import signin
from arpolicy.auth.account_mail import send_link
from arpolicy.exceptions import ValidationError
from arpolicy.kit.db import transaction
from arpolicy.mail.transports import MailError
from arpolicy.models import Tenant, UserTokenKind
from arpolicy.tenancy.rls import scope_tenant, tenant_of_slug
from arpolicy.web.context import COOKIE, BadCsrf, current, safe_next
from arpolicy.web.render import page

log = structlog.get_logger("arpolicy.web")
router = APIRouter(include_in_schema=False)
PRE = "arpolicy_csrf"


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or str(request.app.state.settings.public_url).startswith(
        "https:"
    )


def _form_page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    token = request.cookies.get(PRE) or secrets.token_urlsafe(24)
    response = page(request, None, template, status=status, csrf_token=token, **context)
    response.set_cookie(
        PRE, token, httponly=True, samesite="strict", secure=secure(request), path="/"
    )
    return response


async def _form(request: Request) -> dict[str, str]:
    """The posted fields, after the double-submit check (a 403 page when it fails)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(PRE, "")
    if not cookie or not hmac.compare_digest(cookie, values.get("csrf_token", "")):
        raise signin_expired()
    return values


def signin_expired() -> Exception:
    return BadCsrf(
        "the form's security token is missing or out of date (cookies must be on)",
        fix="reload the page and submit the form again",
    )


def _blank(values: dict[str, str], *names: str) -> dict[str, str]:
    return {n: "Fill this in." for n in names if not values.get(n, "").strip()}


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str = "/") -> Response:
    if await run_in_threadpool(current, request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    settings = request.app.state.settings
    values = {"organisation": settings.tenant}
    return _form_page(request, "account/sign_in.html", values=values, next=safe_next(next))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    values = await _form(request)
    target = safe_next(values.get("next"))
    errors = _blank(values, "organisation", "email", "password")
    shown = {k: values.get(k, "") for k in ("organisation", "email")}
    if errors:
        return _form_page(
            request, "account/sign_in.html", 422, values=shown, errors=errors, next=target
        )
    state = request.app.state

    def attempt() -> signin.Attempt:
        with transaction(state.engine, write=True) as db:
            return signin.sign_in(
                db,
                organisation=values["organisation"],
                email=values["email"],
                password=values["password"],
                now=state.clock.now(),
                settings=state.settings,
                ip_address=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"),
            )

    outcome = await run_in_threadpool(attempt)
    if outcome.cookie is None:
        return _form_page(
            request, "account/sign_in.html", 401, values=shown, error=outcome.error, next=target
        )
    return _signed_in(request, outcome.cookie, target)


def _signed_in(request: Request, cookie: str, target: str) -> Response:
    settings = request.app.state.settings
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    response.delete_cookie(PRE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    found = await run_in_threadpool(current, request)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    if found is None:
        return response
    form = await request.form()
    given = form.get("csrf_token")
    if not isinstance(given, str) or not hmac.compare_digest(given, found.session.csrf_token):
        raise signin_expired()
    state = request.app.state

    def end() -> None:
        with transaction(state.engine, write=True) as db:
            scope_tenant(db, found.tenant.id)
            signin.sign_out(db, found, state.clock.now())

    await run_in_threadpool(end)
    return response


@router.get("/forgot", response_class=HTMLResponse)
async def forgot_form(request: Request) -> Response:
    values = {"organisation": request.app.state.settings.tenant}
    return _form_page(request, "account/forgot.html", values=values)


@router.post("/forgot", response_class=HTMLResponse)
async def forgot(request: Request) -> Response:
    values = await _form(request)
    errors = _blank(values, "organisation", "email")
    shown = {k: values.get(k, "") for k in ("organisation", "email")}
    if errors:
        return _form_page(request, "account/forgot.html", 422, values=shown, errors=errors)
    await run_in_threadpool(_send_reset, request, shown["organisation"], shown["email"])
    return _form_page(request, "account/forgot.html", values=shown, sent=True)


def _send_reset(request: Request, organisation: str, email: str) -> None:
    """Email a reset link when the account exists and is active; say nothing either way
    (the page reads the same, so nobody learns which emails have accounts)."""
    state = request.app.state
    now = state.clock.now()
    with transaction(state.engine, write=True) as db:
        tenant_id = tenant_of_slug(db, organisation.strip())
        if tenant_id is None:
            return
        scope_tenant(db, tenant_id)
        user = signin.find_user(db, tenant_id, email)
        if user is None or not user.active:
            return
        token = signin.issue_link(db, user, UserTokenKind.PASSWORD_RESET, now)
        tenant = db.get(Tenant, tenant_id)
        assert tenant is not None
        who = {"name": user.name, "email": user.email, "tenant_name": tenant.name}
    try:
        send_link(
            state.settings,
            kind=UserTokenKind.PASSWORD_RESET,
            token=token,
            tenant_slug=organisation.strip(),
            now=now,
            **who,
        )
    except MailError as exc:
        log.warning("account.reset_mail_failed", error=str(exc))


HEADINGS = {
    UserTokenKind.INVITATION: (
        "Welcome to arpolicy",
        "Choose the password you will sign in with.",
    ),
    UserTokenKind.PASSWORD_RESET: ("Choose a new password", "Your old password stops working."),
}


def _link_page(request: Request, token: str, kind: UserTokenKind, **context: Any) -> Response:
    heading, intro = HEADINGS[kind]
    action = ("/invitation/" if kind is UserTokenKind.INVITATION else "/reset/") + token
    return _form_page(
        request,
        "account/password.html",
        context.pop("status", 200),
        heading=heading,
        intro=intro,
        action=action,
        **context,
    )


def _valid(request: Request, token: str, kind: UserTokenKind) -> bool:
    state = request.app.state
    with transaction(state.engine, write=False) as db:
        found = signin.open_link(db, token, state.clock.now())
    return found is not None and found[0].kind is kind


@router.get("/reset/{token}", response_class=HTMLResponse)
async def reset_form(request: Request, token: str) -> Response:
    valid = await run_in_threadpool(_valid, request, token, UserTokenKind.PASSWORD_RESET)
    return _link_page(request, token, UserTokenKind.PASSWORD_RESET, invalid=not valid)


@router.get("/invitation/{token}", response_class=HTMLResponse)
async def invitation_form(request: Request, token: str) -> Response:
    valid = await run_in_threadpool(_valid, request, token, UserTokenKind.INVITATION)
    return _link_page(request, token, UserTokenKind.INVITATION, invalid=not valid)


@router.post("/reset/{token}", response_class=HTMLResponse)
async def reset(request: Request, token: str) -> Response:
    return await _set_password(request, token, UserTokenKind.PASSWORD_RESET)


@router.post("/invitation/{token}", response_class=HTMLResponse)
async def accept_invitation(request: Request, token: str) -> Response:
    return await _set_password(request, token, UserTokenKind.INVITATION)


async def _set_password(request: Request, token: str, kind: UserTokenKind) -> Response:
    values = await _form(request)
    password, confirm = values.get("password", ""), values.get("confirm", "")
    if password != confirm:
        errors = {"confirm": "The two passwords differ; type the same password twice."}
        return _link_page(request, token, kind, status=422, errors=errors)
    state = request.app.state

    def save() -> str | None:
        now = state.clock.now()
        with transaction(state.engine, write=True) as db:
            found = signin.open_link(db, token, now)
            if found is None or found[0].kind is not kind:
                return None
            link, user = found
            signin.set_password(db, link, user, password, now)
            return signin.open_session(
                db, user, now, state.settings, request.client.host if request.client else None
            )

    try:
        cookie = await run_in_threadpool(save)
    except ValidationError as exc:
        errors = {exc.where or "password": f"{exc.message}: {exc.fix}" if exc.fix else exc.message}
        return _link_page(request, token, kind, status=422, errors=errors)
    if cookie is None:
        return _link_page(request, token, kind, status=410, invalid=True)
    return _signed_in(request, cookie, "/")
