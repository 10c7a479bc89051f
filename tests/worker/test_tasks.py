"""The worker runs the scheduled tasks the policies register (``worker.registry``), each at
its own interval, without importing a policy; ``--engage-every`` sets the interval of the
engagement runs, 0 leaves them out. No database: the tasks here are stand-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from structlog.testing import capture_logs

from arpolicy.engagement.tasks import RUN, run_engagement
from arpolicy.kit.clock import FixedClock
from arpolicy.worker import WorkerState, registry
from arpolicy.worker.runner import run_due_tasks

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_the_registry_holds_the_engagement_runs_and_their_interval_can_change():
    (task,) = [t for t in registry.scheduled() if t.name == RUN]
    assert task.fn is run_engagement and task.every == timedelta(hours=1)
    (faster,) = [t for t in registry.scheduled({RUN: timedelta(minutes=5)}) if t.name == RUN]
    assert faster.every == timedelta(minutes=5)
    assert RUN not in {t.name for t in registry.scheduled({RUN: None})}


def test_each_task_runs_first_then_at_its_interval_and_a_failure_stops_no_other():
    ran: list[str] = []

    def hourly(ctx: registry.TaskContext) -> dict[str, int]:
        ran.append("hourly")
        return {"done": 1}

    def broken(ctx: registry.TaskContext) -> dict[str, int]:
        ran.append("broken")
        raise RuntimeError("the database is down")

    tasks = [
        registry.Task("test.broken", timedelta(minutes=10), broken),
        registry.Task("test.hourly", timedelta(hours=1), hourly),
    ]
    state, clock = WorkerState(), FixedClock(NOW)
    with capture_logs() as logs:
        run_due_tasks(None, clock, state, tasks)
    assert ran == ["broken", "hourly"]
    assert [(e["event"], e["task"]) for e in logs] == [
        ("task.failed", "test.broken"),
        ("task.done", "test.hourly"),
    ]
    assert logs[1]["done"] == 1
    for minutes, expected in [
        (5, []),
        (10, ["broken"]),
        (30, ["broken"]),
        (60, ["broken", "hourly"]),
    ]:
        ran.clear()
        run_due_tasks(None, FixedClock(NOW + timedelta(minutes=minutes)), state, tasks)
        assert ran == expected, minutes
