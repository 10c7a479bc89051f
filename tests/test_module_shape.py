"""Every policy module has the same rooms, and each room imports only the rooms below it
(docs/develop/modules.md, docs/adr/0004-module-shape.md). Read from the source: no import
of the modules is needed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from arpolicy import modules

SRC = Path(__file__).resolve().parents[1] / "src" / "arpolicy"
ROOMS = ("config", "policy", "repository", "service", "admin", "tasks", "hooks")
REQUIRED = ("config", "policy", "repository", "service", "admin")
BELOW = {
    "config": set(),
    "policy": {"config"},
    "repository": {"config", "policy"},
    "service": {"config", "policy", "repository"},
    "admin": {"config", "policy", "repository", "service"},
    "tasks": {"config", "policy", "repository", "service"},
    "hooks": {"config", "policy", "repository", "service", "admin"},
}
"""The rooms each room may import (its private helpers count as the room)."""
IMPURE = ("sqlalchemy", "arpolicy.kit.db", "arpolicy.models", "arpolicy.audit", "structlog")
SURFACES = ("arpolicy.api", "arpolicy.cli", "arpolicy.web")


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports at run time (not those under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in packages)


def _room(path: Path) -> str | None:
    """A room's module, or a private helper that says which room it is part of."""
    if path.stem in ROOMS:
        return path.stem
    if path.stem.startswith("_") and path.stem != "__init__":
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found = [r for r in ROOMS if doc.startswith(f"Part of the {r} room")]
        assert found, f"{path.name}: a helper's docstring starts 'Part of the <room> room'"
        return found[0]
    return None  # a module of its own (templates, inbound mail...)


@pytest.mark.parametrize("policy", modules.POLICIES)
def test_a_policy_has_the_rooms(policy):
    package = SRC / policy
    assert {r for r in REQUIRED if (package / f"{r}.py").is_file()} == set(REQUIRED)


@pytest.mark.parametrize("policy", modules.POLICIES)
def test_each_room_imports_only_the_rooms_below_it(policy):
    package = SRC / policy
    rooms = {p.stem: _room(p) for p in package.glob("*.py")}
    for path in sorted(package.glob("*.py")):
        room = rooms[path.stem]
        if room is None:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[:2] != ["arpolicy", policy] or len(parts) < 3 or parts[2] not in rooms:
                continue
            other = rooms[parts[2]]
            assert other is None or other == room or other in BELOW[room], (
                f"{policy}/{path.name} ({room}) imports {name} ({other})"
            )


@pytest.mark.parametrize("policy", modules.POLICIES)
def test_the_decision_is_pure(policy):
    """The policy room reads no database, writes no audit, logs nothing."""
    for path in sorted((SRC / policy).glob("*.py")):
        if _room(path) != "policy":
            continue
        impure = {n for n in _imports(path) if _under(n, IMPURE)}
        assert not impure, f"{policy}/{path.name} imports {sorted(impure)}"


def test_policies_import_no_other_policy_and_no_surface():
    for policy in modules.POLICIES:
        others = tuple(f"arpolicy.{p}" for p in modules.POLICIES if p != policy)
        for path in sorted((SRC / policy).glob("*.py")):
            bad = {n for n in _imports(path) if _under(n, others + SURFACES)}
            assert not bad, f"{policy}/{path.name} imports {sorted(bad)}"


def test_the_platform_finds_policies_through_the_registries_never_by_import():
    policies = tuple(f"arpolicy.{p}" for p in modules.POLICIES)
    for part in (
        "kit",
        "rules",
        "ledger",
        "worker",
        "audit",
        "webhooks",
        "auth",
        "models",
        "mail",
        "notifications",
        "approvals",
    ):
        for path in sorted((SRC / part).rglob("*.py")):
            bad = {n for n in _imports(path) if _under(n, policies)}
            assert not bad, f"{part}/{path.relative_to(SRC / part)} imports {sorted(bad)}"
