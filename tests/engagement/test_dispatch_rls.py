"""Email dispatch connected as the service role under PostgreSQL row-level security: the
claim learns the tenants from the definer lookup, and every later step (prepare, suppress,
record, last_email_at) works scoped to the email's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import upgrade
from arpolicy.mail import open_transport
from arpolicy.tenancy.rls import grant_service_role
from arpolicy.worker.emails import dispatch_due
from tests.conftest import PG_ADMIN_URL, new_pg_database
from tests.engagement.helpers import Sink, new_customer, queue_email

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Rls:
    app: Engine
    """Connected as the service role, which row-level security binds."""
    truth: Engine
    """Connected as the superuser: what is really stored."""


@pytest.fixture(scope="module")
def rls() -> Iterator[Rls]:
    """A database of this module's own, migrated by the superuser and used by a service
    role that owns nothing (as tests/security does, without sharing its database)."""
    url, drop = new_pg_database()
    role = f"arpolicy_mail_{uuid.uuid4().hex[:8]}"
    truth = make_engine(url)
    upgrade(truth)
    grant_service_role(truth, role)
    app = make_engine(make_url(url).set(username=role).render_as_string(hide_password=False))
    try:
        yield Rls(app, truth)
    finally:
        app.dispose()
        truth.dispose()
        drop()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def test_emails_of_every_tenant_are_sent_as_the_service_role(rls):
    app = rls.app
    a, a_customer = new_customer(app, contacts=[{"email": "gone@example.com", "bounced": True}])
    b, b_customer = new_customer(app)
    sent_a = queue_email(app, a, a_customer, decided_at=NOW)
    blocked = queue_email(app, a, a_customer, decided_at=NOW, to=["GONE@example.com"])
    sent_b = queue_email(app, b, b_customer, decided_at=NOW)
    with Sink() as sink:
        report = dispatch_due(app, open_transport(sink.url()), FixedClock(NOW), 1000)
    mine = {sent_a.message_id, sent_b.message_id}
    assert set(sink.message_ids()) == mine and blocked.message_id not in sink.message_ids()
    assert (report.claimed, report.sent, report.suppressed) == (3, 2, 1)
    with rls.truth.connect() as conn:  # what is really stored
        rows = dict(
            conn.execute(
                text("SELECT id, status FROM emails WHERE id IN (:x, :y, :z)"),
                {"x": sent_a.email_id, "y": blocked.email_id, "z": sent_b.email_id},
            ).all()
        )
        touched = conn.execute(
            text("SELECT count(*) FROM customers WHERE id IN (:a, :b) AND last_email_at = :t"),
            {"a": a_customer, "b": b_customer, "t": NOW},
        ).scalar_one()
    assert rows == {
        sent_a.email_id: "sent",
        blocked.email_id: "suppressed",
        sent_b.email_id: "sent",
    }
    assert touched == 2
