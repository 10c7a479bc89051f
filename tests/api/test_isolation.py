"""Tenant isolation over every route (issue 4, "Done means").

Tenant B is filled by the demo generator (every ledger table has rows) plus a few API calls
(keys, audit events, idempotency records, webhooks); tenant A is another demo tenant with
its own admin key. With A's key:

- every /v1 route with a path parameter, called with B's object, answers 404 -- for every
  method (GET, PATCH with a valid-looking body, POST actions, DELETE) -- and B's rows are
  unchanged afterwards; the same request with B's own key is not a 404, which shows the
  404 came from the tenant boundary and not from a bad request;
- every list route (a GET answering a Page) holds none of B's rows, and a filter naming one
  of B's objects finds nothing;
- every other read and every create that names one of B's objects in its body leaks none
  of B's ids and never succeeds; an uploaded file cannot reference B's records either.

The routes are enumerated from the app: a new route with a path parameter must be added to
OBJECT_ROUTES (or a new list route to LIST_ROUTES), or the coverage test fails.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.api.context import scope_tenant
from arpolicy.api.schemas import Page
from arpolicy.app import create_app
from arpolicy.auth.signin import issue_link, open_session
from arpolicy.config import Settings
from arpolicy.kit.db import transaction
from arpolicy.ledger import demo
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
    EmailDocument,
    EmailMode,
    EmailStatus,
    EngagementCycle,
    EngagementSettings,
    EngagementTask,
    FxRate,
    InboundEmail,
    InboundKind,
    Notification,
    OutboxMessage,
    Payment,
    PaymentAttempt,
    PaymentSource,
    PromiseToPay,
    SalesOrder,
    Subscription,
    Tenant,
    User,
    UserTokenKind,
    WebhookEndpoint,
)
from tests.api.conftest import NOW, Caller, make_caller

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TODAY: date = NOW.date()
DEMO_CUSTOMERS = 12
"""The showcase: every state the demo knows, and rows in every ledger table."""

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


# ---------------------------------------------------------------------------------------------
# The app's routes


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


# ---------------------------------------------------------------------------------------------
# Coverage: a route without an isolation check fails here


def test_every_route_with_a_path_parameter_has_an_isolation_check() -> None:
    ops = operations(bare_app())
    paths = {o.path for o in ops if o.params}
    missing = sorted(paths - set(OBJECT_ROUTES))
    assert not missing, (
        f"routes with a path parameter but no isolation check: {missing}; add each to "
        "OBJECT_ROUTES in tests/api/test_isolation.py with the model of the object it addresses"
    )
    unknown = sorted(
        {p for o in ops for p in o.params if p not in PARAM_MODELS and p not in FIXED_PARAMS}
    )
    assert not unknown, f"path parameters in neither PARAM_MODELS nor FIXED_PARAMS: {unknown}"
    stale = sorted(set(OBJECT_ROUTES) - paths)
    assert not stale, f"OBJECT_ROUTES names routes that no longer exist: {stale}"


def test_every_list_route_has_an_isolation_check() -> None:
    lists = {o.path for o in operations(bare_app()) if o.method == "GET" and not o.params}
    pages = {o.path for o in operations(bare_app()) if is_page(o.route) and not o.params}
    missing = sorted(pages - set(LIST_ROUTES))
    assert not missing, (
        f"list routes without an isolation check: {missing}; add each to LIST_ROUTES in "
        "tests/api/test_isolation.py with the model of its items"
    )
    assert not sorted(set(LIST_ROUTES) - lists), "LIST_ROUTES names routes that do not exist"


# ---------------------------------------------------------------------------------------------
# Two demo tenants


@dataclass
class Tenants:
    a: Caller
    b: Caller
    b_spare_key_id: int
    """A second key of B's, so the owner's revoke in the control run spares B's own key."""
    b_ids: dict[type[Base], list[int]] = field(default_factory=dict)


