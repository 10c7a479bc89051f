"""Tenant isolation at the /v1 routes without a path parameter, on SQLite and PostgreSQL
(issue 4; the routes that address an object and the coverage checks are test_isolation.py).
With A's key: every list holds none of B's rows and a filter naming one of B's objects finds
nothing; every other read leaks none of B's ids; a create naming one of B's objects in its
body never succeeds; an uploaded file cannot reference B's records either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.isolation_requests import Bodies, call, leaked_ids
from tests.api.isolation_routes import LIST_ROUTES, PARAM_MODELS, operations, route_exists
from tests.api.isolation_tenants import ONLY_B, fingerprint, ids_of, tenants

__all__ = ["tenants"]  # the fixture of isolation_tenants.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
    assert route_exists(client.app, "POST", "/v1/imports/invoices"), "the import route is gone"
    before = ids_of(api_engine, t.a.tenant_id)["documents"]
    csv = f"number,customer,currency,amount,document_date,due_date\nISO-1,{ONLY_B},USD,10.00,2026-11-01,2026-12-01\n"
    r = client.post(
        "/v1/imports/invoices",
        headers=t.a.headers,
        files={"file": ("invoices.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code == 422, r.text
    assert [e["column"] for e in r.json()["errors"]] == ["customer"], r.text
    assert ids_of(api_engine, t.a.tenant_id)["documents"] == before
