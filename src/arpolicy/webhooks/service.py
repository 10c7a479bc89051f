"""Endpoints and deliveries of one tenant: the rules for changing them and their queries.

Services never commit; the caller's transaction does. Another tenant's endpoint or
delivery is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.tenancy.lookups import get_or_404
from arpolicy.webhooks.destinations import ALLOW_SETTING, DestinationBlocked, Destinations
from arpolicy.webhooks.events import EVENTS
from arpolicy.webhooks.signing import new_secret

WILDCARD = "*"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Hosts an endpoint may reach over plain http (development, and only where the operator
allows loopback addresses); anything else needs https."""
DEACTIVATED = "endpoint deactivated; delivery stopped"


def check_url(url: str, destinations: Destinations, where: str = "body.url") -> str:
    """``url`` if it is an absolute https URL (or http to localhost / 127.0.0.1 / [::1])
    whose host ``destinations`` allows (see :mod:`arpolicy.webhooks.destinations`)."""
    fix = "use https://your-host/path (plain http only for localhost or 127.0.0.1)"
    if " " in url or not _printable(url):
        raise ValidationError(
            "the URL holds spaces, control characters or invalid Unicode",
            where=where,
            fix="percent-encode them",
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError(f"{url!r} is not a URL", where=where, fix=fix) from None
    if parts.scheme not in {"https", "http"} or not host:
        raise ValidationError(f"{url!r} is not an absolute http(s) URL", where=where, fix=fix)
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValidationError(
            "webhooks are sent over https only (plain http only to localhost)",
            where=where,
            fix=fix,
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "the URL must not hold credentials",
            where=where,
            fix="verify the webhook-signature header instead of relying on credentials in the URL",
        )
    if parts.fragment:
        raise ValidationError("the URL must not have a #fragment", where=where, fix=fix)
    try:
        destinations.check_url(url)
    except (DestinationBlocked, ValueError) as exc:
        raise ValidationError(
            f"the URL is refused: {exc}"
            if isinstance(exc, DestinationBlocked)
            else f"{url!r} is not a URL: {exc}",
            where=where,
            fix="use the receiver's public https URL; for a receiver inside your own network "
            f"the operator sets {ALLOW_SETTING} (e.g. 10.20.0.0/16)",
        ) from None
    return url


def check_text(text: str | None, where: str) -> str | None:
    """Free text without control characters (PostgreSQL refuses NUL)."""
    if text is not None and not _printable(text, allow="\t\n"):
        raise ValidationError(
            "the text holds control characters or invalid Unicode", where=where, fix="remove them"
        )
    return text


def _printable(text: str, allow: str = "") -> bool:
    if any((ord(c) < 0x20 and c not in allow) or ord(c) == 0x7F for c in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def check_events(events: Iterable[str], where: str = "body.events") -> list[str]:
    """Known event types or ``*``, without repeats, in the given order."""
    out: list[str] = []
    for i, name in enumerate(events):
        if name != WILDCARD and name not in EVENTS:
            raise ValidationError(
                f"unknown event type {name!r}",
                where=f"{where}.{i}",
                fix="use '*' or types from GET /v1/webhooks/event-types",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise ValidationError(
            "an endpoint needs at least one event type",
            where=where,
            fix="give event types, or ['*'] for every event",
        )
    return out


def create_endpoint(
    session: Session,
    tenant_id: int,
    url: str,
    events: Iterable[str],
    *,
    description: str | None = None,
    active: bool = True,
    destinations: Destinations,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (the caller shows the secret once). The URL
    must be one ``destinations`` allows (the operator's rule)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=check_url(url, destinations),
        events=check_events(events),
        description=check_text(description, "body.description"),
        secret=secret,
        active=active,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def get_endpoint(session: Session, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    return get_or_404(
        session,
        WebhookEndpoint,
        tenant_id,
        endpoint_id,
        what="webhook endpoint",
        where="path.endpoint_id",
        fix="list endpoints with GET /v1/webhooks/endpoints",
    )


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    patch: dict[str, Any],
    now: datetime,
    *,
    destinations: Destinations,
) -> None:
    """Apply ``patch`` (url, events, description, active). Deactivating stops delivery:
    the endpoint's pending messages fail at once. A new URL must be one ``destinations``
    allows."""
    for name in ("url", "events", "active"):
        if name in patch and patch[name] is None:
            raise ValidationError(
                f"{name} cannot be null", where=f"body.{name}", fix="give a value"
            )
    if "url" in patch:
        endpoint.url = check_url(patch["url"], destinations)
    if "events" in patch:
        endpoint.events = check_events(patch["events"])
    if "description" in patch:
        endpoint.description = check_text(patch["description"], "body.description")
    if "active" in patch:
        was = endpoint.active
        endpoint.active = bool(patch["active"])
        if was and not endpoint.active:
            stop_pending(session, endpoint, now)
    session.flush()


def rotate_secret(session: Session, endpoint: WebhookEndpoint) -> str:
    """Replace the secret at once; messages still pending are signed with the new one."""
    endpoint.secret = new_secret()
    session.flush()
    return endpoint.secret


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint; its deliveries and their attempts go with it (cascade)."""
    session.delete(endpoint)
    session.flush()


def require_active(endpoint: WebhookEndpoint, where: str) -> None:
    if not endpoint.active:
        raise ConflictError(
            f"webhook endpoint {endpoint.id} is deactivated",
            where=where,
            fix=f'activate it first: PATCH /v1/webhooks/endpoints/{endpoint.id} {{"active": true}}',
        )


def stop_pending(session: Session, endpoint: WebhookEndpoint, now: datetime) -> int:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.tenant_id == endpoint.tenant_id,
            OutboxMessage.endpoint_id == endpoint.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.FAILED, last_error=DEACTIVATED, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def deliveries(
    tenant_id: int,
    *,
    endpoint_id: int | None = None,
    status: OutboxStatus | None = None,
    event_type: str | None = None,
    in_doubt: bool | None = None,
) -> Select[OutboxMessage]:
    """The tenant's webhook messages, filtered."""
    stmt = select(OutboxMessage).where(
        OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "webhook"
    )
    if endpoint_id is not None:
        stmt = stmt.where(OutboxMessage.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    if event_type is not None:
        stmt = stmt.where(OutboxMessage.event_type == event_type)
    if in_doubt is not None:
        stmt = stmt.where(OutboxMessage.in_doubt.is_(in_doubt))
    return stmt


def get_delivery(session: Session, tenant_id: int, delivery_id: int) -> OutboxMessage:
    message = session.scalar(deliveries(tenant_id).where(OutboxMessage.id == delivery_id))
    if message is None:
        raise NotFoundError(
            f"no webhook delivery {delivery_id}",
            where="path.delivery_id",
            fix="list deliveries with GET /v1/webhooks/deliveries",
        )
    return message


def attempts_of(session: Session, message: OutboxMessage) -> list[DeliveryAttempt]:
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(
                DeliveryAttempt.tenant_id == message.tenant_id,
                DeliveryAttempt.message_id == message.id,
            )
            .order_by(DeliveryAttempt.at, DeliveryAttempt.id)
        )
    )


def requeue(session: Session, message: OutboxMessage, now: datetime) -> None:
    """Send ``message`` again as soon as a worker is free, whatever its status. The retry
    schedule continues from the attempts it has had: a failed message gets one more try."""
    endpoint = get_endpoint(session, message.tenant_id, message.endpoint_id or 0)
    require_active(endpoint, "path.delivery_id")
    message.status = OutboxStatus.PENDING
    message.next_attempt_at = now
    session.flush()