def seed_demo_tenant(engine: Engine, seed: int) -> Caller:
    """A demo tenant (every ledger table filled) and an admin key of a new admin user."""
    slug = f"iso-{uuid.uuid4().hex[:8]}"
    with transaction(engine) as s:
        tenant = demo.write(s, slug, demo.generate(DEMO_CUSTOMERS, seed, TODAY))
        tenant_id = tenant.id
    return make_caller(engine, tenant_id=tenant_id)


def seed_api_objects(client: TestClient, b: Caller) -> None:
    """Rows the demo does not write, made the way a tenant makes them: through the API."""
    h = b.headers
    r = client.post("/v1/users", headers={**h, "Idempotency-Key": f"iso-{b.slug}"},
                    json={"email": f"seed@{b.slug}.example", "name": "Seed", "role": "sales"})  # fmt: skip
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert client.patch(f"/v1/users/{uid}", headers=h, json={"team": "Iso"}).status_code == 200
    for method, path, body in API_SEEDS:
        if _route_exists(client.app, method, path):  # type: ignore[arg-type]
            r = client.request(method, path, headers=h, json=body)
            assert r.status_code in (200, 201), f"seeding {path}: {r.status_code} {r.text}"


ONLY_B = "ONLY-B-CUSTOMER"
"""An external id only tenant B has (the two demo tenants share theirs)."""

API_SEEDS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "POST",
        "/v1/webhooks/endpoints",
        {"url": "https://hooks.example.com/arpolicy", "events": ["customer.created"]},
    ),
    (
        "PUT",
        "/v1/assignment/policies/finance",
        {
            "policy": {
                "role": "finance",
                "rules": [
                    {
                        "name": "All",
                        "assign": {"strategy": "round_robin", "users": ["role:collector"]},
                    }
                ],
            }
        },
    ),
    ("POST", "/v1/assignment/runs", {"role": "finance", "dry_run": False}),
    (
        "POST",
        "/v1/customers",
        {
            "external_id": ONLY_B,
            "name": "B only",
            "currency": "USD",
            "custom_fields": {"tier": "SMB"},
        },
    ),
]
"""Calls that fill the tables the demo leaves empty (when their routes exist)."""


def _route_exists(app: FastAPI, method: str, path: str) -> bool:
    def matches(template: str) -> bool:
        return re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) is not None

    return any(o.method == method and matches(o.path) for o in operations(app))


def seed_outbox(engine: Engine, tenant_id: int) -> None:
    """An endpoint, a message and a delivery attempt for B when the API made none."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        endpoint = s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id))
        if endpoint is None:
            endpoint = WebhookEndpoint(tenant_id=tenant_id, url="https://hooks.example.com/b",
                                       events=["*"], secret="whsec_" + "A" * 32, active=True)  # fmt: skip
            s.add(endpoint)
            s.flush()
        message = OutboxMessage(tenant_id=tenant_id, kind="webhook", event_type="customer.created",
                                event_id=f"msg_{uuid.uuid4().hex}", dedupe_key=uuid.uuid4().hex,
                                endpoint_id=endpoint.id, payload={"type": "customer.created"},
                                next_attempt_at=NOW)  # fmt: skip
        s.add(message)
        s.flush()
        s.add(DeliveryAttempt(tenant_id=tenant_id, message_id=message.id, at=NOW,
                              status_code=500, error="seeded", duration_ms=12))  # fmt: skip


def seed_engagement(engine: Engine, tenant_id: int) -> None:
    """An email, an inbound message and a task for B (and a cycle and the sending settings
    when the API made none): the demo writes no engagement rows."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        customer_id = s.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id))
        if (
            s.scalar(select(EngagementCycle.id).where(EngagementCycle.tenant_id == tenant_id))
            is None
        ):
            s.add(EngagementCycle(tenant_id=tenant_id, name="Iso", config={}, updated_by="seed"))
        if (
            s.scalar(select(EngagementSettings.id).where(EngagementSettings.tenant_id == tenant_id))
            is None
        ):
            s.add(EngagementSettings(tenant_id=tenant_id, config={}, updated_by="seed"))
        email = Email(tenant_id=tenant_id, customer_id=customer_id, key=f"iso:{uuid.uuid4()}",
                      message_id=f"<{uuid.uuid4().hex}@iso.example>", mode=EmailMode.LIVE, status=EmailStatus.SENT,
                      decided_at=NOW, from_address="ar@b.example", to=["x@b.example"],
                      subject="Seeded", text_body="Seeded", cc=[], documents=[])  # fmt: skip
        s.add(email)
        s.flush()
        document_id = s.scalar(select(Document.id).where(Document.tenant_id == tenant_id))
        if s.scalar(select(EmailDocument.id).where(EmailDocument.tenant_id == tenant_id)) is None:
            s.add(EmailDocument(tenant_id=tenant_id, email_id=email.id, document_id=document_id,
                                mode=EmailMode.LIVE))  # fmt: skip
        s.add(InboundEmail(tenant_id=tenant_id, message_id=f"<{uuid.uuid4().hex}@in.example>",
                           kind=InboundKind.REPLY, received_at=NOW, customer_id=customer_id,
                           email_id=email.id, matched_by="in_reply_to"))  # fmt: skip
        s.add(EngagementTask(tenant_id=tenant_id, customer_id=customer_id,
                             key=f"iso:{uuid.uuid4()}", kind="no_address", detail="Seeded"))  # fmt: skip


