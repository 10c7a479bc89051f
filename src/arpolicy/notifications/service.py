"""Notify users of the tenant: :func:`notify` writes, in the caller's transaction, one
:class:`~arpolicy.models.Notification` per recipient with its outbox row (the worker emails
it, exactly once), an audit event and a ``notification.created`` webhook for the
endpoints subscribed to it. Nothing is sent here and nothing is committed.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, record
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.models import Notification, OutboxMessage, OutboxStatus, Tenant, User
from arpolicy.notifications.templates import render
from arpolicy.webhooks.events import emit

log = structlog.get_logger("arpolicy.notifications")

KIND = "notification"
"""The outbox kind the worker delivers as a notification email."""
EVENT = "notification.created"
TOPIC = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
MAX_KEY = 200


@dataclass(frozen=True)
class ManagerOf:
    """The manager of this user (``users.manager_id``), as a recipient."""

    user_id: int


Recipient = int | ManagerOf
"""A user's id, or :class:`ManagerOf` one. Roles such as "the finance owner of customer X"
are resolved to user ids by the caller (ownership knows them)."""


@dataclass
class NotifyResult:
    """What :func:`notify` did."""

    queued: list[Notification] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    """Users already notified under this key: nothing written for them again."""
    skipped: dict[str, str] = field(default_factory=dict)
    """``user 7`` / ``manager of user 7`` -> why nobody was notified (inactive, no manager)."""


def notify(
    session: Session,
    tenant: Tenant,
    recipients: Iterable[Recipient],
    *,
    topic: str,
    key: str,
    subject: str,
    body: str,
    html: str | None = None,
    data: Mapping[str, Any] | None = None,
    at: datetime,
    actor: Actor,
) -> NotifyResult:
    """Notify ``recipients`` (users of ``tenant``) about ``topic``.

    ``subject``, ``body`` and ``html`` are Jinja2 templates (sandboxed) given ``data``,
    ``user`` (name, email, language) and ``tenant`` (name). ``key`` identifies what the
    notification is about (``approval:42:requested``): notifying a user under the same key
    again writes nothing (exactly once). A user of another tenant, or none, is refused
    (NotFoundError) and nothing is written; an inactive user, or a user without a manager
    for :class:`ManagerOf`, is skipped and said so in the result."""
    _check(tenant, topic, key, actor)
    facts = _json_ready(data or {})
    users, result = _resolve(session, tenant, list(recipients))
    for user in users:
        row_key = f"{key}:{user.id}"
        context = {
            "data": facts,
            "tenant": {"name": tenant.name},
            "user": {"name": user.name, "email": user.email, "language": user.language},
        }
        text = render(subject, body, html, context)
        row = Notification(
            tenant_id=tenant.id,
            user_id=user.id,
            topic=topic,
            key=row_key,
            message_id=_message_id(tenant, row_key),
            decided_at=at,
            to_address=user.email,
            subject=text.subject,
            text_body=text.text,
            html_body=text.html,
            data=facts,
            actor=actor.label,
            attempts=0,
            in_doubt=False,
        )
        if not _insert(session, row):
            result.repeated.append(user.id)
            continue
        _effects(session, tenant, row, at, actor)
        result.queued.append(row)
    return result


def _check(tenant: Tenant, topic: str, key: str, actor: Actor) -> None:
    if actor.tenant_id != tenant.id:
        raise ValueError(f"the actor acts for tenant {actor.tenant_id}, not {tenant.id}")
    if not TOPIC.fullmatch(topic) or len(topic) > 64:
        raise ValidationError(
            f"{topic!r} is not a notification topic",
            where="topic",
            fix="name it like approval.requested: lower case words joined by dots (64 at most)",
        )
    if not key or len(key) > MAX_KEY:
        raise ValidationError(
            "the notification key is empty" if not key else f"the key is over {MAX_KEY} characters",
            where="key",
            fix="give what the notification is about, e.g. approval:42:requested",
        )


def _json_ready(data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return dict(json.loads(json.dumps(dict(data), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"the notification data is not JSON: {exc}",
            where="data",
            fix="give strings, numbers, booleans, lists and objects (money as text)",
        ) from None


def _resolve(
    session: Session, tenant: Tenant, recipients: list[Recipient]
) -> tuple[list[User], NotifyResult]:
    """The users to notify, each once, in the order given; unknown ids refused."""
    result = NotifyResult()
    wanted = [r.user_id if isinstance(r, ManagerOf) else r for r in recipients]
    known = _users(session, tenant, wanted)
    managers = _users(
        session, tenant, [m for u in known.values() if (m := u.manager_id) is not None]
    )
    chosen: dict[int, User] = {}
    for r in recipients:
        if isinstance(r, ManagerOf):
            manager_id = known[r.user_id].manager_id
            if manager_id is None:
                result.skipped[f"manager of user {r.user_id}"] = "the user has no manager"
                continue
            user, label = managers[manager_id], f"manager of user {r.user_id}"
        else:
            user, label = known[r], f"user {r}"
        if not user.active:
            result.skipped[label] = f"{user.email} is inactive"
            continue
        chosen.setdefault(user.id, user)
    return list(chosen.values()), result


def _users(session: Session, tenant: Tenant, ids: list[int]) -> dict[int, User]:
    if not ids:
        return {}
    found = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.tenant_id == tenant.id, User.id.in_(set(ids)))
        )
    }
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFoundError(
            f"no user {', '.join(map(str, missing))} in tenant {tenant.slug}",
            where="recipients",
            fix="give the ids of users of this tenant (GET /v1/users)",
        )
    return found


def _insert(session: Session, row: Notification) -> bool:
    """Write ``row``; False when a notification with its key exists (nothing written)."""
    existing = session.scalar(
        select(Notification.id).where(
            Notification.tenant_id == row.tenant_id, Notification.key == row.key
        )
    )
    if existing is not None:
        return False
    try:
        with session.begin_nested():  # a concurrent notify of the same key
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _effects(
    session: Session, tenant: Tenant, row: Notification, at: datetime, actor: Actor
) -> None:
    """The outbox row the worker emails, the audit event and the webhook."""
    session.add(
        OutboxMessage(
            tenant_id=tenant.id,
            kind=KIND,
            event_type="notification.email",
            event_id=f"ntf_{uuid.uuid4().hex}",
            dedupe_key=f"notification:{row.key}",
            endpoint_id=None,
            payload={"notification_id": row.id},
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=at,
        )
    )
    record(
        session,
        actor,
        "notification.queued",
        "notification",
        row.id,
        after={
            "user_id": row.user_id,
            "topic": row.topic,
            "key": row.key,
            "to_address": row.to_address,
            "subject": row.subject,
        },
        at=at,
    )
    emit(
        session,
        tenant.id,
        EVENT,
        {
            "notification_id": row.id,
            "user_id": row.user_id,
            "topic": row.topic,
            "subject": row.subject,
            "data": row.data,
            "created_at": at.isoformat(),
        },
        key=f"{EVENT}:{row.key}",
        at=at,
    )
    log.info(
        "notification.queued",
        tenant_id=tenant.id,
        notification_id=row.id,
        user_id=row.user_id,
        topic=row.topic,
    )


def _message_id(tenant: Tenant, key: str) -> str:
    """The notification's Message-ID, derived from its key (the same on every try)."""
    digest = hashlib.sha256(f"{tenant.id}:notification:{key}".encode()).hexdigest()[:32]
    return f"<n{digest}@{tenant.slug}.arpolicy>"


__all__ = ["EVENT", "KIND", "ManagerOf", "NotifyResult", "Recipient", "notify"]
