"""The same Idempotency-Key sent 20 times at once creates one object (issue 4, "Done
means"), on SQLite and PostgreSQL.

A real server (uvicorn in a thread, on its own port: no TestClient, whose requests do not
overlap) and 20 client threads released together by a barrier, all sending the same body
with the same key. Exactly one object must exist afterwards, and all 20 answers must be the
same status and body (the first response, replayed).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select

from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.models import Customer, User
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW, Caller

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONCURRENT = 20


@pytest.fixture
def server(api_engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free port; its base URL."""
    url = api_engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0), clock=FixedClock(NOW))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)
        sock.close()
        app.state.engine.dispose()


def at_once(base: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> list[Any]:
    """POST ``body`` to ``path`` from CONCURRENT threads released together."""
    barrier = threading.Barrier(CONCURRENT)
    results: list[Any] = [None] * CONCURRENT

    def one(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            barrier.wait()
            try:
                results[i] = client.post(path, headers=headers, json=body)
            except Exception as exc:  # reported below, with the others
                results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def count(engine: Engine, tenant_id: int, model: Any, where: Any) -> int:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        return int(s.scalar(select(func.count()).select_from(model).where(where)) or 0)


def _user(tag: str) -> tuple[str, dict[str, Any], Any, Any]:
    email = f"{tag}@example.com"
    return (
        "/v1/users",
        {"email": email, "name": "Once", "role": "collector"},
        User,
        User.email == email,
    )


def _customer(tag: str) -> tuple[str, dict[str, Any], Any, Any]:
    ext = f"ONCE-{tag}"
    body = {"external_id": ext, "name": "Once Ltd", "currency": "USD", "country": "US"}
    return "/v1/customers", body, Customer, Customer.external_id == ext


CREATES: dict[str, Callable[[str], tuple[str, dict[str, Any], Any, Any]]] = {
    "users": _user,
    "customers": _customer,
}


@pytest.mark.parametrize("resource", sorted(CREATES))
def test_one_idempotency_key_sent_20_times_at_once_creates_one_object(
    server: str, api_engine: Engine, caller: Callable[..., Caller], resource: str
) -> None:
    me = caller()
    tag = uuid.uuid4().hex[:10]
    path, body, model, where = CREATES[resource](tag)
    headers = {**me.headers, "Idempotency-Key": f"once-{tag}"}
    results = at_once(server, path, headers, body)
    errors = [r for r in results if not isinstance(r, httpx.Response)]
    assert not errors, f"requests failed: {errors[:3]}"
    statuses = sorted({r.status_code for r in results})
    assert statuses == [201], f"statuses {statuses}: {[r.text[:200] for r in results][:3]}"
    bodies = {r.text for r in results}
    assert len(bodies) == 1, f"{len(bodies)} different bodies: {sorted(bodies)[:2]}"
    replayed = sum(r.headers.get("idempotent-replayed") == "true" for r in results)
    assert replayed == CONCURRENT - 1
    assert count(api_engine, me.tenant_id, model, where & (model.tenant_id == me.tenant_id)) == 1


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
def test_fifty_customers_created_at_once_over_five_owners_get_ten_each(
    server: str, api_engine: Engine, caller: Callable[..., Caller], strategy: str
) -> None:
    """Issue 5: 50 POST /v1/customers at once (10 threads x 5), a policy with a pool of 5
    collectors: each gets exactly 10, because the hook runs in the create's transaction
    and the pool's state is locked."""
    from collections import Counter

    from arpolicy.models import Tenant
    from tests.fixtures.factories import create_user

    me = caller()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        pool = {
            create_user(s, t, email=f"p{i}-{t.slug}@x.example", team="Pool").id for i in range(5)
        }
    policy = {
        "role": "finance",
        "rules": [{"name": "pool", "assign": {"strategy": strategy, "users": ["team:Pool"]}}],
    }
    with httpx.Client(base_url=server, timeout=60) as client:
        r = client.put(
            "/v1/assignment/policies/finance", headers=me.headers, json={"policy": policy}
        )
        assert r.status_code == 200, r.text
    barrier = threading.Barrier(10)
    answers: list[Any] = []

    def five(k: int) -> None:
        with httpx.Client(base_url=server, timeout=60) as client:
            barrier.wait()
            for j in range(5):
                try:
                    answers.append(
                        client.post(
                            "/v1/customers",
                            headers=me.headers,
                            json={"external_id": f"F-{k}-{j}", "name": "F"},
                        )
                    )
                except Exception as exc:  # reported below
                    answers.append(exc)

    threads = [threading.Thread(target=five, args=(k,)) for k in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert [getattr(a, "status_code", a) for a in answers] == [201] * 50
    assert Counter(a.json()["finance_owner_id"] for a in answers) == Counter({u: 10 for u in pool})
