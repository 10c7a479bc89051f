"""The REST API under ``/v1``: one module per resource in :mod:`arpolicy.api.routes`, each
exposing ``router``; :func:`build_router` mounts them all."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def build_router() -> APIRouter:
    from arpolicy.api import routes

    root = APIRouter(prefix="/v1")
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        root.include_router(module.router)
    return root
