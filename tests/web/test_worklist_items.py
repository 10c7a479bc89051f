"""Which items make a worklist (engagement/worklist.py), on both databases: each kind comes
and goes with the facts behind it, a snoozed item comes back on its day, and the list
pages 50 at a time."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from arpolicy.engagement.worklist import worklist
from arpolicy.kit.db import transaction
from arpolicy.models import (
    Customer,
    Document,
    PromiseStatus,
    Tenant,
    UserRole,
    WorklistMark,
)
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.fixtures.factories import create_customer, create_dispute, create_promise
from tests.web.signin_support import make_web_user, sign_in
from tests.web.worklist_support import TODAY, Seeded, seed_worklist


def _keys(engine: Engine, seeded: Seeded, today: date = TODAY) -> set[str]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        return {i.key for i in worklist(s, tenant, seeded.collector_id, today).items}


def _key(seeded: Seeded, name: str) -> str:
    kind, object_id = seeded.items[name]
    return f"{kind}-{object_id}"


def test_a_reply_leaves_when_an_email_follows_it(db_engine: Engine) -> None:
    seeded = seed_worklist(db_engine, make_web_user(db_engine, UserRole.COLLECTOR))
    assert _key(seeded, "reply") in _keys(db_engine, seeded)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        s.execute(
            update(Customer)
            .where(Customer.id == seeded.customers["Big Owes Ltd"])
            .values(last_email_at=NOW)
        )
    assert _key(seeded, "reply") not in _keys(db_engine, seeded)


def test_an_ended_cycle_leaves_when_the_customer_pays(db_engine: Engine) -> None:
    seeded = seed_worklist(db_engine, make_web_user(db_engine, UserRole.COLLECTOR))
    assert _key(seeded, "cycle end") in _keys(db_engine, seeded)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        s.execute(
            update(Document)
            .where(Document.customer_id == seeded.customers["Very Late GmbH"])
            .values(balance_minor=0, base_balance_minor=0)
        )
    assert _key(seeded, "cycle end") not in _keys(db_engine, seeded)


def test_promises_due_today_late_or_lately_broken(db_engine: Engine) -> None:
    seeded = seed_worklist(db_engine, make_web_user(db_engine, UserRole.COLLECTOR))
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        c = s.get(Customer, seeded.customers["Small Owes Ltd"])
        assert c is not None
        made = {
            "late": create_promise(s, tenant, c, "10.00", TODAY - timedelta(days=60)),
            "tomorrow": create_promise(s, tenant, c, "10.00", TODAY + timedelta(days=1)),
            "kept": create_promise(s, tenant, c, "10.00", TODAY, status=PromiseStatus.KEPT),
            "long broken": create_promise(
                s, tenant, c, "10.00", TODAY - timedelta(days=31), status=PromiseStatus.BROKEN
            ),
        }
        keys = {name: f"promise-{p.id}" for name, p in made.items()}
    found = _keys(db_engine, seeded)
    assert keys["late"] in found and _key(seeded, "promise broken") in found
    assert not {keys["tomorrow"], keys["kept"], keys["long broken"]} & found


def test_a_snoozed_item_comes_back_on_its_day(db_engine: Engine) -> None:
    seeded = seed_worklist(db_engine, make_web_user(db_engine, UserRole.COLLECTOR))
    kind, object_id = seeded.items["dispute"]
    until = TODAY + timedelta(days=2)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        s.add(
            WorklistMark(
                tenant_id=seeded.tenant_id,
                kind=kind,
                object_id=object_id,
                customer_id=seeded.customers["Very Late GmbH"],
                snoozed_until=until,
                updated_by="test",
            )
        )
    key = _key(seeded, "dispute")
    assert key not in _keys(db_engine, seeded, until - timedelta(days=1))
    assert key in _keys(db_engine, seeded, until)


def test_the_list_pages_fifty_at_a_time(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        c = create_customer(s, tenant, name="Many Disputes AG", finance_owner_id=who.caller.user_id)
        for n in range(55):
            create_dispute(s, tenant, c, f"{n + 1}.00", opened_on=TODAY)
    sign_in(web_client, who)
    first = web_client.get("/worklist?kind=dispute")
    assert "56 items (disputes), page 1 of 2" in first.text
    assert len(re.findall(r'<tr id="item-', first.text)) == 50
    assert 'href="/worklist?kind=dispute&amp;page=2"' in first.text
    second = web_client.get("/worklist?kind=dispute&page=2", headers={"HX-Request": "true"})
    assert len(re.findall(r'<tr id="item-', second.text)) == 6
    assert "page 2 of 2" in second.text and "Previous page" in second.text
    beyond = web_client.get("/worklist?kind=dispute&page=9")
    assert "page 2 of 2" in beyond.text


def test_items_nobody_owns_go_to_the_admins(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    admin = make_web_user(db_engine, UserRole.ADMIN, tenant_id=seeded.tenant_id)
    with transaction(db_engine) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        c = create_customer(s, tenant, name="Nobody's Customer")
        key = f"dispute-{create_dispute(s, tenant, c, '40.00', opened_on=TODAY).id}"
    assert key not in _keys(db_engine, seeded)
    sign_in(web_client, admin)
    rows = re.findall(r'<tr id="item-([a-z_]+-\d+)"', web_client.get("/worklist").text)
    assert rows == [key]  # the collector's own items are not the admin's
