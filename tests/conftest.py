"""Databases for the tests: SQLite always, PostgreSQL when reachable (and always under CI).

Each database is built once per test session by the real Alembic migrations; each test gets
a session inside a transaction that is rolled back afterwards (savepoints cover the code's
own transactions).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from arpolicy.kit.db import WRITE, make_engine
from arpolicy.kit.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "ARPOLICY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "test.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


def new_pg_database() -> tuple[str, callable]:  # type: ignore[valid-type]
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); set CI=true to make this an error")
    name = f"arpolicy_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    url, drop = new_pg_database()
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest) -> Engine:
    """The migrated engine of each database in turn."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session on each database whose work is rolled back after the test."""
    with db_engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture
def sqlite_session(sqlite_engine: Engine) -> Iterator[Session]:
    with sqlite_engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[str, int]]:
    """For the worker crash tests: (database URL, workers run at once). One worker on
    SQLite; two on PostgreSQL, killed together, so that each message is claimed by one of
    them. A database of its own, migrated by the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}", 1
        return
    url, drop = new_pg_database()
    try:
        yield url, 2
    finally:
        drop()
