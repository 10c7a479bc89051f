"""The ledger's scheduled work, registered with the worker (``arpolicy.worker.registry``):
keep every tenant's figure snapshot (ledger/snapshot.py, ADR 0008) fresh. A tenant whose
snapshot is of another day than its own today, or older than ``figures_max_age_minutes``,
gets a new one; a tenant without any (nobody opened its dashboard yet) is left to its
first view. Each tenant computes in a read transaction and stores in a short write one, so
the database's writer is never held for the seconds a large tenant's figures take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import Engine

from arpolicy.kit.clock import Clock, local_today
from arpolicy.kit.db import transaction
from arpolicy.ledger.snapshot import compute, latest, store
from arpolicy.models import Tenant
from arpolicy.tenancy.rls import scope_tenant, tenant_directory
from arpolicy.worker import registry

log = structlog.get_logger("arpolicy.ledger")
SNAPSHOTS = "ledger.figure_snapshots"
"""The task's name."""


@dataclass
class Refreshed:
    tenants: int = 0
    refreshed: int = 0
    failed: list[str] = field(default_factory=list)


@registry.task(SNAPSHOTS, every=timedelta(minutes=1))
def refresh_snapshots(ctx: registry.TaskContext) -> dict[str, int]:
    """The worker's entry point: :func:`refresh_stale`, as counts for its log."""
    max_age = timedelta(minutes=ctx.settings.figures_max_age_minutes)
    result = refresh_stale(ctx.engine, ctx.clock, max_age)
    return {"tenants": result.tenants, "refreshed": result.refreshed, "failed": len(result.failed)}


def refresh_stale(engine: Engine, clock: Clock, max_age: timedelta) -> Refreshed:
    """A new snapshot for each tenant whose latest one is stale; a tenant that fails is
    logged and the others go on."""
    out = Refreshed()
    with transaction(engine, write=False) as session:
        tenants = tenant_directory(session)
    for tenant_id, slug in tenants:
        out.tenants += 1
        try:
            with transaction(engine, write=False) as session:
                scope_tenant(session, tenant_id)
                tenant = session.get(Tenant, tenant_id)
                assert tenant is not None
                today, now = local_today(clock, tenant.timezone), clock.now()
                old = latest(session, tenant_id, today)
                if old is None or old.is_fresh(today, now, max_age):
                    continue
                snap = compute(session, tenant, today, now)
            with transaction(engine) as session:
                scope_tenant(session, tenant_id)
                store(session, tenant_id, snap)
            out.refreshed += 1
            log.info("figures.snapshot_refreshed", tenant=slug, as_of=today.isoformat())
        except Exception:
            log.exception("figures.snapshot_failed", tenant=slug)
            out.failed.append(slug)
    return out
