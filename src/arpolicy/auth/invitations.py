"""Invitations to the web app, for Settings > Users: a one-time link to choose a first
password (``signin.issue_link``), audited as ``user.invited``; and what the users list
shows beside each user (whether the invitation is still waiting)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, record
from arpolicy.auth.signin import issue_link
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.models import User, UserTokenKind


def invite(
    session: Session, tenant_id: int, user_id: int, actor: Actor, now: datetime
) -> tuple[User, str]:
    """A new invitation link for the active user ``user_id`` (earlier unused ones stop
    working), audited as ``user.invited``; the caller emails it after commit
    (``account_mail.send_link``)."""
    user = session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))
    if user is None:
        raise NotFoundError(f"no user {user_id}", where="path.user_id", fix="pick a listed user")
    if not user.active:
        raise ValidationError(
            f"{user.email} is deactivated", where="user", fix="reactivate the user first"
        )
    token = issue_link(session, user, UserTokenKind.INVITATION, now)
    record(session, actor, "user.invited", "user", user.id, at=now)
    return user, token


def waiting(session: Session, tenant_id: int, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` have no password yet (their invitation is still to be accepted)."""
    wanted = list(ids)
    if not wanted:
        return set()
    rows = session.scalars(
        select(User.id).where(
            User.tenant_id == tenant_id, User.id.in_(wanted), User.password_hash.is_(None)
        )
    )
    return set(rows)


def emails_of(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, str]:
    """The emails of the users ``ids`` (one query, for a list of keys)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.email).where(User.tenant_id == tenant_id, User.id.in_(wanted))
    )
    return {r[0]: r[1] for r in rows}