def seed_notifications(engine: Engine, tenant_id: int) -> None:
    """A notification to one of B's users (nothing routes to notifications yet: the row
    makes every table covered, and the isolation of the tables holds for it too)."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        user_id = s.scalar(select(User.id).where(User.tenant_id == tenant_id).limit(1))
        s.add(Notification(tenant_id=tenant_id, user_id=user_id, topic="iso.seeded",
                           key=f"iso:{uuid.uuid4()}", message_id=f"<{uuid.uuid4().hex}@iso>",
                           decided_at=NOW, to_address="x@b.example", subject="Seeded",
                           text_body="Seeded", data={}, actor="seed", attempts=0,
                           in_doubt=False))  # fmt: skip
        user = s.get(User, user_id)
        assert user is not None
        open_session(s, user, NOW, Settings())
        issue_link(s, user, UserTokenKind.PASSWORD_RESET, NOW)


def tenant_tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


def ids_of(engine: Engine, tenant_id: int) -> dict[str, list[int]]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        return {
            t.name: list(s.scalars(select(t.c.id).where(t.c.tenant_id == tenant_id)))
            for t in tenant_tables()
        }


def fingerprint(engine: Engine, tenant_id: int) -> dict[str, str]:
    """A digest of every row of the tenant, per table (and of the tenant row itself)."""
    out = {}
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        tables = [(t, t.c.tenant_id == tenant_id) for t in tenant_tables()]
        tables.append((Tenant.__table__, Tenant.__table__.c.id == tenant_id))
        for table, where in tables:
            rows = s.execute(select(table).where(where).order_by(table.c.id)).all()
            out[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


@pytest.fixture
def tenants(api_engine: Engine, client: TestClient) -> Tenants:
    a = seed_demo_tenant(api_engine, seed=11)
    b = seed_demo_tenant(api_engine, seed=22)
    seed_api_objects(client, b)
    spare = client.post("/v1/keys", headers=b.headers, json={"name": "spare"})
    assert spare.status_code == 201, spare.text
    seed_outbox(api_engine, b.tenant_id)
    seed_engagement(api_engine, b.tenant_id)
    seed_notifications(api_engine, b.tenant_id)
    found = Tenants(a=a, b=b, b_spare_key_id=spare.json()["id"])
    by_table = ids_of(api_engine, b.tenant_id)
    empty = sorted(t for t, ids in by_table.items() if not ids)
    assert not empty, f"tenant B has no rows in {empty}: seed them so every table is covered"
    models = [m for m in OBJECT_ROUTES.values() if not isinstance(m, str)]
    for model in {*PARAM_MODELS.values(), *models, *LIST_ROUTES.values()}:
        found.b_ids[model] = by_table[model.__tablename__]
    return found


# ---------------------------------------------------------------------------------------------
# Requests built from the OpenAPI schema


class Bodies:
    """Valid-looking request bodies built from the app's OpenAPI schema: the required
    fields (and on request every ``<x>_id`` field), ids pointing at tenant B's objects."""

    def __init__(self, app: FastAPI, b_ids: dict[type[Base], list[int]]) -> None:
        self.spec = app.openapi()
        self.b_ids = b_ids
        self.refs = False

    def request(self, op: Op, *, refs: bool = False) -> dict[str, Any]:
        """httpx keyword arguments (json= or files=) for ``op``'s body, or {}; with
        ``refs`` every ``<x>_id`` field is filled in too."""
        self.refs = refs
        operation = self.spec["paths"].get(op.path, {}).get(op.method.lower(), {})
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = content["application/json"].get("schema", {})
            return {"json": self.value(schema, "body")}
        if "multipart/form-data" in content:
            return {"files": {"file": ("b.csv", b"external_id,name\nX1,X\n", "text/csv")}}
        return {}

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    def value(self, schema: dict[str, Any], name: str) -> Any:
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if self.resolve(s).get("type") != "null"]
                return self.value(options[0], name) if options else None
        if "allOf" in schema:
            return self.value(schema["allOf"][0], name)
        if schema.get("examples"):
            return schema["examples"][0]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            required = schema.get("required", [])
            wanted = [k for k in props if k in required or (self.refs and k in PARAM_MODELS)]
            return {k: self.value(props[k], k) for k in wanted}
        if kind == "array":
            n = schema.get("minItems", 0)
            return [self.value(schema.get("items", {}), name) for _ in range(n)]
        if kind == "integer":
            model = PARAM_MODELS.get(name)
            if model is not None and self.b_ids.get(model):
                return self.b_ids[model][0]
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return 1
        if kind == "boolean":
            return True
        return self.string(schema, name)

    @staticmethod
    def string(schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "email":
            return f"iso-{uuid.uuid4().hex[:6]}@example.com"
        if fmt == "date":
            return "2026-12-01"
        if fmt == "date-time":
            return "2026-12-01T00:00:00Z"
        if fmt in ("uri", "url"):
            return "https://hooks.example.com/iso"
        pattern = schema.get("pattern", "")
        if "A-Z" in pattern and "{3}" in pattern:
            return "USD"
        if "\\d" in pattern:
            return "10.00"
        if name.endswith("currency"):
            return "USD"
        return "iso-" + "x" * max(0, int(schema.get("minLength", 1)) - 4)


def object_path(op: Op, row_ids: dict[str, Any]) -> str:
    path = op.path
    for p in op.params:
        path = path.replace("{" + p + "}", str(row_ids[p]))
    return path


def b_object(api_engine: Engine, t: Tenants, op: Op) -> dict[str, Any]:
    """Values for ``op``'s path parameters naming one of B's objects: the addressed row,
    its parents read from that row (``contact.customer_id``) or else any row of B's, and
    FIXED_PARAMS for parameters that are not ids."""
    model = OBJECT_ROUTES[op.path]
    assert not isinstance(model, str)
    ids_params = [p for p in op.params if p not in FIXED_PARAMS]
    leaf = [p for p in ids_params if PARAM_MODELS.get(p) is model][-1]
    candidates = t.b_ids[model]
    if model is ApiKey:
        candidates = [t.b_spare_key_id]
    elif model is User:
        candidates = [i for i in candidates if i != t.b.user_id]
    with transaction(api_engine, write=False) as s:
        scope_tenant(s, t.b.tenant_id)
        row = s.get(model, candidates[-1])
        values: dict[str, Any] = {leaf: row.id}
        for p in ids_params:
            if p != leaf:
                parent = getattr(row, p, None)
                values[p] = parent if parent is not None else t.b_ids[PARAM_MODELS[p]][0]
    return {**values, **{p: FIXED_PARAMS[p] for p in op.params if p in FIXED_PARAMS}}


def call(client: TestClient, op: Op, path: str, headers: dict[str, str], **kw: Any) -> Any:
    return client.request(op.method, path, headers=headers, **kw)


def leaked_ids(value: Any, b_ids: dict[type[Base], set[int]], model: type[Base] | None) -> list:
    """(key, id) pairs in a response that name one of B's objects: ``id`` of an item of
    ``model``, any ``<x>_id`` whose model is known, and B's tenant id."""
    found: list[tuple[str, Any]] = []

    def walk(v: Any, item_model: type[Base] | None) -> None:
        if isinstance(v, list):
            for x in v:
                walk(x, item_model)
        elif isinstance(v, dict):
            for k, x in v.items():
                named = PARAM_MODELS.get(k) if k != "id" else item_model
                if named is not None and isinstance(x, int) and x in b_ids.get(named, set()):
                    found.append((k, x))
                walk(x, None)

    walk(value, model)
    return found


# ---------------------------------------------------------------------------------------------
# The isolation tests, on SQLite and PostgreSQL


def test_another_tenants_objects_are_404_on_every_route(client, api_engine, tenants):
    t = tenants
    app: FastAPI = client.app  # type: ignore[assignment]
    bodies = Bodies(app, t.b_ids)
    ops = [o for o in operations(app) if o.params and not isinstance(OBJECT_ROUTES[o.path], str)]
    assert ops, "no routes with path parameters found"
    before = fingerprint(api_engine, t.b.tenant_id)
    problems: list[str] = []
    planned: list[tuple[Op, str, dict[str, Any]]] = []
    for op in ops:
        path = object_path(op, b_object(api_engine, t, op))
        kw = bodies.request(op)
        r = call(client, op, path, t.a.headers, **kw)
        if r.status_code != 404:
            problems.append(f"{op.label} as A on B's {path}: {r.status_code} {r.text[:300]}")
        elif not r.headers["content-type"].startswith("application/problem+json"):
            problems.append(f"{op.label}: 404 is not problem+json")
        planned.append((op, path, kw))
    after = fingerprint(api_engine, t.b.tenant_id)
    changed = sorted(k for k in before if before[k] != after[k])
    if changed:
        problems.append(f"A's calls changed B's rows in {changed}")
    assert not problems, "\n".join(problems)
    # Control: the same requests with B's own key find the objects (so A's 404 was the
    # tenant boundary, not a bad request). DELETEs run last.
    for op, path, kw in planned:
        r = call(client, op, path, t.b.headers, **kw)
        if r.status_code == 404 or r.status_code >= 500:
            problems.append(f"control {op.label} as B on {path}: {r.status_code} {r.text[:300]}")
    assert not problems, "\n".join(problems)


def _pages(client: TestClient, path: str, headers: dict[str, str], params: dict) -> Iterator[Any]:
    cursor = None
    for _ in range(50):
        r = client.get(
            path, headers=headers, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        yield r
        if r.status_code != 200:
            return
        cursor = r.json().get("next_cursor")
        if not cursor:
            return


def test_list_routes_never_include_another_tenants_rows(client, api_engine, tenants):
    t = tenants
    app: FastAPI = client.app  # type: ignore[assignment]
    b_ids = {m: set(ids) for m, ids in t.b_ids.items()}
    a_ids = ids_of(api_engine, t.a.tenant_id)
    problems: list[str] = []
    for op in operations(app):
        if op.method != "GET" or op.params or op.path not in LIST_ROUTES:
            continue
        model = LIST_ROUTES[op.path]
        query = {p.name for p in op.route.dependant.query_params}
        params = {"limit": 500} if "limit" in query else {}
        seen: list[int] = []
        for r in _pages(client, op.path, t.a.headers, params):
            if r.status_code != 200:
                problems.append(f"GET {op.path} as A: {r.status_code} {r.text[:300]}")
                break
            items = r.json()["items"]
            seen += [i["id"] for i in items if "id" in i]
            for item in items:
                if item.get("tenant_id") == t.b.tenant_id or item.get("tenant") == t.b.slug:
                    problems.append(f"GET {op.path}: item of tenant B {item}")
            leaks = leaked_ids(items, b_ids, model)
            if leaks:
                problems.append(f"GET {op.path}: B's ids {leaks[:5]}")
        own = set(a_ids[model.__tablename__])
        if seen and not set(seen) <= own:
            problems.append(f"GET {op.path}: ids not of tenant A {sorted(set(seen) - own)[:5]}")
        # A filter naming one of B's objects finds nothing.
        for name in sorted(query):
            if name in PARAM_MODELS and b_ids.get(PARAM_MODELS[name]):
                bid = sorted(b_ids[PARAM_MODELS[name]])[0]
                r = client.get(op.path, headers=t.a.headers, params={name: bid})
                if r.status_code == 200 and r.json()["items"]:
                    problems.append(
                        f"GET {op.path}?{name}={bid} (B's) found {r.json()['items'][:1]}"
                    )
                elif r.status_code >= 500:
                    problems.append(f"GET {op.path}?{name}={bid}: {r.status_code}")
    assert not problems, "\n".join(problems)


def test_other_reads_and_creates_leak_nothing_of_another_tenant(client, api_engine, tenants):
    """GETs without path parameters that are not lists (reports, the tenant) show none of
    B's ids; a create naming one of B's objects in its body is refused."""
    t = tenants
    app: FastAPI = client.app  # type: ignore[assignment]
    b_ids = {m: set(ids) for m, ids in t.b_ids.items()}
    bodies = Bodies(app, t.b_ids)
    before = fingerprint(api_engine, t.b.tenant_id)
    problems: list[str] = []
    for op in operations(app):
        if op.params:
            continue
        if op.method == "GET" and op.path not in LIST_ROUTES:
            r = client.get(op.path, headers=t.a.headers)
            if r.status_code >= 500:
                problems.append(f"GET {op.path}: {r.status_code}")
            elif r.status_code == 200:
                body = r.json()
                leaks = leaked_ids(body, b_ids, None)
                if leaks or (isinstance(body, dict) and body.get("slug") == t.b.slug):
                    problems.append(f"GET {op.path}: B's ids {leaks[:5]}")
        if op.method == "POST":
            kw = bodies.request(op, refs=True)
            refs = [k for k in kw.get("json", {}) if k in PARAM_MODELS and k != "id"]
            for ref in refs:
                r = call(client, op, op.path, t.a.headers, **kw)
                if r.status_code < 300 or r.status_code >= 500:
                    problems.append(
                        f"POST {op.path} with B's {ref}={kw['json'][ref]}: {r.status_code} {r.text[:200]}"
                    )
                # The body names several of B's objects at once; one request is enough.
                break
    after = fingerprint(api_engine, t.b.tenant_id)
    assert before == after, "A's calls changed B's rows"
    assert not problems, "\n".join(problems)


def test_an_import_cannot_reference_another_tenants_records(client, api_engine, tenants):
    """References in an uploaded file resolve within the caller's tenant: a document naming
    a customer only B has is a row error, and nothing is stored."""
    t = tenants
    assert _route_exists(client.app, "POST", "/v1/imports/invoices"), "the import route is gone"
    before = ids_of(api_engine, t.a.tenant_id)["documents"]
    csv = f"number,customer,currency,amount,document_date,due_date\nISO-1,{ONLY_B},USD,10.00,2026-11-01,2026-12-01\n"
    r = client.post("/v1/imports/invoices", headers=t.a.headers,
                    files={"file": ("invoices.csv", csv.encode(), "text/csv")})  # fmt: skip
    assert r.status_code == 422, r.text
    assert [e["column"] for e in r.json()["errors"]] == ["customer"], r.text
    assert ids_of(api_engine, t.a.tenant_id)["documents"] == before
