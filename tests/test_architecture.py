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


def _module_of(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
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


def _imports(path: Path, src: Path = SRC) -> list[tuple[int, str]]:
    """``(line, imported arpolicy module)`` for each import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_lines(tree)
    me = _module_of(path, src)
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


def _violations(src: Path = SRC) -> list[str]:
    problems: list[str] = []
    for path in sorted(src.rglob("*.py")):
        me = _module_of(path, src)
        mine = _top(me)
        if mine not in LAYERS:
            problems.append(f"{me}: package {mine!r} has no layer; declare it in LAYERS")
            continue
        layer = LAYERS[mine]
        for line, target in _imports(path, src):
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


def test_imports_follow_the_layers() -> None:
    problems = _violations()
    assert not problems, "\n".join(problems)


def test_the_check_finds_each_kind_of_violation(tmp_path: Path) -> None:
    src = tmp_path / "arpolicy"
    files = {
        "kit/money.py": "from arpolicy.models import Customer\n",
        "rules/ast.py": "from arpolicy.ledger import buckets\n",
        "worker/runner.py": "def f():\n    from arpolicy.engagement import tasks\n",
        "engagement/service.py": "from ..ownership import admin\n",
        "ownership/admin.py": "from arpolicy.api import routes\n",
        "ledger/figures.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from arpolicy.api import context\n"
            "from arpolicy import exceptions\n"
        ),
        "shiny/new.py": "x = 1\n",
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    found = "\n".join(_violations(src))
    assert "arpolicy.kit.money:1 (kit) imports arpolicy.models" in found
    assert "arpolicy.rules.ast:1 (rules) imports arpolicy.ledger" in found
    assert "arpolicy.worker.runner:2 (platform) imports arpolicy.engagement (policy)" in found
    assert "engagement.service:1 (policy engagement) imports policy arpolicy.ownership" in found
    assert "arpolicy.ownership.admin:1 (policy) imports arpolicy.api" in found
    assert "package 'shiny' has no layer" in found
    assert "ledger.figures" not in found  # TYPE_CHECKING imports never run
