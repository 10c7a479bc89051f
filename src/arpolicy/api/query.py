"""Query parameters a route does not take are refused, not ignored.

``/v1/customers?countri=DE`` would otherwise answer every customer as if no filter had been
asked for: a typo would pass as a result. Every ``/v1`` route gets this check (a dependency
of the ``/v1`` router): a parameter the route does not declare (its own, or its
dependencies') is a 400 naming it and the nearest valid one.
"""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant

from arpolicy.exceptions import ArpolicyError


class UnknownParameter(ArpolicyError):
    status = 400
    type = "unknown-parameter"


_KNOWN: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> frozenset[str]:
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for field in current.query_params:
            annotation = field.field_info.annotation
            model_fields = getattr(annotation, "model_fields", None)
            if model_fields:  # a Query() model: its fields are the parameters
                names.update(f.alias or n for n, f in model_fields.items())
            else:
                names.add(field.alias)
        stack.extend(current.dependencies)
    return frozenset(names)


def known_parameters(route: Any) -> frozenset[str] | None:
    """The query parameters ``route`` takes (None for a route without a dependant)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    key = id(route)
    if key not in _KNOWN:
        _KNOWN[key] = _query_names(dependant)
    return _KNOWN[key]


def refuse_unknown_query(request: Request) -> None:
    known = known_parameters(request.scope.get("route"))
    if known is None:
        return
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return
    name = unknown[0]
    near = difflib.get_close_matches(name, sorted(known), n=1)
    if near:
        fix = f"did you mean {near[0]}? This route takes: {', '.join(sorted(known))}"
    elif known:
        fix = f"remove it; this route takes: {', '.join(sorted(known))}"
    else:
        fix = "remove it; this route takes no query parameters"
    more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
    raise UnknownParameter(
        f"unknown query parameter {name!r}{more}: it would be ignored",
        where=f"query.{name}",
        fix=fix,
    )
