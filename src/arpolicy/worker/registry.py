"""Scheduled entry points the worker runs, registered by the policies that own them.

A policy's ``tasks`` module registers its periodic work; the worker finds it here after
``arpolicy.modules.load()`` and never imports a policy itself::

    @registry.task("engagement.run", every=timedelta(minutes=15))
    def run_engagement(ctx: registry.TaskContext) -> dict[str, int]: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class TaskContext:
    """What a task gets from the worker: the engine, the settings and the clock. A task
    opens its own transaction(s) and returns counts for the worker's report."""

    engine: Any
    settings: Any
    clock: Any


TaskFn = Callable[[TaskContext], dict[str, int]]


@dataclass(frozen=True)
class Task:
    name: str
    every: timedelta
    fn: TaskFn


_tasks: dict[str, Task] = {}


def task(name: str, *, every: timedelta) -> Callable[[TaskFn], TaskFn]:
    def register(fn: TaskFn) -> TaskFn:
        _tasks[name] = Task(name, every, fn)
        return fn

    return register


def tasks() -> tuple[Task, ...]:
    from arpolicy import modules

    modules.load()
    return tuple(_tasks.values())


def scheduled(every: Mapping[str, timedelta | None] | None = None) -> tuple[Task, ...]:
    """The registered tasks as a worker runs them: each at its own interval, or at the one
    ``every`` gives by name (None there leaves the task out: ``arpolicy worker
    --engage-every 0``)."""
    every = every or {}
    out = []
    for t in tasks():
        if t.name not in every:
            out.append(t)
        elif (interval := every[t.name]) is not None:
            out.append(replace(t, every=interval))
    return tuple(out)
