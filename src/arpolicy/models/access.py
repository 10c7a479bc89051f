"""Who may call the service and what they did: API keys, the audit log, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arpolicy.models.base import Base, TenantScoped


class ApiKey(TenantScoped, Base):
    """A secret a program presents as ``Authorization: Bearer <key>``. Only the SHA-256 of the
    key is stored (the key carries 256 bits of entropy, so a slow hash adds nothing); the
    ``prefix`` (its first characters, unique) finds the row. A key acts as its ``user``: it
    has that user's role, narrowed by ``scopes`` when they are given."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("prefix"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the whole key."""
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    """Permissions this key is limited to (None: all of its user's role)."""
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEvent(TenantScoped, Base):
    """One configuration change or policy decision. Append-only: on PostgreSQL a trigger
    refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "entity", "entity_id"),
    )

    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(254))
    """Who: ``user:<email>`` or ``key:<prefix>`` or ``system:<job>``."""
    action: Mapped[str] = mapped_column(String(64))
    """What, as ``<entity>.<verb>``: customer.created, api_key.revoked, owner.assigned..."""
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    """Why: the rule that decided, the explanation, or the user's comment."""
    request_id: Mapped[str | None] = mapped_column(String(64))


class IdempotencyRecord(TenantScoped, Base):
    """The first response to a POST with an ``Idempotency-Key``; a repeat gets it back."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index(None, "created_at"),
    )

    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of method, path and body: a repeat with another body is refused."""
    principal: Mapped[str | None] = mapped_column(String(64))
    """Who sent the first request (``key:<id>``, ``user:<id>``): only they get the replay."""
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)


__all__ = ["ApiKey", "AuditEvent", "IdempotencyRecord"]
