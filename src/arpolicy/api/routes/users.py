"""Users of the tenant: their role, team and manager (the hierarchy approvals use)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import EmailStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arpolicy.api import listing
from arpolicy.api.context import Api, require
from arpolicy.api.listing import sort_by
from arpolicy.api.pagination import DEFAULT_LIMIT
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import (
    NO_NUL,
    Cursor,
    Language,
    Limit,
    PathId,
    QueryId,
    QueryText,
    RefId,
    Text100,
    Text200,
)
from arpolicy.audit import snapshot
from arpolicy.audit.service import changed
from arpolicy.auth.signin import end_sessions
from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.models import User, UserRole

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(Input):
    email: EmailStr
    name: Text200
    role: UserRole
    team: Text100 | None = None
    language: Language | None = None
    manager_id: RefId | None = None


class UserUpdate(Input):
    name: Annotated[Text200 | None, NotNull] = None
    role: Annotated[UserRole | None, NotNull] = None
    team: Text100 | None = None
    language: Language | None = None
    manager_id: RefId | None = None
    active: Annotated[bool | None, NotNull] = None


class UserRead(Output):
    id: int
    email: str
    name: str
    role: UserRole
    team: str | None
    language: str | None
    manager_id: int | None
    active: bool
    created_at: datetime | None


def get_user(session: Session, tenant_id: int, user_id: int, where: str = "path.user_id") -> User:
    user = session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))
    if user is None:
        raise NotFoundError(f"no user {user_id}", where=where, fix="list users with GET /v1/users")
    return user


def _check_manager(session: Session, user: User | None, tenant_id: int, manager_id: int) -> None:
    manager: User | None = get_user(session, tenant_id, manager_id, where="body.manager_id")
    seen = {user.id} if user is not None else set()
    while manager is not None:
        if manager.id in seen:
            raise ValidationError(
                "this manager would make a cycle in the hierarchy",
                where="body.manager_id",
                fix="choose a manager who does not report (directly or not) to this user",
            )
        seen.add(manager.id)
        manager = get_user(session, tenant_id, manager.manager_id) if manager.manager_id else None


SORTABLE = {"id": User.id, "email": User.email, "name": User.name, "created_at": User.created_at}


@router.get("", response_model=Page[UserRead])
def list_users(
    api: Api = Depends(require("users:read")),
    role: UserRole | None = None,
    active: bool | None = None,
    team: QueryText = None,
    manager_id: QueryId = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="Part of the name or e-mail.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    stmt = select(User).where(User.tenant_id == api.tenant_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if team is not None:
        stmt = stmt.where(User.team == team)
    if manager_id is not None:
        stmt = stmt.where(User.manager_id == manager_id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | User.email.like(like))
    with api.read() as session:
        rows, nxt = listing.rows(
            session,
            stmt,
            User,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )
        return Page[UserRead](items=[UserRead.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/{user_id}", response_model=UserRead)
def read_user(user_id: PathId, api: Api = Depends(require("users:read"))) -> Any:
    with api.read() as session:
        return UserRead.model_validate(get_user(session, api.tenant_id, user_id))


@router.post("", status_code=201, response_model=UserRead)
def create_user(body: UserCreate, api: Api = Depends(require("users:manage"))) -> Any:
    def work(session: Session) -> Any:
        email = str(body.email).lower()
        exists = session.scalar(
            select(User.id).where(User.tenant_id == api.tenant_id, User.email == email)
        )
        if exists is not None:
            raise ConflictError(
                f"a user with e-mail {email} exists (id {exists})",
                where="body.email",
                fix=f"update it with PATCH /v1/users/{exists}",
            )
        if body.manager_id is not None:
            _check_manager(session, None, api.tenant_id, body.manager_id)
        user = User(tenant_id=api.tenant_id, **{**body.model_dump(), "email": email})
        session.add(user)
        session.flush()
        api.audit(session, "user.created", "user", user.id, after=snapshot(user))
        return UserRead.model_validate(user)

    return api.created(work)


@router.patch("/{user_id}", response_model=UserRead)
def update_user(
    user_id: PathId, body: UserUpdate, api: Api = Depends(require("users:manage"))
) -> Any:
    patch = body.model_dump(exclude_unset=True)
    with api.write() as session:
        user = get_user(session, api.tenant_id, user_id)
        if patch.get("manager_id") is not None:
            _check_manager(session, user, api.tenant_id, patch["manager_id"])
        if user.id == api.user_id and (
            patch.get("active") is False
            or (patch.get("role", UserRole.ADMIN) != UserRole.ADMIN and user.role == UserRole.ADMIN)
        ):
            raise ValidationError(
                "you cannot deactivate yourself or drop your own admin role",
                where="body",
                fix="ask another admin to do it",
            )
        before = snapshot(user)
        for name, value in patch.items():
            setattr(user, name, value)
        session.flush()
        if patch.get("active") is False:
            end_sessions(session, user, api.now())
        old, new = changed(before, snapshot(user))
        if new:
            api.audit(session, "user.updated", "user", user.id, before=old, after=new)
        return UserRead.model_validate(user)
