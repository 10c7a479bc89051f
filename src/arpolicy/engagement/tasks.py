"""Engagement's scheduled work, registered with the worker (``arpolicy.worker.registry``):
every tenant with a live or test cycle runs, as of its own today. Runs are idempotent (the
history decides, keys are unique), so any number of workers and overlapping schedules
write each email once; on PostgreSQL a tenant's runs also take turns (an advisory lock)
so the second one finds the first one's emails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine

from arpolicy.audit import Actor
from arpolicy.engagement import repository as repo
from arpolicy.engagement.service import RUN_STATUSES, run
from arpolicy.kit.clock import Clock, local_today
from arpolicy.kit.db import transaction
from arpolicy.models import Tenant
from arpolicy.tenancy.rls import scope_tenant, tenant_directory
from arpolicy.worker import registry

log = structlog.get_logger("arpolicy.engagement")
ACTOR = "system:engage"
RUN = "engagement.run"
"""The task's name (``arpolicy worker --engage-every`` sets its interval)."""


@dataclass
class ScheduledRuns:
    tenants: int = 0
    written: int = 0
    failed: list[str] = field(default_factory=list)


@registry.task(RUN, every=timedelta(hours=1))
def run_engagement(ctx: registry.TaskContext) -> dict[str, int]:
    """The worker's entry point: :func:`run_all`, as counts for its log."""
    result = run_all(ctx.engine, ctx.clock)
    return {"tenants": result.tenants, "written": result.written, "failed": len(result.failed)}


def run_all(engine: Engine, clock: Clock) -> ScheduledRuns:
    """One engagement run per tenant that has a live or test cycle, each in its own
    transaction; a tenant whose run fails is logged and the others go on."""
    out = ScheduledRuns()
    with transaction(engine, write=False) as session:
        tenants = tenant_directory(session)
    for tenant_id, slug in tenants:
        try:
            with transaction(engine, write=True) as session:
                scope_tenant(session, tenant_id)
                if not repo.tenant_runs(session, tenant_id, RUN_STATUSES):
                    continue
                tenant = session.get(Tenant, tenant_id)
                assert tenant is not None
                as_of = local_today(clock, tenant.timezone)
                report = run(session, tenant, Actor(tenant_id, ACTOR), now=clock.now(), as_of=as_of)
            out.tenants += 1
            out.written += report.written
            log.info(
                "engage.run",
                tenant=slug,
                as_of=report.as_of.isoformat(),
                written=report.written,
                **_counts(report.counts),
            )
        except Exception:
            log.exception("engage.run_failed", tenant=slug)
            out.failed.append(slug)
    return out


def _counts(counts: Any) -> dict[str, int]:
    return {f"n_{k}": int(v) for k, v in counts.items()}
