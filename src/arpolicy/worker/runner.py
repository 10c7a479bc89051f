"""The background worker: claim due outbox messages, deliver them, keep house.

``run_once`` is one pass (due webhooks, then due emails and notifications through the
mail transport);
``run_forever`` repeats it until told to stop, going straight on while there is a backlog
and waiting ``interval`` seconds when there is none, and runs the scheduled tasks the
policies registered (``arpolicy.worker.registry``) when they are due. Any number of
workers may run against PostgreSQL; on SQLite run one.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy import Engine

from arpolicy.config import Settings
from arpolicy.kit.clock import FIXED_NOTE, Clock, FixedClock
from arpolicy.kit.db import transaction
from arpolicy.mail import Transport, open_transport
from arpolicy.webhooks.delivery import new_client
from arpolicy.worker.claims import LEASE, claim_due, purge_idempotency
from arpolicy.worker.deliveries import deliver
from arpolicy.worker.emails import DispatchReport, dispatch_due
from arpolicy.worker.notifications import DEFAULT_SENDER, dispatch_notifications
from arpolicy.worker.registry import Task, TaskContext

log = structlog.get_logger("arpolicy.worker")

PURGE_EVERY = timedelta(hours=1)
DEFAULT_LIMIT = 20
PER_MESSAGE = timedelta(seconds=15)
"""Time a lease allows per claimed message (one send may take a 10 s timeout and more)."""


@dataclass
class WorkerState:
    """What a long-running worker remembers between passes."""

    last_purge_at: datetime | None = None
    last_run_at: dict[str, datetime] = field(default_factory=dict)
    """When each scheduled task last started, by name."""


@dataclass
class Report:
    """What one pass did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    purged: int | None = None
    """Idempotency records forgotten, or None when this pass did not purge."""
    mail: DispatchReport = field(default_factory=DispatchReport)
    """The emails of this pass (claimed, sent, retried, failed, suppressed, in_doubt...)."""
    notifications: DispatchReport = field(default_factory=DispatchReport)
    """The notifications to the tenant's users of this pass, counted likewise."""
    counts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def busy(self) -> bool:
        """Whether this pass found something to deliver (webhooks, emails, notifications)."""
        return self.claimed > 0 or self.mail.claimed > 0 or self.notifications.claimed > 0

    def full(self, limit: int) -> bool:
        """Whether some kind claimed ``limit`` messages (more may be waiting)."""
        return max(self.claimed, self.mail.claimed, self.notifications.claimed) >= limit


def run_once(
    engine: Engine,
    clock: Clock,
    *,
    limit: int = DEFAULT_LIMIT,
    client: httpx.Client | None = None,
    state: WorkerState | None = None,
    idempotency_ttl_hours: int = 48,
    lease: timedelta | None = None,
    rand: Callable[[], float] = random.random,
    mail: Transport | str | None = None,
    notify_from: str = DEFAULT_SENDER,
) -> Report:
    """One pass: purge expired idempotency keys (at most hourly per ``state``), claim up to
    ``limit`` due webhook messages and deliver them, then, when ``mail`` is given (a
    transport or a mail URL), up to ``limit`` due emails and up to ``limit`` due
    notifications (from ``notify_from``) and send them through it. Give
    the same ``state`` to every pass of one worker; without it every call purges. The
    webhook lease is long enough to send the whole batch one by one: ``max(LEASE, limit x
    15 s)`` unless given (the email lease likewise, see :mod:`arpolicy.worker.emails`)."""
    report = Report()
    state = state if state is not None else WorkerState()
    report.purged = _maybe_purge(engine, clock, state, idempotency_ttl_hours)
    _webhooks(engine, clock, report, limit, client, lease, rand)
    if mail is not None:
        transport = open_transport(mail) if isinstance(mail, str) else mail  # connects lazily
        report.mail = dispatch_due(engine, transport, clock, limit, lease=lease, rand=rand)
        report.notifications = dispatch_notifications(
            engine, transport, clock, limit, sender=notify_from, lease=lease, rand=rand
        )
    if report.busy:
        log.info(
            "worker.pass",
            claimed=report.claimed,
            delivered=report.delivered,
            retrying=report.retrying,
            failed=report.failed,
            skipped=report.skipped,
            emails_claimed=report.mail.claimed,
            emails_sent=report.mail.sent,
            notifications_sent=report.notifications.sent,
        )
    return report


