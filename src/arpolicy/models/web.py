"""Sign-in for the web app: the sessions of signed-in users and the one-time tokens of
invitation and password-reset links. A user's password hash and lockout state live on
``users`` (models.tenant.User)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped, enum_column


class WebSession(TenantScoped, Base):
    """A signed-in browser. The cookie carries ``<tenant id>.<session id>.<secret>``; only
    the SHA-256 of the secret is stored (it carries 256 bits, so a slow hash adds nothing).
    A session ends at ``expires_at``, after ``idle`` without a request, at sign-out
    (``revoked_at``) or when its user is deactivated or changes password."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(Integer)
    secret_hash: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back with every form and htmx request (CSRF protection)."""
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class UserTokenKind(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class UserToken(TenantScoped, Base):
    """A one-time link sent by email: an invitation to set a first password, or a password
    reset. The link carries ``<tenant id>.<token id>.<secret>``; the SHA-256 of the secret
    is stored. Used once (``used_at``), void after ``expires_at``."""

    __tablename__ = "user_tokens"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[UserTokenKind] = mapped_column(enum_column(UserTokenKind, "user_token_kind"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
