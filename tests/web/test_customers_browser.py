"""The Customers screen and the customer sheet in the browser (Chromium through
Playwright), as their users walk them: a collector finds an overdue customer, records a
promise to pay and sees its reminders pause; a salesperson reads the sheet and finds
nothing to change. axe-core checks every state shown; screenshots "customers" and
"customer-sheet".

The demo tenant is shared by the session's browser tests: the promise goes to Pioneer
Engineering Inc. (a reminder due today, 91-120 days overdue), which no other test
changes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live

CUSTOMER = "Pioneer Engineering Inc."


def test_a_collector_finds_an_overdue_customer_and_records_a_promise(
    page: Page, live: Live
) -> None:
    sign_in(page, live, UserRole.COLLECTOR, "/customers")
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Customers"))
    expect(table.get_by_role("row")).to_have_count(41)  # 40 demo customers and the head
    assert_accessible(page)
    shot(page, "customers")
    # sort by external id: htmx swaps the table and the address keeps the sort
    page.get_by_role("link", name="External id").click()
    expect(page).to_have_url(re.compile(r"sort=external_id"))
    # the overdue ones, 91 to 120 days late
    page.get_by_label("Ageing bucket").select_option("91-120")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"bucket=91-120"))
    rows = page.get_by_role("table", name=re.compile("matching the filters")).get_by_role("row")
    expect(rows.filter(has_text=CUSTOMER)).to_have_count(1)
    expect(rows.filter(has_text="Harbor Analytics")).to_have_count(0)  # nothing overdue
    assert_accessible(page)
    page.get_by_role("link", name=CUSTOMER).click()

    expect(page.get_by_role("heading", name=CUSTOMER, level=1)).to_be_visible()
    state = page.locator("#reminder-state")
    expect(state).to_contain_text("A reminder is due today")
    expect(page.get_by_role("table", name=re.compile("Open documents"))).to_contain_text("overdue")
    assert_accessible(page)
    shot(page, "customer-sheet")

    # a typo first: the form comes back with the message beside the amount
    region = page.get_by_role("region", name="Promises to pay")
    region.get_by_text("Record a promise to pay").click()
    region.get_by_label("Amount").fill("five hundred")
    region.get_by_label("Promised by").fill("2026-12-04")
    region.get_by_role("button", name="Record promise").click()
    region = page.get_by_role("region", name="Promises to pay")
    amount = region.get_by_label("Amount")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#promise-amount-error")).to_contain_text("500.00")
    assert_accessible(page)
    # then the promise, for the account: the reminders pause until it is kept or broken
    amount.fill("500.00")
    region.get_by_label("Promised by").fill("2026-12-04")
    region.get_by_role("button", name="Record promise").click()
    expect(page.get_by_role("status")).to_have_text("The promise to pay is recorded.")
    expect(state).to_contain_text("Paused")
    expect(state).to_contain_text("an open promise to pay until 2026-12-04")
    promises = page.get_by_role("table", name="Promises to pay")
    expect(promises).to_contain_text("Dec 4, 2026")
    expect(page.get_by_role("list", name=re.compile("Timeline"))).to_contain_text("Promise created")
    assert_accessible(page)
    # and the list now shows it among the paused
    page.goto(f"{live.url}/customers?paused=yes")
    expect(page.get_by_role("link", name=CUSTOMER)).to_be_visible()
    # usable 768 px wide: nothing runs off the page sideways (wide tables scroll in place)
    page.set_viewport_size({"width": 768, "height": 900})
    for path in ("/customers", page.url.replace(live.url, "")):
        page.goto(f"{live.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 768, path
    page.get_by_role("link", name=CUSTOMER).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 768


def test_a_salesperson_reads_the_sheet_and_cannot_change_anything(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.SALES, "/customers?q=Harbor")
    page.get_by_role("link", name="Harbor Analytics LLC").click()
    expect(page.get_by_role("heading", name="Harbor Analytics LLC", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Figures")).to_be_visible()
    for action in ("Record a promise to pay", "Open a dispute", "Log a call or a note"):
        expect(page.get_by_text(action)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("reminders|owner", re.I))).to_have_count(0)
    assert_accessible(page)
