"""The reminders screen's views of what the cycles do, server side, on both databases: a
template previewed for a customer in each language, today's dry run and the forecast as
the API computes them, emails by state with the exact message, replies, tasks closed in
place (docs/web/reminders.md)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from arpolicy.audit import Actor
from arpolicy.engagement import admin, service
from arpolicy.kit.db import transaction
from arpolicy.ledger.statement import statements
from arpolicy.models import Customer, EngagementTask, Tenant, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.web.reminders_support import (
    Shop,
    a_customer,
    add_task,
    audits,
    first_email,
    make_shop,
    reply_to,
    user,
)
from tests.web.signin_support import sign_in

PREVIEW = "/reminders/cycles/Standard/preview"


def _owing(engine: Engine, shop: Shop) -> tuple[str, list[str]]:
    """A customer with open invoices: its external id and their numbers."""
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        tenant = db.get(Tenant, shop.tenant_id)
        assert tenant is not None
        ids = db.scalars(select(Customer.id).where(Customer.tenant_id == tenant.id)).all()
        for cid, st in sorted(statements(db, tenant, ids, NOW.date()).items()):
            numbers = [i.number for i in st.items if i.kind in ("invoice", "debit_note")]
            if numbers:
                customer = db.get(Customer, cid)
                assert customer is not None
                return customer.external_id, numbers
    raise AssertionError("no customer owes anything")


def test_a_reminder_is_previewed_for_a_customer_in_each_language(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop, UserRole.COLLECTOR))
    external_id, numbers = _owing(db_engine, shop)
    page = web_client.get(PREVIEW, params={"reminder": "friendly", "customer": external_id})
    assert page.status_code == 200
    headings = re.findall(r'<h3 id="pv-(\w+)">', page.text)
    assert headings == ["de", "en", "fr"]
    assert page.text.count("this customer's language") == 1
    bodies = re.findall(r'<pre class="rem-body"[^>]*>(.*?)</pre>', page.text, re.S)
    assert len(bodies) == 3 and numbers
    for body in bodies:  # the customer's own open invoices, in each language
        assert all(n in html.unescape(body) for n in numbers)
    assert "Guten Tag" in bodies[0] and "Bonjour" in bodies[2]
    fragment = web_client.get(
        PREVIEW,
        params={"reminder": "friendly", "customer": external_id},
        headers={"HX-Request": "true"},
    )
    assert fragment.text.lstrip().startswith('<div id="preview"')


def test_a_preview_for_no_customer_says_so_beside_the_field(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop))
    page = web_client.get(PREVIEW, params={"reminder": "friendly", "customer": "NOPE-1"})
    assert page.status_code == 422
    assert re.search(r'id="e-p-customer" class="error">no customer &#39;NOPE-1&#39;', page.text)
    assert 'aria-describedby="e-p-customer"' in page.text
    wrong = web_client.get(PREVIEW, params={"reminder": "nosuch", "customer": "NOPE-1"})
    assert wrong.status_code == 422


def test_todays_dry_run_and_the_forecast_are_the_apis(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, customers=16, run=False)
    sign_in(web_client, user(db_engine, shop, UserRole.COLLECTOR))
    with transaction(db_engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        tenant = db.get(Tenant, shop.tenant_id)
        assert tenant is not None
        actor = Actor(shop.tenant_id, "test")
        dry = service.run(db, tenant, actor, as_of=NOW.date(), now=NOW, dry_run=True)
        ahead = admin.forecast(db, tenant, start=NOW.date(), days=14, now=NOW)
    shell = web_client.get("/reminders/today")
    assert shell.status_code == 200 and 'hx-get="/reminders/today/run?page_no=1"' in shell.text
    today = web_client.get("/reminders/today/run")
    assert today.status_code == 200
    rows = re.findall(r"<tr>\s*<th scope=\"row\"><a href=\"/customers/", today.text)
    assert len(rows) == min(len(dry.emails), 50) and dry.emails
    for e in dry.emails[:50]:
        assert html.escape(e["subject"]) in today.text
    shell = web_client.get("/reminders/forecast")
    assert 'hx-get="/reminders/forecast/days?day="' in shell.text
    forecast = web_client.get("/reminders/forecast/days", headers={"HX-Request": "true"})
    assert forecast.status_code == 200 and forecast.text.startswith('<div id="results">')
    counts = re.findall(r'<span class="count">(\d+) <small>emails', forecast.text)
    assert [int(c) for c in counts] == [d["emails"] for d in ahead["days"]]
    busiest = max(ahead["days"], key=lambda d: d["emails"])
    day = web_client.get("/reminders/forecast/days", params={"day": busiest["day"]})
    listed = re.findall(r"<tr><th scope=\"row\"><a href=\"/customers/", day.text)
    assert len(listed) == busiest["emails"] > 0


def test_emails_by_state_and_the_exact_message(web_client: TestClient, db_engine: Engine) -> None:
    shop = make_shop(db_engine, customers=16)
    assert shop.emails > 0
    sign_in(web_client, user(db_engine, shop, UserRole.COLLECTOR))
    queued = web_client.get("/reminders/emails", params={"state": "queued"})
    assert len(re.findall(r'href="/reminders/emails/\d+"', queued.text)) == shop.emails
    sent = web_client.get("/reminders/emails", params={"state": "sent"})
    assert "No email in this state." in sent.text
    email = first_email(db_engine, shop)
    reply_to(db_engine, shop, email)
    page = web_client.get(f"/reminders/emails/{email.id}")
    assert page.status_code == 200
    body = re.search(r'<pre class="rem-body"[^>]*>(.*?)</pre>', page.text, re.S)
    assert body and html.unescape(body.group(1)) == email.text_body
    assert html.escape(email.message_id) in page.text and "We pay" not in page.text
    assert "Re: " in page.text and "reply" in page.text
    replies = web_client.get("/reminders/replies", params={"kind": "reply"})
    assert f'href="/reminders/emails/{email.id}"' in replies.text
    other = make_shop(db_engine, customers=12)
    foreign = first_email(db_engine, other)
    assert web_client.get(f"/reminders/emails/{foreign.id}").status_code == 404


def _status(engine: Engine, tenant_id: int, task_id: int) -> str:
    with transaction(engine, write=False) as db:
        scope_tenant(db, tenant_id)
        task = db.scalar(select(EngagementTask).where(EngagementTask.id == task_id))
        assert task is not None
        return task.status.value


def test_a_collector_closes_a_task_an_agent_may_not(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    customer_id, _, name = a_customer(db_engine, shop)
    task_id = add_task(db_engine, shop, customer_id)
    done = f"/reminders/tasks/{task_id}/done"
    token = sign_in(web_client, user(db_engine, shop, UserRole.AGENT))
    page = web_client.get("/reminders/tasks")
    assert html.escape(name) in page.text and done not in page.text
    assert web_client.post(done, data={"csrf_token": token}).status_code == 403
    collector = user(db_engine, shop, UserRole.COLLECTOR)
    token = sign_in(web_client, collector)
    assert done in web_client.get("/reminders/tasks").text
    assert web_client.post(done, data={}).status_code == 403
    assert _status(db_engine, shop.tenant_id, task_id) == "open"
    answer = web_client.post(done, data={"csrf_token": token})
    assert answer.status_code == 303
    assert _status(db_engine, shop.tenant_id, task_id) == "done"
    assert audits(db_engine, shop, "task.done") == [f"user:{collector.email} (web)"]
    assert "No task." in web_client.get("/reminders/tasks").text
    assert html.escape(name) in web_client.get("/reminders/tasks?status=done").text
    other = make_shop(db_engine, run=False)
    foreign = add_task(db_engine, other, a_customer(db_engine, other)[0])
    assert (
        web_client.post(f"/reminders/tasks/{foreign}/done", data={"csrf_token": token}).status_code
        == 404
    )
    assert _status(db_engine, other.tenant_id, foreign) == "open"
