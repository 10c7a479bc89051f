"""The schema: built only by migrations, scoped by tenant, exact types on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from arpolicy.models import Base, Customer, Document
from tests.fixtures.factories import create_customer, create_document, create_tenant


def test_migrations_produce_exactly_the_models(db_engine):
    with db_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


# The only keys that do not lead with tenant_id, each because its lookup happens before a
# tenant is known or spans every tenant by design.
CROSS_TENANT = {
    "uq_api_keys_prefix": "authentication finds a key by its prefix before knowing the tenant",
    "ix_outbox_status_next_attempt_at": "workers claim due messages of every tenant",
    "ix_idempotency_records_created_at": "the daily purge of expired keys spans every tenant",
}


def test_every_table_is_tenant_keyed(db_engine):
    insp = inspect(db_engine)
    for table in Base.metadata.sorted_tables:
        if table.name == "tenants":
            continue
        assert "tenant_id" in table.c, table.name
        for uq in insp.get_unique_constraints(table.name):
            if uq["name"] in CROSS_TENANT:
                continue
            assert uq["column_names"][0] == "tenant_id", (table.name, uq)
        for ix in insp.get_indexes(table.name):
            if ix["name"] in CROSS_TENANT:
                continue
            assert ix["column_names"][0] == "tenant_id", (table.name, ix)


def test_a_child_cannot_point_at_another_tenants_parent(session):
    a, b = create_tenant(session), create_tenant(session)
    cust_b = create_customer(session, b)
    with pytest.raises(IntegrityError), session.begin_nested():
        create_document(session, a, cust_b)  # tenant a, customer of tenant b


def test_instants_come_back_aware_utc(session):
    t = create_tenant(session)
    berlin = timezone(timedelta(hours=1))
    c = create_customer(session, t, last_email_at=datetime(2026, 3, 1, 10, 0, tzinfo=berlin))
    session.expire_all()
    got = session.scalar(select(Customer.last_email_at).where(Customer.id == c.id))
    assert got == datetime(2026, 3, 1, 9, 0, tzinfo=UTC) and got.tzinfo is not None
    with pytest.raises(Exception, match="naive"), session.begin_nested():
        create_customer(session, t, last_email_at=datetime(2026, 3, 1, 10, 0))


def test_large_amounts_and_rates_stay_exact(session):
    from decimal import Decimal

    t = create_tenant(session, base_currency="USD")
    c = create_customer(session, t)
    d = create_document(session, t, c, "92233720368547.58", document_date=date(2026, 1, 1))
    session.expire_all()
    row = session.execute(
        select(Document.amount_minor, Document.fx_rate).where(Document.id == d.id)
    ).one()
    assert row == (9223372036854758, Decimal("1"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
