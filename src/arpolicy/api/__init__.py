"""The REST API under ``/v1``: one module per resource in :mod:`arpolicy.api.routes`, each
exposing ``router``; :func:`build_router` mounts them all."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter, Depends

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
PROBLEM_STATUSES = {
    400: "The request cannot be read at all: a body that is not valid JSON (or UTF-8, or the "
    "declared content type), or a query parameter the route does not take.",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The key's role or scopes lack the permission this route needs.",
    404: "No such object in this tenant (another tenant's objects are 404 too).",
    409: "The change conflicts with stored data (a duplicate or a missing reference).",
    422: "The request is invalid: `where` names the field, `fix` says what to send.",
    429: "Too many requests for this key; retry after `Retry-After` seconds.",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }
    for status, description in PROBLEM_STATUSES.items()
}
PROBLEM_RESPONSES[429]["headers"] = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
}
"""The problem+json errors every /v1 route may answer, documented on each operation (the
Problem schema itself is added to the components by :func:`arpolicy.app.create_app`)."""


def build_router() -> APIRouter:
    from arpolicy.api import routes
    from arpolicy.api.query import refuse_unknown_query

    root = APIRouter(
        prefix="/v1", responses=PROBLEM_RESPONSES, dependencies=[Depends(refuse_unknown_query)]
    )
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        root.include_router(module.router)
    return root
