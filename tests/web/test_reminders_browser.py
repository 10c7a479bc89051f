"""The reminders screen in the browser (Chromium through Playwright), walked as its users
would: an admin builds a cycle's rule in the rule builder (a field, an operator, a
value; the text follows, the count of what it selects), previews a template for a
customer in its languages and saves the rule in the cycle; sees today's dry run and the forecast; opens an email and reads the
exact message. A collector reads cycles (the builder disabled) and cannot change them. axe on every screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.engagement import service
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import Customer, Email, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import LIVE_SLUG, Live


def _a_customer(live: Live) -> str:
    with transaction(live.engine, write=False) as db:
        tenant = get_tenant(db, LIVE_SLUG)
        scope_tenant(db, tenant.id)
        found = db.scalar(
            select(Customer.external_id)
            .where(Customer.tenant_id == tenant.id)
            .order_by(Customer.id)
        )
        assert found is not None
        return found


def _one_email(live: Live) -> Email:
    """Today's run written for one customer only (other tests' figures barely move)."""
    with transaction(live.engine) as db:
        tenant = get_tenant(db, LIVE_SLUG)
        scope_tenant(db, tenant.id)
        actor = Actor(tenant.id, "system:test")
        found = db.scalar(select(Email).where(Email.tenant_id == tenant.id).limit(1))
        if found is None:
            dry = service.run(db, tenant, actor, as_of=NOW.date(), now=NOW, dry_run=True)
            assert dry.emails, "the demo has no email due today"
            first = dry.emails[0]["customer_id"]
            service.run(db, tenant, actor, as_of=NOW.date(), now=NOW, customer_ids=[first])
            found = db.scalar(select(Email).where(Email.tenant_id == tenant.id).limit(1))
        assert found is not None
        db.expunge(found)
        return found


def _fits_768(page: Page) -> None:
    """Usable at 768 px: the page does not scroll sideways."""
    page.set_viewport_size({"width": 768, "height": 900})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the page is {width} px wide at 768"


def test_an_admin_builds_a_rule_previews_it_and_saves_it_in_a_cycle(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.ADMIN, "/reminders")
    expect(page.get_by_role("heading", name="Reminders", exact=True)).to_be_visible()
    cycles = page.get_by_role("table", name="Reminder cycles by priority")
    expect(cycles.get_by_role("row")).to_have_count(3)
    assert_accessible(page)
    shot(page, "reminders")
    cycles.get_by_role("link", name="Key accounts").click()
    expect(page.get_by_role("heading", name="Cycle: Key accounts")).to_be_visible()
    builder = page.locator("#rb-customer")
    text = builder.get_by_label("Rule as text")
    expect(text).to_have_value("outstanding > 10000 USD")
    expect(builder.locator(".rb-count")).to_be_visible()  # what the stored rule selects
    assert_accessible(page)

    # a condition the rule language does not know: beside the text, and beside the rule
    # when the cycle is saved (422, nothing stored)
    text.fill("outstanding > 20000 USD and no_such_field = 1")
    expect(page.locator("#rb-customer-text-problems")).to_contain_text("no_such_field")
    page.get_by_role("button", name="Save the cycle").click()
    expect(page.locator("#e-customer")).to_contain_text("The rule has problems")
    # beside the condition it is about (the builder drew the text as conditions)
    expect(page.locator("#customer-t-1-field")).to_have_value("no_such_field")
    expect(page.locator("#customer-t-1-field")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#customer-t-1-problems")).to_be_visible()
    expect(page.locator("#rb-customer-text")).to_have_value(
        "outstanding > 20000 USD and no_such_field = 1"
    )
    assert_accessible(page)

    # the rule built in the builder: a field, an operator, a value; the text follows
    builder = page.locator("#rb-customer")
    text = builder.get_by_label("Rule as text")
    text.fill("outstanding > 10000 USD")
    expect(builder.locator(".rb-leaf")).to_have_count(1)  # the builder follows the text
    expect(builder.locator(".rb-count")).to_be_visible()
    leaf = builder.locator(".rb-leaf").first
    expect(leaf.get_by_label("Field", exact=True)).to_have_value("outstanding")
    # each change redraws the builder from the server: wait for the text to follow it
    # before the next change, or the redraw puts back the state before that change
    leaf.get_by_label("Field", exact=True).select_option("overdue")
    expect(text).to_have_value("overdue > 10000 USD")
    leaf = builder.locator(".rb-leaf").first
    leaf.get_by_label("Operator").select_option(">=")
    expect(text).to_have_value("overdue >= 10000 USD")
    leaf = builder.locator(".rb-leaf").first
    leaf.get_by_label("Value amount").fill("5000")
    leaf.get_by_label("Value amount").press("Tab")
    expect(text).to_have_value("overdue >= 5000 USD")
    count = builder.locator(".rb-count")
    expect(count).to_be_visible()
    assert int(count.inner_text().replace(",", "")) >= 0
    expect(builder.get_by_text("customers match as of")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Reminder", exact=True).select_option("statement")
    page.get_by_label("Customer (id)").fill("NOPE-1")
    page.get_by_role("button", name="Preview").click()  # a 422, swapped in with its message
    expect(page.locator("#e-p-customer")).to_contain_text("no customer 'NOPE-1'")
    page.get_by_label("Customer (id)").fill(_a_customer(live))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", level=3)).to_have_count(3)
    expect(preview.get_by_role("heading", name="de", exact=False)).to_be_visible()
    expect(preview.get_by_role("heading", name="fr", exact=False)).to_be_visible()
    expect(text).to_have_value("overdue >= 5000 USD")  # the preview kept the form
    assert_accessible(page)

    page.get_by_role("button", name="Save the cycle").click()
    expect(page.get_by_role("status")).to_contain_text("The cycle is saved (version")
    builder = page.locator("#rb-customer")
    expect(builder.get_by_label("Rule as text")).to_have_value("overdue >= 5000 USD")
    expect(builder.locator(".rb-leaf").first.get_by_label("Field", exact=True)).to_have_value(
        "overdue"
    )
    expect(page.locator("#f-yaml")).to_contain_text("customer: overdue >= 5000 USD")
    expect(page.locator("#e-customer")).to_have_count(0)
    expect(builder.locator(".rb-count")).to_be_visible()
    page.get_by_label("Reminder", exact=True).select_option("statement")
    page.get_by_label("Customer (id)").fill(_a_customer(live))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview").get_by_role("heading", level=3)).to_have_count(3)
    assert_accessible(page)
    shot(page, "reminders-cycle")
    _fits_768(page)
    # a level with no rule: said so, and the builder offered folded
    page.goto(f"{live.url}/reminders/cycles/Standard")
    page.get_by_text("No customer rule: every customer is in the cycle.").click()
    blank = page.locator("#rb-customer")
    expect(blank.get_by_label("Field", exact=True)).to_be_visible()
    expect(blank.get_by_label("Rule as text")).to_have_value("")
    assert_accessible(page)


def test_an_admin_sees_todays_dry_run_and_the_forecast(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.ADMIN, "/reminders/today")
    expect(page.get_by_role("heading", name="Today's dry run")).to_be_visible()
    expect(page.get_by_role("table", name="Per cycle")).to_contain_text("Standard")
    assert_accessible(page)
    page.get_by_role("navigation", name="Reminders").get_by_role("link", name="Forecast").click()
    calendar = page.get_by_role("list", name="Forecast by day")
    expect(calendar.locator("> li:not(.blank)")).to_have_count(14)
    busy = calendar.locator("> li:not(.blank)").filter(has_not_text="0 emails").first
    day = busy.get_by_role("link").inner_text()
    busy.get_by_role("link").click()
    expect(page.locator("#day").get_by_role("heading", name=day)).to_be_visible()
    expect(page.locator("#day tbody tr").first).to_contain_text("Standard")
    assert_accessible(page)
    shot(page, "reminders-forecast")
    _fits_768(page)


def test_an_admin_opens_an_email_and_reads_the_exact_message(page: Page, live: Live) -> None:
    email = _one_email(live)
    sign_in(page, live, UserRole.ADMIN, "/reminders/emails")
    page.get_by_label("State").select_option("queued")
    link = page.get_by_role("link", name=f"#{email.id}", exact=True)
    expect(link).to_be_visible()
    assert_accessible(page)
    shot(page, "reminders-emails")
    link.click()
    expect(page.get_by_role("heading", name=f"Email #{email.id}", exact=False)).to_be_visible()
    body = page.get_by_label("The message as plain text")
    assert body.inner_text().rstrip("\n") == email.text_body.rstrip("\n")
    expect(page.get_by_text(email.message_id)).to_be_visible()
    assert email.html_body
    page.get_by_text("The message (HTML)").click()
    sent = page.frame_locator("iframe[title='The message as HTML']")
    expect(sent.locator("body")).to_contain_text(email.text_body.splitlines()[0])
    assert_accessible(page)
    page.get_by_role("link", name="Replies and bounces").click()
    assert_accessible(page)
    page.get_by_role("link", name="Tasks").click()
    assert_accessible(page)


def test_a_collector_reads_cycles_but_cannot_change_them(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.COLLECTOR, "/reminders/cycles/Standard")
    expect(page.get_by_role("heading", name="Cycle: Standard")).to_be_visible()
    expect(page.get_by_role("button", name="Save the cycle")).to_have_count(0)
    expect(page.get_by_role("button", name="Save the YAML")).to_have_count(0)
    expect(page.get_by_text("Your role may read this cycle, not change it.")).to_be_visible()
    invoice = page.locator("#rb-invoice")
    expect(invoice.get_by_label("Rule as text")).to_be_disabled()
    expect(invoice.get_by_label("Field", exact=True).first).to_be_disabled()
    expect(invoice.get_by_role("button", name="Add a condition")).to_be_disabled()
    expect(page.get_by_text("No customer rule: every customer is in the cycle.")).to_be_visible()
    assert_accessible(page)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"{live.url}/reminders/cycles/Standard",
        form={"csrf_token": token or "", "status": "draft", "priority": "1"},
    )
    assert answer.status == 403
    page.goto(f"{live.url}/reminders")
    expect(page.get_by_role("button", name="Save the settings")).to_have_count(0)
    expect(page.get_by_role("link", name="New cycle")).to_have_count(0)
    assert_accessible(page)
