"""My worklist, server side on both databases: what a collector sees and in which order,
and each item done, snoozed or handed over in place (htmx), with permissions, CSRF, bad
input, other tenants and the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, EngagementTask, TaskStatus, UserRole, WorklistMark
from arpolicy.tenancy.rls import scope_tenant
from tests.web.signin_support import make_web_user, sign_in
from tests.web.worklist_support import TODAY, Seeded, seed_worklist

HX = {"HX-Request": "true"}


def _marks(engine: Engine, tenant_id: int) -> list[tuple[str, int, object, object, object]]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        rows = s.execute(
            select(
                WorklistMark.kind,
                WorklistMark.object_id,
                WorklistMark.done_at,
                WorklistMark.snoozed_until,
                WorklistMark.assigned_user_id,
            ).where(WorklistMark.tenant_id == tenant_id)
        )
        return [tuple(r) for r in rows]


def _audit(engine: Engine, tenant_id: int, prefix: str) -> list[tuple[str, str]]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action.like(f"{prefix}%"))
            .order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows]


def _rows(html: str) -> list[str]:
    """The item keys of the page's rows, in order."""
    return re.findall(r'<tr id="item-([a-z_]+-\d+)"', html)


def _key(seeded: Seeded, name: str) -> str:
    kind, object_id = seeded.items[name]
    return f"{kind}-{object_id}"


def _url(seeded: Seeded, name: str, action: str) -> str:
    kind, object_id = seeded.items[name]
    return f"/worklist/{kind}/{object_id}/{action}"


