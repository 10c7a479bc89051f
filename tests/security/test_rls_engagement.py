"""Engagement runs and the dispatcher's scheduled cycles as the service role (PostgreSQL
row-level security): every tenant's cycles run, each over its own rows only."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from arpolicy.cli.demo import install_example
from arpolicy.engagement.tasks import run_all
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.tenancy.rls import scope_tenant
from tests.security.seeding import NOW, seed

pytestmark = pytest.mark.postgres


def test_scheduled_runs_reach_every_tenant_and_stay_in_it(rls_db):
    suffix = uuid.uuid4().hex[:6]
    e = seed(rls_db.app, f"rls-e-{suffix}", 5)
    f = seed(rls_db.app, f"rls-f-{suffix}", 6)
    for t in (e, f):
        with transaction(rls_db.app) as s:
            scope_tenant(s, t.tenant_id)
            install_example(s, t.slug, NOW.date())
    result = run_all(rls_db.app, FixedClock(NOW))
    assert not result.failed, result.failed
    with rls_db.truth.connect() as conn:
        for t in (e, f):
            n, foreign = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE c.tenant_id <> e.tenant_id) "
                    "FROM emails e JOIN customers c ON c.id = e.customer_id WHERE e.tenant_id = :t"
                ),
                {"t": t.tenant_id},
            ).one()
            assert n > 0 and foreign == 0
            outbox = conn.execute(
                text("SELECT count(*) FROM outbox WHERE tenant_id = :t AND kind = 'email'"),
                {"t": t.tenant_id},
            ).scalar()
            assert outbox == n
