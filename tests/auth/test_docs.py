"""docs/security.md's roles-and-permissions tables are generated from the permission data,
and every /v1 route checks one of those permissions."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi.routing import APIRoute

from arpolicy.app import create_app
from arpolicy.auth.docs import BEGIN, END, permission_reference
from arpolicy.auth.permissions import PERMISSIONS, ROLE_PERMISSIONS
from arpolicy.config import Settings
from arpolicy.models import UserRole

DOC = Path(__file__).parents[2] / "docs" / "security.md"


def test_docs_security_lists_the_permissions_as_generated():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"docs/security.md lacks the markers {BEGIN} {END}"
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == permission_reference().strip(), (
        "run: python -m arpolicy.auth.docs docs/security.md"
    )
    for name in PERMISSIONS:
        assert f"| `{name}` |" in generated
    assert set(ROLE_PERMISSIONS) == set(UserRole)


def _permissions(route: APIRoute) -> list[str]:
    """The permissions named by the route's ``require(...)`` dependencies."""
    found = []
    for dep in route.dependant.dependencies:
        if dep.call is not None and dep.call.__qualname__.startswith("require."):
            found.append(inspect.getclosurevars(dep.call).nonlocals["permission"])
    return found


def test_every_v1_route_requires_a_documented_permission():
    from fastapi.routing import iter_route_contexts

    app = create_app(Settings(database_url="sqlite://"))
    routes = [
        r
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and r.path.startswith("/v1/")
    ]
    assert routes
    for route in routes:
        named = _permissions(route)  # type: ignore[arg-type]
        assert len(named) == 1, f"{route.methods} {route.path} requires {named}: want one"
        assert named[0] in PERMISSIONS, f"{route.path} requires unknown {named[0]}"
