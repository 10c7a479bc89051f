"""The Imports screen, server side, on both databases: the API's import with its checks,
every rejected row in a table, the good rows or none, permissions, CSRF, the audit trail."""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, Customer, OutboxMessage, UserRole, WebhookEndpoint
from arpolicy.tenancy.rls import scope_tenant
from tests.web.signin_support import make_web_user, sign_in

GOOD = b"external_id,name,currency\nW1,ACME,USD\nW2,Beta,EUR\n"
BAD = b"external_id,name,currency\nW1,ACME,usd\nW2,,EUR\nW3,Gamma,USD\n"
JOB = re.compile(r'action="/imports/([^/"]+)/good-rows"')


def _upload(
    client: TestClient, csrf: str | None, content: bytes, *, kind: str = "customers", **form: str
) -> Any:
    data = {"kind": kind, "mode": "none", **form}
    if csrf is not None:
        data["csrf_token"] = csrf
    files = {"file": ("list.csv", content, "text/csv")}
    return client.post("/imports", data=data, files=files)


def _customers(engine: Engine, tenant_id: int) -> dict[str, str]:
    with transaction(engine, write=False) as db:
        scope_tenant(db, tenant_id)
        rows = db.execute(
            select(Customer.external_id, Customer.name).where(Customer.tenant_id == tenant_id)
        ).all()
    return {r[0]: r[1] for r in rows}


def _events(engine: Engine, tenant_id: int, action: str) -> list[AuditEvent]:
    with transaction(engine, write=False) as db:
        scope_tenant(db, tenant_id)
        return list(
            db.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant_id, AuditEvent.action == action
                )
            )
        )


def test_a_good_file_is_imported_with_the_apis_audit_and_webhook(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    with transaction(db_engine) as db:
        scope_tenant(db, who.caller.tenant_id)
        db.add(
            WebhookEndpoint(
                tenant_id=who.caller.tenant_id,
                url="https://hooks.example.com/ar",
                secret="whsec_" + "A" * 32,
                events=["import.completed"],
                active=True,
            )
        )
    csrf = sign_in(web_client, who)
    page = web_client.get("/imports")
    assert page.status_code == 200 and 'name="file"' in page.text
    response = _upload(web_client, csrf, GOOD)
    assert response.status_code == 200, response.text
    assert "Imported 2 of 2 rows: 2 new, 0 updated" in response.text
    assert _customers(db_engine, who.caller.tenant_id) == {"W1": "ACME", "W2": "Beta"}
    (event,) = _events(db_engine, who.caller.tenant_id, "import.completed")
    assert event.actor == f"user:{who.email} (web)" and event.after["inserted"] == 2
    with transaction(db_engine, write=False) as db:
        scope_tenant(db, who.caller.tenant_id)
        sent = db.scalars(
            select(OutboxMessage.event_type).where(OutboxMessage.tenant_id == who.caller.tenant_id)
        ).all()
    assert list(sent) == ["import.completed"]


def test_bad_rows_are_listed_and_the_user_imports_none_or_the_good_rows(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    csrf = sign_in(web_client, who)
    rejected = _upload(web_client, csrf, BAD)
    assert rejected.status_code == 422
    html = rejected.text
    assert "2 of 3 rows are bad, so nothing was imported yet" in html
    assert "<caption>Rejected rows</caption>" in html
    assert re.search(r'<td class="num">2</td><td>currency</td><td><code>usd</code>', html)
    assert re.search(r'<td class="num">3</td><td>name</td>', html)
    assert _customers(db_engine, who.caller.tenant_id) == {}
    job = JOB.search(html)
    assert job is not None and "Import the good row" in html
    # import none: nothing stored, the job is gone
    none = web_client.post(f"/imports/{job.group(1)}/none", data={"csrf_token": csrf})
    assert none.status_code == 200 and "Nothing from list.csv was imported" in none.text
    assert _customers(db_engine, who.caller.tenant_id) == {}
    assert web_client.get(f"/imports/{job.group(1)}").status_code == 404
    # again, and this time the good rows
    job = JOB.search(_upload(web_client, csrf, BAD).text)
    assert job is not None
    good = web_client.post(f"/imports/{job.group(1)}/good-rows", data={"csrf_token": csrf})
    assert good.status_code == 200, good.text
    assert "Imported 1 of 3 rows: 1 new, 0 updated; 2 bad rows were left out" in good.text
    assert _customers(db_engine, who.caller.tenant_id) == {"W3": "Gamma"}
    (event,) = _events(db_engine, who.caller.tenant_id, "import.completed")
    assert event.actor == f"user:{who.email} (web)"


def test_a_whole_file_problem_and_missing_fields_are_shown_beside_them(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, who)
    broken = _upload(web_client, csrf, b"external_id,nmae\nW1,ACME\n")
    assert broken.status_code == 422
    assert "The file was rejected at line 1, column nmae: is not a column" in broken.text
    assert "/good-rows" not in broken.text  # no good rows to offer
    no_file = web_client.post("/imports", data={"csrf_token": csrf, "kind": "customers"})
    assert no_file.status_code == 422
    assert 'id="e-file"' in no_file.text and "Choose the file to import" in no_file.text
    bad_kind = _upload(web_client, csrf, GOOD, kind="planets")
    assert bad_kind.status_code == 422 and 'id="e-kind"' in bad_kind.text
    assert _customers(db_engine, who.caller.tenant_id) == {}


def test_permissions_and_csrf(web_client: TestClient, db_engine: Engine) -> None:
    viewer = make_web_user(db_engine, UserRole.SALES)  # no ledger:write
    csrf = sign_in(web_client, viewer)
    assert web_client.get("/imports").status_code == 403
    assert _upload(web_client, csrf, GOOD).status_code == 403
    collector = make_web_user(db_engine, UserRole.COLLECTOR)
    csrf = sign_in(web_client, collector)
    users = b"email,name,role\nnew@example.com,New,admin\n"
    assert _upload(web_client, csrf, users, kind="users").status_code == 403  # users:manage
    owners = b"external_id,name,currency,finance_owner\nW1,ACME,USD,x@example.com\n"
    gated = _upload(web_client, csrf, owners)
    assert gated.status_code == 403 and "owners:write" in gated.text
    assert _upload(web_client, None, GOOD).status_code == 403  # no CSRF token
    for who in (viewer, collector):
        assert _customers(db_engine, who.caller.tenant_id) == {}


def test_another_users_import_is_not_found(web_client: TestClient, db_engine: Engine) -> None:
    first = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, first)
    job = JOB.search(_upload(web_client, csrf, BAD).text)
    assert job is not None
    other = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, other)
    assert web_client.get(f"/imports/{job.group(1)}").status_code == 404
    kept = web_client.post(f"/imports/{job.group(1)}/good-rows", data={"csrf_token": csrf})
    assert kept.status_code == 404
    assert _customers(db_engine, first.caller.tenant_id) == {}


