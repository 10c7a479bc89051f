"""Settings > Webhooks (webhooks:manage): the endpoints (register one, its secret shown
once; switch it off or on; send a test event; delete it) and their deliveries (status,
attempts, last error; retry one). The functions are ``/v1/webhooks``' own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from arpolicy.api.routes.webhooks import (
    EndpointCreate,
    EndpointUpdate,
    create_endpoint,
    delete_endpoint,
    list_deliveries,
    list_endpoints,
    retry_delivery,
    test_endpoint,
    update_endpoint,
)
from arpolicy.exceptions import ArpolicyError
from arpolicy.models import OutboxStatus
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.views.settings import field_errors, form_values, json_body, settings_page
from arpolicy.webhooks.events import EVENTS

router = APIRouter(include_in_schema=False)
PERMISSION = "webhooks:manage"
PAGE = 50
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
STATUSES = [status.value for status in OutboxStatus]


def _list(request: Request, me: Caller, *, status: int = 200, **context: Any) -> HTMLResponse:
    params = request.query_params
    endpoints = list_endpoints(api=me, active=None, cursor=None, limit=PAGE, sort="id")
    known = {e.id for e in endpoints.items}
    chosen = params.get("endpoint") or ""
    endpoint_id = int(chosen) if chosen.isdigit() and int(chosen) in known else None
    state = params.get("status") if params.get("status") in STATUSES else None
    deliveries = list_deliveries(
        api=me,
        endpoint_id=endpoint_id,
        status=OutboxStatus(state) if state else None,
        event_type=None,
        in_doubt=None,
        cursor=params.get("cursor") or None,
        limit=PAGE,
        sort="-id",
    )
    context.setdefault("values", {"events": ["*"]})
    return settings_page(
        request,
        me,
        "webhooks.html",
        status=status,
        fragment="deliveries",
        endpoints=endpoints.items,
        deliveries=deliveries.items,
        next_cursor=deliveries.next_cursor,
        filters={"endpoint": endpoint_id or "", "status": state or ""},
        statuses=STATUSES,
        events=EVENTS,
        **context,
    )


@router.get("/settings/webhooks", response_class=HTMLResponse)
def webhooks(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    return _list(request, me)


@router.post("/settings/webhooks", response_class=HTMLResponse)
async def create(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    form = await request.form()
    values: dict[str, Any] = form_values(form, "url", "description")
    values["events"] = [e for e in form.getlist("events") if isinstance(e, str)]
    return await run_in_threadpool(_create, request, me, values)


def _create(request: Request, me: Caller, values: dict[str, Any]) -> Response:
    body = {**values, "description": values["description"] or None}
    try:
        created = json_body(create_endpoint(EndpointCreate.model_validate(body), api=me))
    except (PydanticError, ArpolicyError) as exc:
        errors, summary = field_errors(exc)
        errors = {name.split(".")[0]: text for name, text in reversed(errors.items())}
        return _list(request, me, status=422, errors=errors, error=summary, values=values)
    return _list(request, me, created=created)


def _act(request: Request, me: Caller, action: Any, done: str) -> Response:
    try:
        action()
    except ArpolicyError as exc:
        if exc.status == 404:
            raise
        return _list(request, me, status=exc.status, error=field_errors(exc)[1])
    return _list(request, me, flash=done)


@router.post("/settings/webhooks/{endpoint_id}/active", response_class=HTMLResponse)
async def switch(
    request: Request, endpoint_id: Id, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    on = form_values(await request.form(), "active")["active"] == "true"
    body = EndpointUpdate(active=on)
    done = f"Endpoint {endpoint_id} is {'on' if on else 'off: pending deliveries failed'}."
    return await run_in_threadpool(
        _act, request, me, lambda: update_endpoint(endpoint_id, body, api=me), done
    )


@router.post("/settings/webhooks/{endpoint_id}/test", response_class=HTMLResponse)
def test(
    request: Request, endpoint_id: Id, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    done = f"A webhook.test event is queued for endpoint {endpoint_id}: see its delivery below."
    return _act(request, me, lambda: test_endpoint(endpoint_id, api=me), done)


@router.post("/settings/webhooks/{endpoint_id}/delete", response_class=HTMLResponse)
def delete(
    request: Request, endpoint_id: Id, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    done = f"Endpoint {endpoint_id} is deleted, with its deliveries."
    return _act(request, me, lambda: delete_endpoint(endpoint_id, api=me), done)


@router.post("/settings/webhooks/deliveries/{delivery_id}/retry", response_class=HTMLResponse)
def retry(
    request: Request, delivery_id: Id, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    done = f"Delivery {delivery_id} is queued again, due now."
    return _act(request, me, lambda: retry_delivery(delivery_id, api=me), done)
