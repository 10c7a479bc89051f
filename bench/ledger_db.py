"""A benchmark ledger built straight into the database: 100,000 customers and 1,000,000
invoices by bulk insert through SQLAlchemy Core (no import, no per-row Python objects), plus
the FX rates and an admin user. Deterministic (seeded) and built once per size and schema:
SQLite keeps a template file under bench/.data, PostgreSQL a template database, and every
run starts from a copy of it.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, insert, text

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import alembic_config, upgrade
from arpolicy.ledger.tenants import create_tenant
from arpolicy.models import Customer, Document, FxRate, User, UserRole
from bench import data

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SLUG = "bench"
ADMIN = "admin@bench.example"
RATES = {
    "USD": Decimal(1),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "JPY": Decimal("0.0067"),
}
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
CHUNK = 50_000


def _head() -> str:
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())[:8]


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _customers(tenant_id: int, n: int, currencies: list[str]) -> Iterator[dict[str, Any]]:
    rnd = random.Random(1)
    for i in range(n):
        ccy = currencies[i]
        yield {
            "tenant_id": tenant_id,
            "external_id": f"C{i:07d}",
            "name": f"Customer {i}",
            "country": data.COUNTRIES[ccy],
            "currency": ccy,
            "net_term_days": rnd.choice((15, 30, 45)),
            "auto_collection": False,
            "credit_check_exempt": False,
            "custom_fields": {},
        }


def _base(minor: int, ccy: str) -> int:
    scaled = Decimal(minor).scaleb(2 - EXPONENT[ccy]) * RATES[ccy]
    return int(scaled.to_integral_value())


def _invoices(
    tenant_id: int, n: int, customer_ids: list[int], currencies: list[str]
) -> Iterator[dict[str, Any]]:
    """~40 % open, due dates from 60 days ahead to 400 days ago (as bench/data.py)."""
    rnd = random.Random(2)
    for i in range(n):
        c = rnd.randrange(len(customer_ids))
        ccy = currencies[c]
        minor = rnd.randint(1_000, 5_000_000)
        due = data.TODAY - timedelta(days=rnd.randint(-60, 400))
        balance = minor if rnd.random() < 0.4 else 0
        on = due - timedelta(days=30)
        yield {
            "tenant_id": tenant_id,
            "doc_type": "invoice",
            "number": f"INV{i:08d}",
            "customer_id": customer_ids[c],
            "currency": ccy,
            "amount_minor": minor,
            "balance_minor": balance,
            "reported_balance_minor": balance,
            "credited_minor": 0,
            "base_amount_minor": _base(minor, ccy),
            "base_balance_minor": _base(balance, ccy),
            "fx_rate": RATES[ccy],
            "fx_rate_on": None if ccy == "USD" else on.replace(day=1),
            "document_date": on,
            "due_date": due,
            "disputed": False,
            "voided": False,
            "custom_fields": {},
        }


def populate(engine: Engine, customers: int, invoices: int) -> None:
    """Tenant ``bench`` (USD, UTC), monthly FX rates, an admin and the ledger."""
    upgrade(engine)
    currencies = data.customer_currencies(customers)
    with transaction(engine) as s:
        tenant = create_tenant(s, SLUG, base_currency="USD", timezone="UTC")
        s.add(
            User(tenant_id=tenant.id, email=ADMIN, name="Admin", role=UserRole.ADMIN, active=True)
        )
        first = data.TODAY.replace(year=data.TODAY.year - 2, month=1, day=1)
        rates = []
        for m in range(36):
            on = first.replace(year=first.year + m // 12, month=m % 12 + 1)
            for ccy in ("EUR", "GBP", "JPY"):
                rates.append(
                    {
                        "tenant_id": tenant.id,
                        "from_currency": ccy,
                        "to_currency": "USD",
                        "valid_on": on,
                        "rate": RATES[ccy],
                        "source": "bench",
                    }
                )
        s.execute(insert(FxRate), rates)
        for batch in _chunks(_customers(tenant.id, customers, currencies)):
            s.execute(insert(Customer), batch)
        ids = list(
            s.execute(
                text("SELECT id FROM customers WHERE tenant_id = :t ORDER BY id"), {"t": tenant.id}
            ).scalars()
        )
        for batch in _chunks(_invoices(tenant.id, invoices, ids, currencies)):
            s.execute(insert(Document), batch)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))  # as after an import (it analyzes large loads)
    else:
        with engine.connect() as c:
            c.exec_driver_sql("ANALYZE")


def sqlite_copy(customers: int, invoices: int, name: str) -> str:
    """The URL of a fresh copy of the SQLite template (built first when missing)."""
    data.HERE.mkdir(exist_ok=True)
    template = data.HERE / f"ledger-{customers}-{invoices}-{_head()}.db"
    if not template.exists():
        building = template.with_suffix(".building")
        building.unlink(missing_ok=True)
        print(f"building {template.name} ...", flush=True)
        engine = make_engine(f"sqlite:///{building}")
        populate(engine, customers, invoices)
        with engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        building.rename(template)
    target = data.HERE / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def pg_copy(customers: int, invoices: int, name: str) -> str:
    """The URL of a fresh PostgreSQL database ``name`` made from the template database."""
    template = f"arpolicy_ledger_{customers}_{invoices}_{_head()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    base = PG_ADMIN.rsplit("/", 1)[0]
    with admin.connect() as c:
        exists = c.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}
        ).scalar()
    if not exists:
        print(f"building {template} ...", flush=True)
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{template}_building"'))
        engine = make_engine(f"{base}/{template}_building")
        populate(engine, customers, invoices)
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{template}_building" RENAME TO "{template}"'))
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return f"{base}/{name}"


def started() -> datetime:
    """The instant the benchmarks' clock shows (noon of bench/data.py's TODAY, UTC)."""
    return datetime(data.TODAY.year, data.TODAY.month, data.TODAY.day, 12, tzinfo=UTC)
