"""Webhook endpoints (register, change, rotate the secret, test) and their deliveries.

Everything here needs ``webhooks:manage``. The secret is in the response to the creation
and to a rotation only, and never in the audit log. An endpoint URL must be https; plain
http is accepted only for localhost, 127.0.0.1 and [::1] (development receivers). A URL whose
host is, or resolves to, a loopback, private, link-local, multicast or cloud metadata
address is refused unless the operator allows its network (``ARPOLICY_WEBHOOK_ALLOW_NETWORKS``);
every delivery checks again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field
from pydantic.config import JsonDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import listing
from arpolicy.api.context import Api, require
from arpolicy.api.listing import sort_by
from arpolicy.api.pagination import DEFAULT_LIMIT
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import Cursor, Limit
from arpolicy.audit import snapshot
from arpolicy.audit.service import changed
from arpolicy.models import OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.webhooks import service
from arpolicy.webhooks.destinations import Destinations
from arpolicy.webhooks.events import EVENTS, ping

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
PERMISSION = "webhooks:manage"
URL_HELP = (
    "https URL to POST events to (plain http only for localhost / 127.0.0.1 / [::1]); "
    "private, loopback, link-local and metadata addresses are refused unless the operator "
    "allows them."
)
MAX_ID = 2**31 - 1
EndpointId = Annotated[int, Path(ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]
EVENTS_HELP = "Event types to receive (GET /v1/webhooks/event-types), or ['*'] for all."
EventName = Annotated[str, Field(json_schema_extra={"enum": ["*", *EVENTS]})]
URL_SCHEMA: JsonDict = {"pattern": r"^https?://[^\s/?#]+([/?#]\S*)?$"}
"""What the schema can say of an endpoint URL: absolute http(s), no spaces. The server checks
more (https but for loopback, the destination policy: see URL_HELP), with its own messages."""


class EndpointCreate(Input):
    url: str = Field(
        min_length=1, max_length=2000, json_schema_extra=URL_SCHEMA, description=URL_HELP
    )
    events: list[EventName] = Field(min_length=1, max_length=100, description=EVENTS_HELP)
    description: str | None = Field(default=None, max_length=200)
    active: bool = True


class EndpointUpdate(Input):
    url: Annotated[str | None, NotNull] = Field(
        default=None,
        min_length=1,
        max_length=2000,
        json_schema_extra=URL_SCHEMA,
        description=URL_HELP,
    )
    events: Annotated[list[EventName] | None, NotNull] = Field(
        default=None, min_length=1, max_length=100
    )
    description: str | None = Field(default=None, max_length=200)
    active: Annotated[bool | None, NotNull] = Field(
        default=None, description="false stops delivery: pending deliveries fail at once."
    )


class EndpointRead(Output):
    id: int
    url: str
    description: str | None
    events: list[str]
    active: bool
    created_at: datetime | None
    updated_at: datetime | None


class EndpointWithSecret(EndpointRead):
    secret: str | None = Field(
        description="The Standard Webhooks signing secret (whsec_...). Shown only in this "
        "response: store it now. An idempotent replay carries null here (header "
        "Idempotent-Secret-Withheld: secret): rotate the secret if it was lost."
    )


class EventType(Output):
    type: str
    description: str


class DeliveryRead(Output):
    id: int
    endpoint_id: int | None
    event_type: str
    event_id: str = Field(description="Sent as webhook-id; the same on every retry.")
    status: OutboxStatus
    attempts: int
    in_doubt: bool = Field(
        description="An attempt was handed over but its outcome never recorded (the worker "
        "stopped): the receiver may have this event more than once. Deduplicate by webhook-id."
    )
    next_attempt_at: datetime = Field(description="When pending: the next try.")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime | None


class AttemptRead(Output):
    """An attempt with neither a status code nor an error is being sent right now."""

    id: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryRead):
    payload: dict[str, Any] = Field(description="The JSON body sent (and signed).")
    attempt_log: list[AttemptRead] = Field(description="Every attempt, oldest first.")


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(
        {**EndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get("/event-types", response_model=list[EventType])
def list_event_types(api: Api = Depends(require(PERMISSION))) -> Any:
    """Every event type an endpoint can subscribe to."""
    return [EventType(type=name, description=text) for name, text in EVENTS.items()]


@router.post("/endpoints", status_code=201, response_model=EndpointWithSecret)
def create_endpoint(body: EndpointCreate, api: Api = Depends(require(PERMISSION))) -> Any:
    """Register an endpoint. The response holds its signing secret, once."""

    def work(session: Session) -> Any:
        endpoint, secret = service.create_endpoint(
            session,
            api.tenant_id,
            body.url,
            body.events,
            description=body.description,
            active=body.active,
            destinations=_rule(api),
        )
        api.audit(
            session,
            "webhook_endpoint.created",
            "webhook_endpoint",
            endpoint.id,
            after=snapshot(endpoint),
        )
        return _with_secret(endpoint, secret)

    return api.created(work, secrets=("secret",))


ENDPOINT_SORT = {
    "id": WebhookEndpoint.id,
    "created_at": WebhookEndpoint.created_at,
    "url": WebhookEndpoint.url,
}
DELIVERY_SORT = {
    "id": OutboxMessage.id,
    "created_at": OutboxMessage.created_at,
    "next_attempt_at": OutboxMessage.next_attempt_at,
}


@router.get("/endpoints", response_model=Page[EndpointRead])
def list_endpoints(
    api: Api = Depends(require(PERMISSION)),
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    sort: str | None = sort_by(ENDPOINT_SORT),
) -> Any:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == api.tenant_id)
    if active is not None:
        stmt = stmt.where(WebhookEndpoint.active == active)
    with api.read() as session:
        rows, nxt = listing.rows(
            session,
            stmt,
            WebhookEndpoint,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=ENDPOINT_SORT,
        )
        items = [EndpointRead.model_validate(r) for r in rows]
        return Page[EndpointRead](items=items, next_cursor=nxt)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointRead)
def read_endpoint(endpoint_id: EndpointId, api: Api = Depends(require(PERMISSION))) -> Any:
    with api.read() as session:
        return EndpointRead.model_validate(
            service.get_endpoint(session, api.tenant_id, endpoint_id)
        )


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointRead)
def update_endpoint(
    endpoint_id: EndpointId, body: EndpointUpdate, api: Api = Depends(require(PERMISSION))
) -> Any:
    """Change the URL, events, description or active flag. Deactivating stops delivery
    (pending deliveries fail); reactivate and retry them one by one if needed."""
    patch = body.model_dump(exclude_unset=True)
    with api.write() as session:
        endpoint = service.get_endpoint(session, api.tenant_id, endpoint_id)
        before = snapshot(endpoint)
        service.update_endpoint(session, endpoint, patch, api.now(), destinations=_rule(api))
        old, new = changed(before, snapshot(endpoint))
        if new:
            api.audit(
                session,
                "webhook_endpoint.updated",
                "webhook_endpoint",
                endpoint.id,
                before=old,
                after=new,
            )
        return EndpointRead.model_validate(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=204, response_class=Response)
def delete_endpoint(endpoint_id: EndpointId, api: Api = Depends(require(PERMISSION))) -> Response:
    """Delete the endpoint together with its deliveries and their attempts. To stop
    delivery but keep the history, PATCH it with {"active": false}."""
    with api.write() as session:
        endpoint = service.get_endpoint(session, api.tenant_id, endpoint_id)
        before = snapshot(endpoint)
        service.delete_endpoint(session, endpoint)
        api.audit(
            session, "webhook_endpoint.deleted", "webhook_endpoint", endpoint_id, before=before
        )
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret)
def rotate_secret(endpoint_id: EndpointId, api: Api = Depends(require(PERMISSION))) -> Any:
    """Replace the signing secret at once (the old one stops working now: update the
    receiver right after). The response holds the new secret, once."""

    def work(session: Session) -> Any:
        endpoint = service.get_endpoint(session, api.tenant_id, endpoint_id)
        secret = service.rotate_secret(session, endpoint)
        api.audit(session, "webhook_endpoint.secret_rotated", "webhook_endpoint", endpoint.id)
        return _with_secret(endpoint, secret)

    return api.created(work, status=200, secrets=("secret",))


@router.post("/endpoints/{endpoint_id}/test", status_code=202, response_model=DeliveryRead)
def test_endpoint(endpoint_id: EndpointId, api: Api = Depends(require(PERMISSION))) -> Any:
    """Queue a ``webhook.test`` event for this endpoint alone; follow it with
    GET /v1/webhooks/deliveries/{id}."""

    def work(session: Session) -> Any:
        endpoint = service.get_endpoint(session, api.tenant_id, endpoint_id)
        service.require_active(endpoint, "path.endpoint_id")
        message = ping(session, endpoint, at=api.now())
        session.flush()
        api.audit(
            session,
            "webhook_endpoint.tested",
            "webhook_endpoint",
            endpoint.id,
            after={"delivery_id": message.id, "event_id": message.event_id},
        )
        return DeliveryRead.model_validate(message)

    return api.created(work, status=202)


@router.get("/deliveries", response_model=Page[DeliveryRead])
def list_deliveries(
    api: Api = Depends(require(PERMISSION)),
    endpoint_id: int | None = Query(None, ge=1, le=MAX_ID),
    status: OutboxStatus | None = None,
    event_type: str | None = Query(None, max_length=64, pattern=r"^[a-z0-9_.]+$"),
    in_doubt: bool | None = Query(
        None, description="true: only deliveries that may have arrived more than once."
    ),
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    sort: str | None = sort_by(DELIVERY_SORT, default="-id: newest first"),
) -> Any:
    stmt = service.deliveries(
        api.tenant_id,
        endpoint_id=endpoint_id,
        status=status,
        event_type=event_type,
        in_doubt=in_doubt,
    )
    with api.read() as session:
        rows, nxt = listing.rows(
            session,
            stmt,
            OutboxMessage,
            sort=sort,
            cursor=cursor,
            limit=limit,
            default="-id",
            sortable=DELIVERY_SORT,
        )
        items = [DeliveryRead.model_validate(r) for r in rows]
        return Page[DeliveryRead](items=items, next_cursor=nxt)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def read_delivery(delivery_id: DeliveryId, api: Api = Depends(require(PERMISSION))) -> Any:
    """A delivery with its payload and every attempt (status code, error, duration)."""
    with api.read() as session:
        return _detail(session, service.get_delivery(session, api.tenant_id, delivery_id))


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryDetail)
def retry_delivery(delivery_id: DeliveryId, api: Api = Depends(require(PERMISSION))) -> Any:
    """Queue the delivery again, due now (whatever its status). It keeps its webhook-id,
    so a receiver that already has it can tell."""

    def work(session: Session) -> Any:
        message = service.get_delivery(session, api.tenant_id, delivery_id)
        before = snapshot(message, only=("status", "next_attempt_at"))
        service.requeue(session, message, api.now())
        api.audit(
            session,
            "webhook_delivery.retried",
            "webhook_delivery",
            message.id,
            before=before,
            after=snapshot(message, only=("status", "next_attempt_at")),
        )
        return _detail(session, message)

    return api.created(work, status=202)


def _rule(api: Api) -> Destinations:
    """The operator's rule for where webhooks may go (``ARPOLICY_WEBHOOK_ALLOW_NETWORKS``)."""
    return Destinations.from_settings(api.settings)


def _detail(session: Session, message: OutboxMessage) -> DeliveryDetail:
    attempts = [AttemptRead.model_validate(a) for a in service.attempts_of(session, message)]
    return DeliveryDetail.model_validate(
        {
            **DeliveryRead.model_validate(message).model_dump(),
            "payload": message.payload,
            "attempt_log": attempts,
        }
    )