def _webhooks(
    engine: Engine,
    clock: Clock,
    report: Report,
    limit: int,
    client: httpx.Client | None,
    lease: timedelta | None,
    rand: Callable[[], float],
) -> None:
    with transaction(engine, write=True) as session:
        claims = claim_due(
            session, clock.now(), limit, lease=lease or max(LEASE, limit * PER_MESSAGE)
        )
    report.claimed = len(claims)
    if not claims:
        return
    own = client is None
    http = client if client is not None else new_client()
    try:
        counts = deliver(engine, clock, claims, http, rand)
    finally:
        if own:
            http.close()
    report.counts = counts
    report.delivered = counts.get("delivered", 0)
    report.retrying = counts.get("retrying", 0)
    report.failed = counts.get("failed", 0)
    report.skipped = counts.get("skipped", 0)


def _maybe_purge(engine: Engine, clock: Clock, state: WorkerState, ttl_hours: int) -> int | None:
    now = clock.now()
    if state.last_purge_at is not None and now - state.last_purge_at < PURGE_EVERY:
        return None
    before = now - timedelta(hours=max(24, ttl_hours))
    with transaction(engine, write=True) as session:
        purged = purge_idempotency(session, before)
    state.last_purge_at = now
    log.info("idempotency.purged", count=purged, before=before.isoformat())
    return purged


def run_due_tasks(
    engine: Engine,
    clock: Clock,
    state: WorkerState,
    tasks: Sequence[Task],
    settings: Settings | None = None,
) -> None:
    """Each of ``tasks`` whose interval has passed since it last started (every one, the
    first time). A task that fails is logged and tried again at its next interval; the
    others and the deliveries go on."""
    now = clock.now()
    for task in tasks:
        last = state.last_run_at.get(task.name)
        if last is not None and now - last < task.every:
            continue
        state.last_run_at[task.name] = now
        try:
            counts = task.fn(TaskContext(engine, settings, clock))
        except Exception:
            log.exception("task.failed", task=task.name)
            continue
        log.info("task.done", task=task.name, **counts)


def run_forever(
    engine: Engine,
    clock: Clock,
    *,
    interval: float = 5.0,
    limit: int = DEFAULT_LIMIT,
    idempotency_ttl_hours: int = 48,
    stop: threading.Event | None = None,
    on_pass: Callable[[Report], None] | None = None,
    mail_url: str | None = None,
    lease: timedelta | None = None,
    until_idle: bool = False,
    tasks: Sequence[Task] = (),
    settings: Settings | None = None,
) -> None:
    """Pass after pass until ``stop`` is set (or, with ``until_idle``, until a pass finds
    nothing due). A pass that fails (the database is down...) is logged and tried again
    after ``interval``; the worker does not exit on it. Emails go to ``mail_url``
    (default ``settings.mail_url``), one transport (connection) per pass. ``tasks``
    (``registry.scheduled()``: the engagement runs of every tenant...) run first and then
    each at its interval, before the pass (what they queue goes out in the passes)."""
    stop = stop or threading.Event()
    state = WorkerState()
    settings = settings if settings is not None else Settings()
    url = mail_url or settings.mail_url
    transport = open_transport(url)  # a bad URL stops the worker at once
    log.info(
        "worker.started",
        interval=interval,
        limit=limit,
        database=engine.dialect.name,
        mail=transport.url,
    )
    if isinstance(clock, FixedClock):
        log.warning("worker.clock_fixed", now=clock.now().isoformat(), note=FIXED_NOTE)
    with new_client() as client:
        while not stop.is_set():
            try:
                run_due_tasks(engine, clock, state, tasks, settings)
                report = run_once(
                    engine,
                    clock,
                    limit=limit,
                    client=client,
                    state=state,
                    idempotency_ttl_hours=idempotency_ttl_hours,
                    mail=transport,
                    lease=lease,
                    notify_from=settings.notify_from,
                )
            except Exception:
                log.exception("worker.pass_failed")
                stop.wait(interval)
                continue
            if on_pass is not None:
                on_pass(report)
            if until_idle and not report.busy:
                break
            if not report.full(limit):
                stop.wait(interval)
    log.info("worker.stopped")
