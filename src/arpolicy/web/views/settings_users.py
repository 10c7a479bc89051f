"""Settings > Users: list (users:read), and with users:manage create (which emails an
invitation), change the role, deactivate (which ends the user's sessions) or reactivate,
and send the invitation again. The changes are ``/v1/users``' own functions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from arpolicy.api.routes.users import UserCreate, UserUpdate, create_user, list_users, update_user
from arpolicy.auth import invitations
from arpolicy.auth.account_mail import send_link
from arpolicy.exceptions import ArpolicyError
from arpolicy.mail.transports import MailError
from arpolicy.models import UserRole, UserTokenKind
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.views.settings import field_errors, form_values, json_body, settings_page

router = APIRouter(include_in_schema=False)
ROLES = [role.value for role in UserRole]
PAGE = 50
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _list(request: Request, me: Caller, *, status: int = 200, **context: Any) -> HTMLResponse:
    params = request.query_params
    q = (params.get("q") or "").strip()[:200] or None
    role = params.get("role") if params.get("role") in ROLES else None
    active = {"yes": True, "no": False}.get(params.get("active") or "")
    listed = list_users(
        api=me,
        role=UserRole(role) if role else None,
        active=active,
        team=None,
        manager_id=None,
        q=q,
        cursor=params.get("cursor") or None,
        limit=PAGE,
        sort="name",
    )
    with me.read() as session:
        waiting = invitations.waiting(session, me.tenant_id, [u.id for u in listed.items])
    filters = {"q": q or "", "role": role or "", "active": params.get("active") or ""}
    context.setdefault("values", {"role": UserRole.COLLECTOR.value})
    return settings_page(
        request,
        me,
        "users.html",
        status=status,
        fragment="rows",
        users=listed.items,
        next_cursor=listed.next_cursor,
        waiting=waiting,
        roles=ROLES,
        filters=filters,
        manage=me.can("users:manage"),
        **context,
    )


@router.get("/settings/users", response_class=HTMLResponse)
def users(request: Request, me: Caller = Depends(signed_in("users:read"))) -> Response:
    return _list(request, me)


def _send_invitation(me: Caller, user_id: int) -> str:
    """Issue an invitation link (audited) and email it; the message for the page."""
    with me.write() as session:
        user, token = invitations.invite(session, me.tenant_id, user_id, me.actor, me.now())
        name, email = user.name, user.email
    try:
        send_link(
            me.settings,
            kind=UserTokenKind.INVITATION,
            token=token,
            name=name,
            email=email,
            tenant_name=me.tenant.name,
            tenant_slug=me.tenant_slug,
            now=me.now(),
        )
    except (MailError, ArpolicyError, OSError) as exc:
        return (
            f"The invitation to {email} could not be sent ({exc}). Check the mail settings, "
            "then use “Send the invitation again”."
        )
    return f"An invitation was emailed to {email}: its link works once, for 7 days."


@router.post("/settings/users", response_class=HTMLResponse)
async def create(request: Request, me: Caller = Depends(signed_in("users:manage"))) -> Response:
    values = form_values(await request.form(), "email", "name", "role")
    return await run_in_threadpool(_create, request, me, values)


def _create(request: Request, me: Caller, values: dict[str, str]) -> Response:
    try:
        body = UserCreate.model_validate(values)
        created = json_body(create_user(body, api=me))
    except (PydanticError, ArpolicyError) as exc:
        errors, summary = field_errors(exc)
        return _list(request, me, status=422, errors=errors, error=summary, values=values)
    return _list(request, me, flash=_send_invitation(me, created["id"]))


def _change(
    request: Request, me: Caller, user_id: int, patch: dict[str, Any], done: str
) -> Response:
    try:
        user = update_user(user_id, UserUpdate.model_validate(patch), api=me)
    except PydanticError as exc:
        _, summary = field_errors(exc)
        return _list(request, me, status=422, error=summary)
    except ArpolicyError as exc:
        if exc.status == 404:
            raise
        return _list(request, me, status=exc.status, error=field_errors(exc)[1])
    return _list(request, me, flash=done.format(email=user.email))


@router.post("/settings/users/{user_id}/role", response_class=HTMLResponse)
async def change_role(
    request: Request, user_id: UserId, me: Caller = Depends(signed_in("users:manage"))
) -> Response:
    role = form_values(await request.form(), "role")["role"]
    done = f"{{email}} is now {role.replace('_', ' ')}."
    return await run_in_threadpool(_change, request, me, user_id, {"role": role}, done)


@router.post("/settings/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(
    request: Request, user_id: UserId, me: Caller = Depends(signed_in("users:manage"))
) -> Response:
    done = "{email} is deactivated and signed out everywhere."
    return _change(request, me, user_id, {"active": False}, done)


@router.post("/settings/users/{user_id}/activate", response_class=HTMLResponse)
def activate(
    request: Request, user_id: UserId, me: Caller = Depends(signed_in("users:manage"))
) -> Response:
    return _change(request, me, user_id, {"active": True}, "{email} is active again.")


@router.post("/settings/users/{user_id}/invite", response_class=HTMLResponse)
def invite_again(
    request: Request, user_id: UserId, me: Caller = Depends(signed_in("users:manage"))
) -> Response:
    try:
        flash = _send_invitation(me, user_id)
    except ArpolicyError as exc:
        if exc.status == 404:
            raise
        return _list(request, me, status=exc.status, error=field_errors(exc)[1])
    return _list(request, me, flash=flash)
