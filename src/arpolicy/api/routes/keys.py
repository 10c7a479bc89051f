"""API keys: create (shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select

from arpolicy.api import listing
from arpolicy.api.context import Api, require
from arpolicy.api.listing import sort_by
from arpolicy.api.pagination import DEFAULT_LIMIT
from arpolicy.api.schemas import Input, Output, Page
from arpolicy.api.types import Cursor, Instant, Limit, PathId, QueryId, RefId, Text64, Text100
from arpolicy.audit import snapshot
from arpolicy.auth import keys
from arpolicy.auth.permissions import PERMISSIONS
from arpolicy.exceptions import NotFoundError
from arpolicy.models import ApiKey, User

router = APIRouter(prefix="/keys", tags=["keys"])


Scope = Annotated[Text64, Field(json_schema_extra={"enum": sorted(PERMISSIONS)})]
"""A permission name (the schema lists them; the server also checks the role's)."""


class KeyCreate(Input):
    name: Text100
    user_id: RefId | None = Field(
        default=None, description="Whose key (default: the caller). Needs keys:manage."
    )
    scopes: list[Scope] | None = Field(
        default=None,
        description="Permissions to narrow the key to, within the user's role and within the "
        "calling key's own permissions (default: all of the role, or the calling key's "
        "permissions when they are narrower; see docs/security.md).",
    )
    expires_at: Instant | None = None


class KeyRead(Output):
    id: int
    name: str
    prefix: str
    user_id: int
    scopes: list[str] | None
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str | None = Field(
        description="The key itself. Shown only in this response: store it now. An idempotent "
        "replay of the request carries null here (header Idempotent-Secret-Withheld: key): "
        "the key is never stored, so revoke it and create another if it was lost."
    )


def _may_touch(api: Api, user_id: int) -> None:
    if user_id != api.user_id:
        api.require("keys:manage")
    elif not (api.can("keys:own") or api.can("keys:manage")):
        api.require("keys:own")


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(body: KeyCreate, api: Api = Depends(require("keys:own"))) -> Any:
    """Create a key. The response holds the key once; only its hash is stored."""
    user_id = body.user_id or api.user_id
    _may_touch(api, user_id)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        from arpolicy.exceptions import ValidationError

        raise ValidationError(
            "expires_at needs a time zone", where="body.expires_at", fix="e.g. 2027-01-01T00:00:00Z"
        )

    def work(session: Any) -> Any:
        user = session.scalar(
            select(User).where(User.tenant_id == api.tenant_id, User.id == user_id)
        )
        if user is None:
            raise NotFoundError(f"no user {user_id}", where="body.user_id", fix="GET /v1/users")
        row, key = keys.create_api_key(
            session,
            user,
            body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            granter=api.permissions,
        )
        api.audit(session, "api_key.created", "api_key", row.id, after=snapshot(row))
        return KeyCreated.model_validate({**KeyRead.model_validate(row).model_dump(), "key": key})

    return api.created(work, secrets=("key",))


SORTABLE = {"id": ApiKey.id, "created_at": ApiKey.created_at, "name": ApiKey.name}


@router.get("", response_model=Page[KeyRead])
def list_keys(
    api: Api = Depends(require("keys:own")),
    user_id: QueryId = None,
    revoked: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Keys of the caller, or of any user with keys:manage."""
    stmt = select(ApiKey).where(ApiKey.tenant_id == api.tenant_id)
    if not api.can("keys:manage"):
        stmt = stmt.where(ApiKey.user_id == api.user_id)
    if user_id is not None:
        stmt = stmt.where(ApiKey.user_id == user_id)
    if revoked is not None:
        stmt = stmt.where(
            ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None)
        )
    with api.read() as session:
        rows, nxt = listing.rows(
            session,
            stmt,
            ApiKey,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )
        return Page[KeyRead](items=[KeyRead.model_validate(r) for r in rows], next_cursor=nxt)


@router.post("/{key_id}/revoke", response_model=KeyRead)
def revoke_key(key_id: PathId, api: Api = Depends(require("keys:own"))) -> Any:
    """Revoke a key at once; revoking a revoked key changes nothing."""

    def work(session: Any) -> Any:
        row = keys.get_key(session, api.tenant_id, key_id)
        _may_touch(api, row.user_id)
        before = snapshot(row)
        if keys.revoke(session, row, api.now()):
            api.audit(
                session, "api_key.revoked", "api_key", row.id, before=before, after=snapshot(row)
            )
        session.flush()
        return KeyRead.model_validate(row)

    return api.created(work, status=200)
