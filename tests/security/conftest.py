"""PostgreSQL databases with row-level security as it is deployed: migrated by the owner,
used by a service role that owns nothing (tests/conftest.py's databases are used as the
superuser, whom row-level security never binds).

``rls_db`` comes in two kinds: the owner is the superuser (the simplest deployment), or
the owner is a plain role that owns the database (FORCE ROW LEVEL SECURITY then binds the
owner too, and the definer lookups must work without superuser rights).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import upgrade
from arpolicy.tenancy.rls import grant_service_role
from tests.conftest import PG_ADMIN_URL, new_pg_database
from tests.security.seeding import RlsDatabase, seed


def admin_engine() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session", params=["superuser-owner", "role-owner"])
def rls_db(request: pytest.FixtureRequest) -> Iterator[RlsDatabase]:
    url, drop = new_pg_database()
    suffix = uuid.uuid4().hex[:8]
    app_role = f"arpolicy_app_{suffix}"
    owner_role = f"arpolicy_owner_{suffix}" if request.param == "role-owner" else None
    admin = admin_engine()
    engines: list[Engine] = []
    try:
        owner_url = url
        if owner_role is not None:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE ROLE {owner_role} LOGIN"))
                conn.execute(
                    text(f'ALTER DATABASE "{make_url(url).database}" OWNER TO {owner_role}')
                )
                conn.execute(text(f"CREATE ROLE {app_role} LOGIN"))  # the owner may not
            owner_url = make_url(url).set(username=owner_role).render_as_string(hide_password=False)
        app_url = make_url(url).set(username=app_role).render_as_string(hide_password=False)
        owner, app, truth = (make_engine(u) for u in (owner_url, app_url, url))
        engines += [owner, app, truth]
        upgrade(owner)
        grant_service_role(owner, app_role)
        a = seed(app, f"rls-a-{suffix}", 1)
        b = seed(app, f"rls-b-{suffix}", 2)
        yield RlsDatabase(
            request.param, owner_url, app_url, owner, app, truth, app_role, owner_role, a, b
        )
    finally:
        for engine in engines:
            engine.dispose()
        drop()
        with admin.connect() as conn:
            for role in (app_role, owner_role):
                if role:
                    conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
