"""The app's /v1 routes for the tenant isolation tests (test_isolation*.py), and what each
addresses: OBJECT_ROUTES (a route with a path parameter -> the model of its object, or why it
addresses none), LIST_ROUTES (a list route -> the model of its items), PARAM_MODELS (what an
``<x>_id`` names). A new route is added here, or test_isolation.py's coverage test fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute

from arpolicy.api.schemas import Page
from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.models import (
    Allocation,
    ApiKey,
    AuditEvent,
    Base,
    Contact,
    Customer,
    CustomFieldDefinition,
    DeliveryAttempt,
    Dispute,
    Document,
    Email,
    EngagementTask,
    FxRate,
    InboundEmail,
    OutboxMessage,
    Payment,
    PaymentAttempt,
    PaymentSource,
    PromiseToPay,
    SalesOrder,
    Subscription,
    User,
    WebhookEndpoint,
)

PARAM_MODELS: dict[str, type[Base]] = {
    "user_id": User,
    "key_id": ApiKey,
    "customer_id": Customer,
    "contact_id": Contact,
    "document_id": Document,
    "invoice_id": Document,
    "payment_id": Payment,
    "allocation_id": Allocation,
    "attempt_id": PaymentAttempt,
    "payment_attempt_id": PaymentAttempt,
    "source_id": PaymentSource,
    "payment_source_id": PaymentSource,
    "subscription_id": Subscription,
    "promise_id": PromiseToPay,
    "dispute_id": Dispute,
    "order_id": SalesOrder,
    "sales_order_id": SalesOrder,
    "rate_id": FxRate,
    "fx_rate_id": FxRate,
    "field_id": CustomFieldDefinition,
    "definition_id": CustomFieldDefinition,
    "custom_field_id": CustomFieldDefinition,
    "endpoint_id": WebhookEndpoint,
    "message_id": OutboxMessage,
    "delivery_id": OutboxMessage,
    "attempt_log_id": DeliveryAttempt,
    "event_id": AuditEvent,
    "parent_id": Customer,
    "manager_id": User,
    "finance_owner_id": User,
    "sales_owner_id": User,
    "owner_id": User,
    "email_id": Email,
    "task_id": EngagementTask,
}
"""What an ``<x>_id`` (in a path, a query or a body) names."""


OBJECT_ROUTES: dict[str, type[Base] | str] = {
    "/v1/allocations/{allocation_id}": Allocation,
    "/v1/assignment/policies/{role}": "not an object: {role} is finance or sales, and the "
    "policy read or saved is the caller's tenant's",
    "/v1/contacts/{contact_id}": Contact,
    "/v1/custom-fields/{field_id}": CustomFieldDefinition,
    "/v1/customers/{customer_id}": Customer,
    "/v1/customers/{customer_id}/emails": Customer,
    "/v1/customers/{customer_id}/figures": Customer,
    "/v1/customers/{customer_id}/manual-emails": Customer,
    "/v1/customers/{customer_id}/owners": Customer,
    "/v1/customers/{customer_id}/owners/{role}": Customer,
    "/v1/disputes/{dispute_id}": Dispute,
    "/v1/documents/{document_id}": Document,
    "/v1/emails/{email_id}": Email,
    "/v1/engagement/cycles/{name}": "addressed by name: the name is looked up among the caller's "
    "tenant's cycles only (another tenant's cycle of that name is 404: tests/api/test_engagement.py)",
    "/v1/engagement/cycles/{name}/status": "addressed by name, as /v1/engagement/cycles/{name}",
    "/v1/fx-rates/{rate_id}": FxRate,
    "/v1/imports/{kind}": "not an object: {kind} names a file format, and the rows it "
    "imports land in the caller's tenant (references resolve there too)",
    "/v1/keys/{key_id}/revoke": ApiKey,
    "/v1/orders/{order_id}": SalesOrder,
    "/v1/payment-attempts/{attempt_id}": PaymentAttempt,
    "/v1/payment-sources/{source_id}": PaymentSource,
    "/v1/payments/{payment_id}": Payment,
    "/v1/promises/{promise_id}": PromiseToPay,
    "/v1/subscriptions/{subscription_id}": Subscription,
    "/v1/tasks/{task_id}/done": EngagementTask,
    "/v1/users/{user_id}": User,
    "/v1/webhooks/deliveries/{delivery_id}": OutboxMessage,
    "/v1/webhooks/deliveries/{delivery_id}/retry": OutboxMessage,
    "/v1/webhooks/endpoints/{endpoint_id}": WebhookEndpoint,
    "/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": WebhookEndpoint,
    "/v1/webhooks/endpoints/{endpoint_id}/test": WebhookEndpoint,
}
"""Every /v1 route with a path parameter -> the model of the object it addresses (the last
path parameter naming that model; other ids are taken from that row,
``contact.customer_id``; parameters that are not ids from FIXED_PARAMS), or why the route
addresses no object."""


FIXED_PARAMS: dict[str, str] = {"role": "finance", "kind": "customers", "name": "Standard"}
"""Path parameters that are not ids, with a value to call the route with."""


LIST_ROUTES: dict[str, type[Base]] = {
    "/v1/allocations": Allocation,
    "/v1/audit": AuditEvent,
    "/v1/contacts": Contact,
    "/v1/custom-fields": CustomFieldDefinition,
    "/v1/customers": Customer,
    "/v1/disputes": Dispute,
    "/v1/documents": Document,
    "/v1/emails": Email,
    "/v1/fx-rates": FxRate,
    "/v1/inbound-emails": InboundEmail,
    "/v1/keys": ApiKey,
    "/v1/orders": SalesOrder,
    "/v1/payment-attempts": PaymentAttempt,
    "/v1/payment-sources": PaymentSource,
    "/v1/payments": Payment,
    "/v1/promises": PromiseToPay,
    "/v1/subscriptions": Subscription,
    "/v1/tasks": EngagementTask,
    "/v1/users": User,
    "/v1/webhooks/deliveries": OutboxMessage,
    "/v1/webhooks/endpoints": WebhookEndpoint,
}
"""Every /v1 list route (GET answering a Page) -> the model of its items."""


SKIP_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    route: APIRoute

    @property
    def params(self) -> list[str]:
        return [p.split("}")[0].split(":")[0] for p in self.path.split("{")[1:]]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute of the app, included routers expanded."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: routes are flat
        return [r for r in app.routes if isinstance(r, APIRoute)]
    out = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            out.append(ctx)
    return out  # RouteContext proxies path, methods, response_model, dependant


def operations(app: FastAPI) -> list[Op]:
    ops = [
        Op(method, route.path, route)
        for route in api_routes(app)
        if route.path.startswith("/v1/")
        for method in sorted(route.methods or ())
        if method not in SKIP_METHODS
    ]
    return sorted(ops, key=lambda o: (o.method == "DELETE", o.path, o.method))


def is_page(route: APIRoute) -> bool:
    model = getattr(route, "response_model", None)
    return isinstance(model, type) and issubclass(model, Page)


def bare_app() -> FastAPI:
    return create_app(Settings(database_url="sqlite://"))


def route_exists(app: FastAPI, method: str, path: str) -> bool:
    def matches(template: str) -> bool:
        return re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) is not None

    return any(o.method == method and matches(o.path) for o in operations(app))
