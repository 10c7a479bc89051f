"""The audit log is append-only in the database itself: a trigger refuses UPDATE and DELETE
for everyone, the owner included, on SQLite and PostgreSQL; on PostgreSQL the service role
is not even granted UPDATE, DELETE or TRUNCATE (a second line of defence)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.models import AuditEvent
from tests.fixtures.factories import create_tenant

APPEND_ONLY = "append-only"
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_audit_events_cannot_be_changed_or_deleted(session):
    """As the owner (the superuser on PostgreSQL): only the trigger stands in the way."""
    tenant = create_tenant(session)
    event = audit_record(session, Actor(tenant.id, "test"), "x.done", "x", 1, at=AT)
    session.flush()
    with pytest.raises(DBAPIError, match=APPEND_ONLY), session.begin_nested():
        session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(action="y"))
    with pytest.raises(DBAPIError, match=APPEND_ONLY), session.begin_nested():
        session.execute(delete(AuditEvent).where(AuditEvent.id == event.id))
    session.expire_all()
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.id == event.id)) == "x.done"


@pytest.mark.postgres
def test_the_audit_log_cannot_be_truncated(pg_engine):
    with pg_engine.connect() as conn, conn.begin() as trans:
        with pytest.raises(DBAPIError, match=APPEND_ONLY), conn.begin_nested():
            conn.execute(text("TRUNCATE audit_events"))
        trans.rollback()


@pytest.mark.postgres
def test_the_service_role_is_not_granted_changes_to_the_audit_log(rls_db):
    a = rls_db.a.tenant_id
    with rls_db.app.connect() as conn, conn.begin() as trans:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        assert conn.scalar(text("SELECT count(*) FROM audit_events")) > 0
        for sql in (
            "UPDATE audit_events SET action = 'forged'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), conn.begin_nested():
                conn.execute(text(sql))
        trans.rollback()


@pytest.mark.postgres
def test_a_plain_owner_role_is_stopped_by_the_trigger(rls_db):
    role = rls_db.owner_role or "postgres"
    a = rls_db.a.tenant_id
    with rls_db.owner.connect() as conn, conn.begin() as trans:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        assert conn.scalar(text("SELECT current_user")) == role
        for sql in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match=APPEND_ONLY), conn.begin_nested():
                conn.execute(text(sql))
        trans.rollback()


@pytest.mark.postgres
def test_the_service_role_has_exactly_the_grants_it_needs(rls_db):
    def may(table: str, privilege: str) -> bool:
        with rls_db.truth.connect() as conn:
            return bool(
                conn.scalar(
                    text("SELECT has_table_privilege(:r, :t, :p)"),
                    {"r": rls_db.app_role, "t": table, "p": privilege},
                )
            )

    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    assert [may("audit_events", p) for p in kinds] == [True, True] + [False] * 5
    assert [may("customers", p) for p in kinds] == [True] * 4 + [False] * 3
    assert [may("alembic_version", p) for p in kinds] == [True] + [False] * 6
