"""Requests for the tenant isolation tests (test_isolation*.py): bodies built from the app's
OpenAPI schema with ids pointing at tenant B's objects, the path of one of B's objects for a
route, and the ids of B's objects a response leaks.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.api.context import scope_tenant
from arpolicy.kit.db import transaction
from arpolicy.models import ApiKey, Base, User
from tests.api.isolation_routes import FIXED_PARAMS, OBJECT_ROUTES, PARAM_MODELS, Op
from tests.api.isolation_tenants import Tenants


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
