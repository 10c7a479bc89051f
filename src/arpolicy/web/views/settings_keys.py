"""Settings > API keys: the user's own keys (everyone's with keys:manage), a new key of
one's own (shown once; the same minting rules as ``POST /v1/keys``: its scopes stay within
the role), and revoking a key. The functions are ``/v1/keys``' own."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from arpolicy.api.routes.keys import KeyCreate, create_key, list_keys, revoke_key
from arpolicy.auth import invitations
from arpolicy.auth.permissions import PERMISSIONS
from arpolicy.exceptions import ArpolicyError, ValidationError
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import formats_of
from arpolicy.web.views.settings import field_errors, form_values, json_body, settings_page

router = APIRouter(include_in_schema=False)
PAGE = 50
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _list(request: Request, me: Caller, *, status: int = 200, **context: Any) -> HTMLResponse:
    params = request.query_params
    show = params.get("show") or ""
    show = show if show in ("live", "revoked") else ""
    listed = list_keys(
        api=me,
        user_id=None,
        revoked={"live": False, "revoked": True}.get(show),
        cursor=params.get("cursor") or None,
        limit=PAGE,
        sort="-id",
    )
    emails: dict[int, str] = {}
    if me.can("keys:manage"):
        with me.read() as session:
            emails = invitations.emails_of(session, me.tenant_id, [k.user_id for k in listed.items])
    scopes = [(name, PERMISSIONS[name]) for name in sorted(me.permissions)]
    return settings_page(
        request,
        me,
        "keys.html",
        status=status,
        keys=listed.items,
        next_cursor=listed.next_cursor,
        show=show,
        emails=emails,
        scopes=scopes,
        **context,
    )


@router.get("/settings/keys", response_class=HTMLResponse)
def keys(request: Request, me: Caller = Depends(signed_in("keys:own"))) -> Response:
    return _list(request, me)


def _expiry(me: Caller, text: str) -> datetime | None:
    """The end of the day ``text`` names in the tenant's zone (the key works through it)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date", where="expires_on", fix="pick a day, such as 2027-06-30"
        ) from None
    if day <= me.now().astimezone(formats_of(me).zone).date():
        raise ValidationError(
            "the key would have expired already",
            where="expires_on",
            fix="pick a day after today, or leave it empty for a key that does not expire",
        )
    return datetime.combine(day, time(23, 59, 59), tzinfo=formats_of(me).zone)


@router.post("/settings/keys", response_class=HTMLResponse)
async def create(request: Request, me: Caller = Depends(signed_in("keys:own"))) -> Response:
    form = await request.form()
    values = form_values(form, "name", "expires_on")
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    return await run_in_threadpool(_create, request, me, values, scopes)


def _create(request: Request, me: Caller, values: dict[str, str], scopes: list[str]) -> Response:
    try:
        body = KeyCreate.model_validate(
            {
                "name": values["name"],
                "scopes": scopes or None,
                "expires_at": _expiry(me, values["expires_on"]),
            }
        )
        created = json_body(create_key(body, api=me))
    except (PydanticError, ArpolicyError) as exc:
        errors, summary = field_errors(exc, {"expires_at": "expires_on"})
        context = {"errors": errors, "error": summary, "values": values, "chosen": scopes}
        return _list(request, me, status=422, **context)
    return _list(request, me, created=created)


@router.post("/settings/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request, key_id: KeyId, me: Caller = Depends(signed_in("keys:own"))
) -> Response:
    key = json_body(revoke_key(key_id, api=me))
    return _list(request, me, flash=f"The key {key['name']} ({key['prefix']}…) is revoked.")
