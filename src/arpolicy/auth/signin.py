"""Sign-in to the web app: passwords with lockout, sessions, and the one-time links of
invitations and password resets.

A session cookie and an emailed link carry ``<tenant id>.<row id>.<secret>``. The tenant
id lets the lookup scope the transaction before reading (row-level security on
PostgreSQL); the secret (256 bits) is compared with its stored SHA-256, so a guessed or
altered tenant or row id finds nothing. Nothing here commits: the caller's transaction
holds the session, the counters and the audit events (docs/web.md, "Signing in").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, record
from arpolicy.auth.passwords import check_new_password, hash_password, needs_rehash
from arpolicy.auth.passwords import verify_password as _verify
from arpolicy.config import Settings
from arpolicy.models import Tenant, User, UserToken, UserTokenKind, WebSession
from arpolicy.tenancy.rls import scope_tenant, tenant_of_slug

TOUCH_EVERY = timedelta(minutes=1)
LINK_LIFETIME = {
    UserTokenKind.INVITATION: timedelta(days=7),
    UserTokenKind.PASSWORD_RESET: timedelta(hours=1),
}
WRONG = "the organisation, email or password is not right"


@dataclass(frozen=True)
class SignedIn:
    session: WebSession
    user: User
    tenant: Tenant


@dataclass(frozen=True)
class Attempt:
    """What :func:`sign_in` decided: a new session's cookie value, or why not."""

    cookie: str | None = None
    user: User | None = None
    error: str | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse(token: str) -> tuple[int, int, str] | None:
    parts = token.split(".", 2)
    if len(parts) != 3 or not all(parts) or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def _actor(tenant_id: int, label: str, user_id: int | None = None) -> Actor:
    return Actor(tenant_id=tenant_id, label=label, user_id=user_id)


def find_user(db: Session, tenant_id: int, email: str) -> User | None:
    """The tenant's user with this email (compared without case)."""
    return db.scalar(
        select(User).where(
            User.tenant_id == tenant_id, func.lower(User.email) == email.strip().lower()
        )
    )


