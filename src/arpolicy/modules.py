"""The composition root: which policy modules this installation runs.

Policies never import each other, and the ledger, the worker and the surfaces never import
a policy to call it. A policy plugs itself in instead: its ``hooks`` module subscribes to
ledger writes (``arpolicy.ledger.hooks``) and its ``tasks`` module registers scheduled entry
points (``arpolicy.worker.registry``). ``load()`` imports those modules once, so every
process (API, CLI, worker, tests) sees the same subscriptions whatever it imported first.
"""

from __future__ import annotations

import importlib
import importlib.util

POLICIES: tuple[str, ...] = ("ownership", "engagement")
"""Policy packages under ``arpolicy``, in the order their hooks and tasks run."""

ROOMS: tuple[str, ...] = ("hooks", "tasks")
"""The modules of a policy that register themselves when imported."""

CORE: tuple[str, ...] = ("arpolicy.ledger.tasks",)
"""Modules outside the policies that register scheduled work: the ledger's figure
snapshots (ADR 0008)."""

_loaded = False


def load() -> None:
    """Import the :data:`CORE` modules and every policy's ``hooks`` and ``tasks`` module
    (idempotent)."""
    global _loaded
    if _loaded:
        return
    for name in CORE:
        importlib.import_module(name)
    for policy in POLICIES:
        for room in ROOMS:
            name = f"arpolicy.{policy}.{room}"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
    _loaded = True