def test_a_collector_sees_their_items_by_what_is_owed_and_how_late(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sign_in(web_client, who)
    page = web_client.get("/worklist")
    assert page.status_code == 200
    keys = _rows(page.text)
    big = {_key(seeded, "promise due"), _key(seeded, "reply")}  # Big Owes: 5,000 overdue
    late = {_key(seeded, "dispute"), _key(seeded, "cycle end")}  # 300, 95 days late
    small = {_key(seeded, "promise broken"), _key(seeded, "task")}  # 300, 10 days late
    assert set(keys[:2]) == big and set(keys[2:4]) == late and set(keys[4:]) == small
    assert _key(seeded, "colleague dispute") not in keys  # a colleague's customer
    assert "$5,000.00" in page.text and "Big Owes Ltd" in page.text
    assert "All (6)" in page.text and "Disputes (1)" in page.text
    only = web_client.get("/worklist?kind=promise", headers=HX)
    assert only.status_code == 200 and "<html" not in only.text  # the fragment only
    assert set(_rows(only.text)) == {_key(seeded, "promise due"), _key(seeded, "promise broken")}


def test_done_takes_the_item_off_in_place_and_is_audited(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    done = web_client.post(_url(seeded, "dispute", "done"), headers={**HX, "X-CSRF-Token": token})
    assert done.status_code == 200 and 'role="status"' in done.text and "<html" not in done.text
    kind, object_id = seeded.items["dispute"]
    [mark] = _marks(db_engine, seeded.tenant_id)
    assert mark[:2] == (kind, object_id) and mark[2] is not None
    assert _audit(db_engine, seeded.tenant_id, "worklist.") == [
        ("worklist.done", f"user:{who.email} (web)")
    ]
    assert _key(seeded, "dispute") not in _rows(web_client.get("/worklist").text)


def test_done_on_a_task_closes_the_task_as_the_api_does(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    r = web_client.post(_url(seeded, "task", "done"), data={"csrf_token": token})
    assert r.status_code == 303  # without htmx: back to the worklist
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        task = s.get(EngagementTask, seeded.items["task"][1])
        assert task is not None and task.status == TaskStatus.DONE
    actions = [a for a, _ in _audit(db_engine, seeded.tenant_id, "")]
    assert "task.done" in actions and "worklist.done" in actions


def test_snooze_hides_until_the_day_and_a_bad_day_comes_back_beside_the_field(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    h = {**HX, "X-CSRF-Token": token}
    for bad in ("", "not a day", TODAY.isoformat(), (TODAY + timedelta(days=400)).isoformat()):
        r = web_client.post(_url(seeded, "promise due", "snooze"), headers=h, data={"until": bad})
        assert r.status_code == 422, bad
        assert r.headers["X-Worklist-Row"] == "1"
        key = _key(seeded, "promise due")
        assert f'id="e-until-{key}"' in r.text and "snooze until a day after today" in r.text
        assert 'aria-invalid="true"' in r.text
    assert _marks(db_engine, seeded.tenant_id) == []  # nothing stored
    until = TODAY + timedelta(days=3)
    ok = web_client.post(
        _url(seeded, "promise due", "snooze"), headers=h, data={"until": until.isoformat()}
    )
    assert ok.status_code == 200 and "Snoozed until" in ok.text
    [mark] = _marks(db_engine, seeded.tenant_id)
    assert mark[3] == until and mark[2] is None
    assert _key(seeded, "promise due") not in _rows(web_client.get("/worklist").text)


def test_reassign_hands_the_item_to_a_colleague_of_the_team(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    h = {**HX, "X-CSRF-Token": token}
    stranger = make_web_user(db_engine, UserRole.COLLECTOR, tenant_id=seeded.tenant_id)  # no team
    for bad in ("", "abc", str(stranger.caller.user_id), "999999"):
        r = web_client.post(_url(seeded, "reply", "reassign"), headers=h, data={"user": bad})
        assert r.status_code == 422, bad
        assert "choose a colleague of your team" in r.text and 'id="e-user-' in r.text
    assert _marks(db_engine, seeded.tenant_id) == []
    page = web_client.get("/worklist").text
    assert f'<option value="{seeded.colleague_id}">Cora' in page
    assert f'<option value="{stranger.caller.user_id}"' not in page
    ok = web_client.post(
        _url(seeded, "reply", "reassign"), headers=h, data={"user": str(seeded.colleague_id)}
    )
    assert ok.status_code == 200 and "Handed to Cora" in ok.text
    assert _key(seeded, "reply") not in _rows(web_client.get("/worklist").text)
    [mark] = _marks(db_engine, seeded.tenant_id)
    assert mark[4] == seeded.colleague_id
    assert [a for a, _ in _audit(db_engine, seeded.tenant_id, "worklist.")] == [
        "worklist.reassigned"
    ]


def test_a_supervisor_opens_a_team_members_worklist_a_collector_may_not(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sign_in(web_client, who)
    refused = web_client.get(f"/worklist?user={seeded.colleague_id}")
    assert refused.status_code == 403
    boss = make_web_user(db_engine, UserRole.SUPERVISOR, tenant_id=seeded.tenant_id)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        from arpolicy.models import User

        for user_id in (seeded.collector_id, seeded.colleague_id):
            user = s.get(User, user_id)
            assert user is not None
            user.manager_id = boss.caller.user_id
    token = sign_in(web_client, boss)
    theirs = web_client.get(f"/worklist?user={seeded.collector_id}")
    assert theirs.status_code == 200 and "<h1>Worklist of User " in theirs.text
    assert _key(seeded, "dispute") in _rows(theirs.text)
    cora = web_client.get(f"/worklist?user={seeded.colleague_id}")
    assert _rows(cora.text) == [_key(seeded, "colleague dispute")]
    outsider = make_web_user(db_engine, UserRole.COLLECTOR, tenant_id=seeded.tenant_id)
    assert web_client.get(f"/worklist?user={outsider.caller.user_id}").status_code == 404
    acted = web_client.post(_url(seeded, "dispute", "done"), headers={**HX, "X-CSRF-Token": token})
    assert acted.status_code == 200  # a supervisor acts for the team


def test_a_collector_cannot_act_on_a_colleagues_item(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    token = sign_in(web_client, who)
    r = web_client.post(
        _url(seeded, "colleague dispute", "done"), headers={**HX, "X-CSRF-Token": token}
    )
    assert r.status_code == 403 and "not in your worklist" in r.text
    assert _marks(db_engine, seeded.tenant_id) == []


def test_a_role_that_may_not_write_gets_403_and_nothing_changes(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sales = make_web_user(db_engine, UserRole.SALES, tenant_id=seeded.tenant_id)
    token = sign_in(web_client, sales)
    page = web_client.get("/worklist")
    assert page.status_code == 200 and ">Done<" not in page.text  # no buttons to press
    r = web_client.post(_url(seeded, "dispute", "done"), headers={**HX, "X-CSRF-Token": token})
    assert r.status_code == 403
    assert _marks(db_engine, seeded.tenant_id) == []
    assert _audit(db_engine, seeded.tenant_id, "worklist.") == []


def test_without_the_csrf_token_nothing_is_stored(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sign_in(web_client, who)
    r = web_client.post(_url(seeded, "dispute", "done"), headers=HX)
    assert r.status_code == 403
    r = web_client.post(_url(seeded, "dispute", "snooze"), data={"csrf_token": "wrong"})
    assert r.status_code == 403
    assert _marks(db_engine, seeded.tenant_id) == []


def test_another_tenants_item_is_not_found(web_client: TestClient, db_engine: Engine) -> None:
    owner = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, owner)
    intruder = make_web_user(db_engine, UserRole.ADMIN)
    token = sign_in(web_client, intruder)
    for action in ("done", "snooze", "reassign"):
        r = web_client.post(
            _url(seeded, "dispute", action),
            headers={**HX, "X-CSRF-Token": token},
            data={"until": (TODAY + timedelta(days=2)).isoformat(), "user": "1"},
        )
        assert r.status_code == 404, action
    unknown = web_client.post("/worklist/nonsense/1/done", headers={**HX, "X-CSRF-Token": token})
    assert unknown.status_code == 422 and "is not a kind of worklist item" in unknown.text
    assert _marks(db_engine, seeded.tenant_id) == []
    assert web_client.get(f"/worklist?user={seeded.collector_id}").status_code == 404
