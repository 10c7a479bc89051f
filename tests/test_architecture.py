"""The architecture as a test (issue 13, item 5; DESIGN.md "Modules").

Every ``import`` in ``src/arpolicy`` (module level or inside a function, ``TYPE_CHECKING``
blocks excepted: they never run) is read with ``ast`` and checked against the layers:

- **kit** knows nothing of the domain: it imports only ``kit``;
- **rules** is pure: no models, no ledger, no policy, platform or surface;
- **models** import only ``kit`` and ``models`` (and the settings-free ``exceptions``);
- **ledger** and the **platform** (auth, audit, webhooks, worker, mail, notifications,
  approvals) import no policy and no surface;
- a **policy** imports no other policy and no surface;
- only the **surfaces** (api, cli, web, app) may import anything. The composition root
  ``modules`` loads the policies by name (``importlib``), so the ledger's hooks and the
  worker's task registry can load them without importing a policy.

A new package declares its layer in ``LAYERS``; an undeclared one fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "arpolicy"

KIT = "kit"
ERRORS = "errors"  # arpolicy.exceptions: the domain-free error types every layer raises
BASE = "base"  # settings, the package root, the composition root (imports nothing statically)
RULES = "rules"
MODELS = "models"
LEDGER = "ledger"
PLATFORM = "platform"
POLICY = "policy"
SURFACE = "surface"

LAYERS: dict[str, str] = {
    "kit": KIT,
    "exceptions": ERRORS,
    "config": BASE,
    "rules": RULES,
    "models": MODELS,
    "migrations": MODELS,
    "ledger": LEDGER,
    "auth": PLATFORM,
    "audit": PLATFORM,
    "webhooks": PLATFORM,
    "worker": PLATFORM,
    "mail": PLATFORM,
    "notifications": PLATFORM,
    "approvals": PLATFORM,
    "tenancy": PLATFORM,
    "idempotency": PLATFORM,
    "ownership": POLICY,
    "engagement": POLICY,
    "credit": POLICY,
    "settlement": POLICY,
    "sales": POLICY,
    "risk": POLICY,
    "api": SURFACE,
    "cli": SURFACE,
    "web": SURFACE,
    "app": SURFACE,
    "modules": BASE,
    "__init__": BASE,
}

ALLOWED: dict[str, set[str]] = {
    KIT: {KIT, ERRORS},
    ERRORS: {ERRORS},
    BASE: {KIT, ERRORS, BASE},
    RULES: {KIT, ERRORS, BASE, RULES},
    MODELS: {KIT, ERRORS, BASE, MODELS},
    LEDGER: {KIT, ERRORS, BASE, RULES, MODELS, LEDGER, PLATFORM},
    PLATFORM: {KIT, ERRORS, BASE, RULES, MODELS, LEDGER, PLATFORM},
    POLICY: {KIT, ERRORS, BASE, RULES, MODELS, LEDGER, PLATFORM, POLICY},
    SURFACE: {KIT, ERRORS, BASE, RULES, MODELS, LEDGER, PLATFORM, POLICY, SURFACE},
}


def _top(module: str) -> str:
    """``arpolicy.ledger.hooks`` -> ``ledger``; ``arpolicy`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _submodule(name: str) -> str:
    """``from arpolicy import x``: the module ``arpolicy.x``, or the package root."""
    is_module = (SRC / name).is_dir() or (SRC / f"{name}.py").exists()
    return f"arpolicy.{name}" if is_module else "arpolicy"


def _module_of(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for sub in ast.walk(child):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, imported arpolicy module)`` for each import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_lines(tree)
    me = _module_of(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("arpolicy")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "arpolicy":
                found += [(node.lineno, _submodule(a.name)) for a in node.names]
            elif target.startswith("arpolicy."):
                found.append((node.lineno, target))
    return found


def _violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        me = _module_of(path)
        mine = _top(me)
        if mine not in LAYERS:
            problems.append(f"{me}: package {mine!r} has no layer; declare it in LAYERS")
            continue
        layer = LAYERS[mine]
        for line, target in _imports(path):
            theirs = _top(target)
            if theirs not in LAYERS:
                problems.append(f"{me}:{line} imports undeclared {target}")
                continue
            other = LAYERS[theirs]
            if other not in ALLOWED[layer]:
                problems.append(f"{me}:{line} ({layer}) imports {target} ({other})")
            elif layer == POLICY and other == POLICY and theirs != mine:
                problems.append(f"{me}:{line} (policy {mine}) imports policy {target}")
    return problems


KNOWN = {
    # moved with the field catalogue, issue 13 item 5
    "arpolicy.rules.catalogue:33 (rules) imports arpolicy.models (models)",
    "arpolicy.rules.fields:14 (rules) imports arpolicy.ledger.buckets (ledger)",
    "arpolicy.rules.fields:15 (rules) imports arpolicy.models (models)",
    "arpolicy.rules.fields:23 (rules) imports arpolicy.models (models)",
}


def test_imports_follow_the_layers() -> None:
    problems = [p for p in _violations() if p not in KNOWN]
    assert not problems, "\n".join(problems)