def test_a_long_import_shows_its_progress_until_it_ends(
    web_client: TestClient, db_engine: Engine, monkeypatch: Any
) -> None:
    from arpolicy.web import uploads
    from arpolicy.web.views import imports

    gate = threading.Event()
    real = uploads.import_upload

    def held(*args: Any) -> Any:
        assert gate.wait(10)
        return real(*args)

    monkeypatch.setattr(imports, "WAIT", 0.0)
    monkeypatch.setattr(uploads, "import_upload", held)
    who = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, who)
    started = _upload(web_client, csrf, GOOD)
    assert started.status_code == 303
    target = started.headers["location"]
    running = web_client.get(target)
    assert running.status_code == 200
    assert "Importing… 0 rows imported so far" in running.text
    assert 'hx-trigger="every 1s"' in running.text
    gate.set()
    for _ in range(100):
        polled = web_client.get(target, headers={"HX-Request": "true"})
        if "hx-trigger" not in polled.text:
            break
        time.sleep(0.05)
    assert polled.status_code == 200 and polled.text.lstrip().startswith('<section id="job"')
    assert "Imported 2 of 2 rows" in polled.text
    assert _customers(db_engine, who.caller.tenant_id) == {"W1": "ACME", "W2": "Beta"}


def test_a_long_list_of_bad_rows_is_cut_and_counted(
    web_client: TestClient, db_engine: Engine, monkeypatch: Any
) -> None:
    from arpolicy.web.views import imports

    monkeypatch.setattr(imports, "SHOWN", 1)
    who = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, who)
    html = _upload(web_client, csrf, BAD).text
    assert "<caption>Rejected rows (the first 1; 1 more not listed)</caption>" in html
    assert html.count('<td class="num">') == 1


def test_another_server_process_shows_and_finishes_the_import(
    web_client: TestClient, db_engine: Engine
) -> None:
    """The job's state is on disk: a second app (another ``--workers`` process) reads it."""
    from arpolicy.app import create_app

    who = make_web_user(db_engine, UserRole.ADMIN)
    csrf = sign_in(web_client, who)
    job = JOB.search(_upload(web_client, csrf, BAD).text)
    assert job is not None
    first = web_client.app.state  # type: ignore[attr-defined]
    other = create_app(first.settings, clock=first.clock)
    with TestClient(other, follow_redirects=False) as second:
        second.cookies.update(web_client.cookies)
        shown = second.get(f"/imports/{job.group(1)}")
        assert shown.status_code == 422 and "2 of 3 rows are bad" in shown.text
        kept = second.post(f"/imports/{job.group(1)}/good-rows", data={"csrf_token": csrf})
        assert kept.status_code == 200 and "Imported 1 of 3 rows" in kept.text
    other.state.engine.dispose()
    assert _customers(db_engine, who.caller.tenant_id) == {"W3": "Gamma"}


def test_uploads_nobody_came_back_to_are_swept_after_a_day() -> None:
    from arpolicy.web import uploads

    old = uploads.directory() / "upload-old-test"
    old.write_bytes(b"x")
    fresh = uploads.directory() / "upload-fresh-test"
    fresh.write_bytes(b"y")
    day_ago = time.time() - uploads.KEEP_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    uploads.sweep()
    assert not old.exists() and fresh.exists()
    fresh.unlink()
