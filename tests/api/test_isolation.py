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
OBJECT_ROUTES (or a new list route to LIST_ROUTES) in tests/api/isolation_routes.py, or the
coverage test here fails. This module holds the coverage tests and the routes that address
an object; the routes without a path parameter (lists, other reads, creates, imports) are
test_isolation_collections.py. The two tenants are built by tests/api/isolation_tenants.py,
the requests by tests/api/isolation_requests.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.api.isolation_requests import Bodies, b_object, call, object_path
from tests.api.isolation_routes import (
    FIXED_PARAMS,
    LIST_ROUTES,
    OBJECT_ROUTES,
    PARAM_MODELS,
    Op,
    bare_app,
    is_page,
    operations,
)
from tests.api.isolation_tenants import fingerprint, tenants

__all__ = ["tenants"]  # the fixture of isolation_tenants.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_every_route_with_a_path_parameter_has_an_isolation_check() -> None:
    ops = operations(bare_app())
    paths = {o.path for o in ops if o.params}
    missing = sorted(paths - set(OBJECT_ROUTES))
    assert not missing, (
        f"routes with a path parameter but no isolation check: {missing}; add each to "
        "OBJECT_ROUTES in tests/api/isolation_routes.py with the model of the object it addresses"
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
        "tests/api/isolation_routes.py with the model of its items"
    )
    assert not sorted(set(LIST_ROUTES) - lists), "LIST_ROUTES names routes that do not exist"


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
