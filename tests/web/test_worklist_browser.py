"""My worklist in the browser (Chromium through Playwright), as a collector works it in
the morning: the items of their customers, most owed first; one marked done, one snoozed
(after a wrong day, whose message shows beside the field), in place without a reload.

The live demo database is shared by the browser tests: this one adds its own dispute and
task to a customer of the collector and acts only on those."""

from __future__ import annotations

import uuid
from datetime import date

from playwright.sync_api import Page, expect
from sqlalchemy import select

from arpolicy.kit.db import transaction
from arpolicy.models import Customer, EngagementTask, Tenant, User, UserRole
from arpolicy.tenancy.rls import scope_tenant, tenant_of_slug
from tests.fixtures.factories import create_dispute
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import LIVE_SLUG, Live

TODAY = "2026-11-23"


def _items_for_the_collector(live: Live) -> tuple[str, str]:
    """A dispute and a task of the collector's first customer; their row keys."""
    with transaction(live.engine) as s:
        tenant_id = tenant_of_slug(s, LIVE_SLUG)
        assert tenant_id is not None
        scope_tenant(s, tenant_id)
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        me = s.scalar(
            select(User).where(
                User.tenant_id == tenant_id, User.email == live.email(UserRole.COLLECTOR)
            )
        )
        assert me is not None
        customer = s.scalar(
            select(Customer)
            .where(Customer.tenant_id == tenant_id, Customer.finance_owner_id == me.id)
            .order_by(Customer.id)
            .limit(1)
        )
        assert customer is not None
        dispute = create_dispute(s, tenant, customer, "75.00", opened_on=date(2026, 11, 20))
        dispute.reason = "Browser walk: wrong quantity"
        task = EngagementTask(
            tenant_id=tenant_id,
            customer_id=customer.id,
            user_id=me.id,
            key=f"browser:{uuid.uuid4().hex}",
            kind="no_address",
            detail="Browser walk: find a billing address",
            due_on=date.fromisoformat(TODAY),
        )
        s.add(task)
        s.flush()
        return f"dispute-{dispute.id}", f"task-{task.id}"


def test_a_collector_works_the_list_in_place(page: Page, live: Live) -> None:
    dispute, task = _items_for_the_collector(live)
    sign_in(page, live, UserRole.COLLECTOR, "/worklist")
    expect(page.get_by_role("heading", name="My worklist")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.locator(f"#item-{dispute}")).to_contain_text("Browser walk: wrong quantity")
    expect(table.locator(f"#item-{task}")).to_contain_text("Browser walk: find a billing address")
    owed = table.locator("tbody tr td.num:nth-of-type(3)").all_inner_texts()
    assert owed, "the worklist has items"
    assert_accessible(page)
    shot(page, "worklist")
    page.set_viewport_size({"width": 768, "height": 1000})
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 768, f"the page is {wide} px wide at 768"

    row = page.locator(f"#item-{task}")
    row.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    expect(page.locator(f"#item-{task}")).to_have_count(0)

    row = page.locator(f"#item-{dispute}")
    row.locator("summary").click()
    row.get_by_label("Snooze until").fill(TODAY)  # today: not a later day
    row.get_by_role("button", name="Snooze").click()
    error = page.locator(f"#e-until-{dispute}")
    expect(error).to_contain_text("snooze until a day after today")
    expect(page.locator(f"#until-{dispute}")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.locator(f"#until-{dispute}").fill("2026-11-30")
    page.locator(f"#item-{dispute}").get_by_role("button", name="Snooze").click()
    expect(page.get_by_role("status").filter(has_text="Snoozed until 2026-11-30")).to_be_visible()

    page.get_by_role("link", name="Disputes").click()
    expect(page).to_have_url(f"{live.url}/worklist?kind=dispute")
    expect(page.locator(f"#item-{dispute}")).to_have_count(0)
    assert_accessible(page)


def test_a_viewer_sees_the_list_without_buttons(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.SALES, "/worklist")
    expect(page.get_by_role("heading", name="My worklist")).to_be_visible()
    expect(page.get_by_role("button", name="Done")).to_have_count(0)
    assert_accessible(page)
