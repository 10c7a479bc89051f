"""The worker's cross-tenant steps connected as the service role (PostgreSQL row-level
security): it learns which tenants have due messages from the definer lookup, then claims
(and purges) tenant by tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from arpolicy.audit import Actor
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.mail import open_transport
from arpolicy.models import OutboxMessage, Tenant
from arpolicy.notifications import notify
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.worker.claims import claim_due, purge_idempotency
from arpolicy.worker.notifications import dispatch_notifications
from tests.security.seeding import DUE, NOW, seed

pytestmark = pytest.mark.postgres


def _pending(rls_db, tenant_id: int) -> set[int]:
    with rls_db.truth.connect() as conn:
        query = text(
            "SELECT id FROM outbox WHERE tenant_id = :t AND status = 'pending' "
            "AND kind = 'webhook' AND next_attempt_at <= :now"
        )
        return set(conn.scalars(query, {"t": tenant_id, "now": NOW}))


def test_claim_due_claims_every_tenants_messages_as_the_service_role(rls_db):
    suffix = uuid.uuid4().hex[:6]
    c = seed(rls_db.app, f"rls-c-{suffix}", 3)
    d = seed(rls_db.app, f"rls-d-{suffix}", 4)
    with transaction(rls_db.app) as s:  # an e-mail long due: not the webhook worker's
        scope_tenant(s, c.tenant_id)
        s.add(
            OutboxMessage(
                tenant_id=c.tenant_id,
                kind="email",
                event_type="reminder.sent",
                event_id=f"e_{suffix}",
                dedupe_key=f"e_{suffix}",
                payload={},
                next_attempt_at=DUE - timedelta(days=30),
            )
        )
    wanted = {(t, m) for t in (c.tenant_id, d.tenant_id) for m in _pending(rls_db, t)}
    assert len(wanted) == 2
    with transaction(rls_db.app) as s:
        claims = claim_due(s, NOW, 1000)
    got = {(cl.tenant_id, cl.message_id) for cl in claims}
    assert wanted <= got
    assert _pending(rls_db, c.tenant_id) == _pending(rls_db, d.tenant_id) == set()  # leased
    with transaction(rls_db.app) as s:
        assert claim_due(s, NOW, 1000) == []


def test_claim_due_respects_the_limit_across_tenants(rls_db):
    suffix = uuid.uuid4().hex[:6]
    seed(rls_db.app, f"rls-e-{suffix}", 5)
    seed(rls_db.app, f"rls-f-{suffix}", 6)
    with transaction(rls_db.app) as s:
        assert len(claim_due(s, NOW, 1)) == 1


def test_purge_reaches_every_tenant_as_the_service_role(rls_db):
    suffix = uuid.uuid4().hex[:6]
    old = datetime(2025, 1, 1, tzinfo=UTC)
    g = seed(rls_db.app, f"rls-g-{suffix}", 7, idempotency_at=old)
    h = seed(rls_db.app, f"rls-h-{suffix}", 8, idempotency_at=old)

    def left() -> dict[int, int]:
        with rls_db.truth.connect() as conn:
            return dict(
                conn.execute(
                    text(
                        "SELECT tenant_id, count(*) FROM idempotency_records "
                        "WHERE tenant_id IN (:g, :h, :a) GROUP BY tenant_id"
                    ),
                    {"g": g.tenant_id, "h": h.tenant_id, "a": rls_db.a.tenant_id},
                ).all()
            )

    before = left()  # A's keys: its seeded one, and any other test on this database made
    assert before[g.tenant_id] == before[h.tenant_id] == 1 and before[rls_db.a.tenant_id] >= 1
    with transaction(rls_db.app) as s:
        purged = purge_idempotency(s, datetime(2025, 6, 1, tzinfo=UTC))
    assert purged >= 2
    # G's and H's old keys are gone; A's are younger: all kept
    assert left() == {rls_db.a.tenant_id: before[rls_db.a.tenant_id]}


def test_a_notification_is_written_and_sent_as_the_service_role(rls_db, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    n = seed(rls_db.app, f"rls-n-{suffix}", 9)
    with transaction(rls_db.app) as s:
        scope_tenant(s, n.tenant_id)
        tenant = s.get(Tenant, n.tenant_id)
        queued = notify(
            s,
            tenant,
            [n.user_id],
            topic="credit.hold",
            key=f"hold:{suffix}",
            subject="On hold",
            body="An order is on hold.",
            at=NOW,
            actor=Actor(n.tenant_id, "test:rls"),
        )
        assert len(queued.queued) == 1
    clock = FixedClock(NOW)
    report = dispatch_notifications(rls_db.app, open_transport(f"maildir://{tmp_path}"), clock, 50)
    assert (report.sent, report.failed) == (1, 0)
    with rls_db.truth.connect() as conn:
        status = conn.scalar(
            text("SELECT status FROM notifications WHERE tenant_id = :t"), {"t": n.tenant_id}
        )
    assert status == "sent"