def sign_in(
    db: Session,
    *,
    organisation: str,
    email: str,
    password: str,
    now: datetime,
    settings: Settings,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> Attempt:
    """Check the password and open a session. A wrong organisation, email or password
    gets one message (no hint which); ``settings.sign_in_attempts`` wrong passwords in a
    row lock the user for ``settings.lockout_minutes``. Every outcome is audited."""
    tenant_id = tenant_of_slug(db, organisation.strip())
    if tenant_id is None:
        _verify(None, password)
        return Attempt(error=WRONG)
    scope_tenant(db, tenant_id)
    user = find_user(db, tenant_id, email)
    if user is None or not user.active:
        _verify(None, password)
        return Attempt(error=WRONG)
    actor = _actor(tenant_id, f"user:{user.email} (web)", user.id)
    if user.locked_until is not None and user.locked_until > now:
        record(db, actor, "user.sign_in_refused", "user", user.id, reason="locked", at=now)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return Attempt(
            error=f"too many wrong passwords: this account is locked for {minutes} more "
            "minute(s); wait, or reset your password by email"
        )
    if not _verify(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= settings.sign_in_attempts:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_sign_ins = 0
            record(db, actor, "user.locked", "user", user.id, reason="wrong passwords", at=now)
            return Attempt(
                error=f"too many wrong passwords: this account is locked for "
                f"{settings.lockout_minutes} minutes; wait, or reset your password by email"
            )
        record(db, actor, "user.sign_in_failed", "user", user.id, at=now)
        return Attempt(error=WRONG)
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    cookie = open_session(db, user, now, settings, ip_address, user_agent)
    record(db, actor, "user.signed_in", "user", user.id, at=now)
    return Attempt(cookie=cookie, user=user)


def open_session(
    db: Session,
    user: User,
    now: datetime,
    settings: Settings,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new session for ``user``: the cookie value (shown once, never stored)."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        tenant_id=user.tenant_id,
        user_id=user.id,
        secret_hash=_digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
        ip_address=(ip_address or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.add(row)
    db.flush()
    return f"{user.tenant_id}.{row.id}.{secret}"


def load_session(db: Session, cookie: str, now: datetime, settings: Settings) -> SignedIn | None:
    """The live session the cookie names, its user and tenant; None when unknown, altered,
    signed out, expired, idle too long, or its user deactivated. Scopes ``db`` to the
    session's tenant."""
    parsed = _parse(cookie)
    if parsed is None:
        return None
    tenant_id, session_id, secret = parsed
    scope_tenant(db, tenant_id)
    row = db.execute(
        select(WebSession, User, Tenant)
        .join(User, (User.tenant_id == WebSession.tenant_id) & (User.id == WebSession.user_id))
        .join(Tenant, Tenant.id == WebSession.tenant_id)
        .where(WebSession.tenant_id == tenant_id, WebSession.id == session_id)
    ).one_or_none()
    if row is None:
        return None
    found, user, tenant = row
    if not hmac.compare_digest(found.secret_hash, _digest(secret)):
        return None
    idle = timedelta(minutes=settings.session_idle_minutes)
    if (
        found.revoked_at is not None
        or found.expires_at <= now
        or found.last_seen_at + idle <= now
        or not user.active
    ):
        return None
    return SignedIn(found, user, tenant)


def needs_touch(found: WebSession, now: datetime) -> bool:
    return now - found.last_seen_at >= TOUCH_EVERY


def touch(db: Session, found: SignedIn, now: datetime) -> None:
    """Record that the session was used (keeps it from going idle); at most once a minute."""
    db.execute(
        update(WebSession)
        .where(WebSession.tenant_id == found.tenant.id, WebSession.id == found.session.id)
        .values(last_seen_at=now)
    )


def sign_out(db: Session, found: SignedIn, now: datetime) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.tenant_id == found.tenant.id, WebSession.id == found.session.id)
        .values(revoked_at=now)
    )
    actor = _actor(found.tenant.id, f"user:{found.user.email} (web)", found.user.id)
    record(db, actor, "user.signed_out", "user", found.user.id, at=now)


def end_sessions(db: Session, user: User, now: datetime) -> None:
    """Sign the user out everywhere (a new password, deactivation)."""
    db.execute(
        update(WebSession)
        .where(
            WebSession.tenant_id == user.tenant_id,
            WebSession.user_id == user.id,
            WebSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def issue_link(db: Session, user: User, kind: UserTokenKind, now: datetime) -> str:
    """A one-time token for an invitation or a password reset (the path part of the
    link; shown once, never stored). Earlier unused links of the same kind stop working."""
    db.execute(
        update(UserToken)
        .where(
            UserToken.tenant_id == user.tenant_id,
            UserToken.user_id == user.id,
            UserToken.kind == kind,
            UserToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    secret = secrets.token_urlsafe(32)
    row = UserToken(
        tenant_id=user.tenant_id,
        user_id=user.id,
        kind=kind,
        secret_hash=_digest(secret),
        expires_at=now + LINK_LIFETIME[kind],
    )
    db.add(row)
    db.flush()
    return f"{user.tenant_id}.{row.id}.{secret}"


def open_link(db: Session, token: str, now: datetime) -> tuple[UserToken, User] | None:
    """The unused, unexpired link ``token`` names and its (active) user; scopes ``db``."""
    parsed = _parse(token)
    if parsed is None:
        return None
    tenant_id, token_id, secret = parsed
    scope_tenant(db, tenant_id)
    row = db.execute(
        select(UserToken, User)
        .join(User, (User.tenant_id == UserToken.tenant_id) & (User.id == UserToken.user_id))
        .where(UserToken.tenant_id == tenant_id, UserToken.id == token_id)
    ).one_or_none()
    if row is None or not hmac.compare_digest(row[0].secret_hash, _digest(secret)):
        return None
    link, user = row
    if link.used_at is not None or link.expires_at <= now or not user.active:
        return None
    return link, user


def set_password(db: Session, link: UserToken, user: User, password: str, now: datetime) -> None:
    """Set the user's password through ``link`` (used up), unlock the user and end every
    session it had. Raises ValidationError (``where="password"``) for a weak password."""
    check_new_password(password, email=user.email)
    user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    link.used_at = now
    end_sessions(db, user, now)
    actor = _actor(user.tenant_id, f"user:{user.email} (web)", user.id)
    record(db, actor, "user.password_set", "user", user.id, reason=link.kind.value, at=now)
