"""The rule builder in the browser: an admin builds a rule, both ways, sees its problems in
place, the count, the first matches and one match explained."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live


def test_an_admin_builds_a_rule_and_previews_it(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.ADMIN, "/rules")
    expect(page.get_by_role("heading", name="Rules")).to_be_visible()
    builder = page.locator("#rb-rule")
    builder.get_by_label("Field", exact=True).select_option("balance")
    expect(builder.get_by_label("Operator")).to_have_value(">")
    builder.get_by_label("Value amount").fill("100")
    builder.get_by_label("Value amount").press("Tab")
    text = builder.get_by_label("Rule as text")
    expect(text).to_have_value("balance > 100 USD")
    expect(builder.locator(".rb-count")).to_be_visible()
    assert_accessible(page)

    builder.get_by_role("button", name="Add a condition").click()
    expect(builder.get_by_text("expected a field name")).to_be_visible()
    assert_accessible(page)
    second = builder.locator(".rb-leaf").nth(1)
    second.get_by_label("Field", exact=True).select_option("due_date")
    second.get_by_label("Value: days").fill("30")
    second.get_by_label("Value: days").press("Tab")
    expect(text).to_have_value("balance > 100 USD and due_date < 30 days ago")

    text.fill("balance > 100 USD and not disputd")
    expect(page.locator("#rb-rule-text-problems")).to_contain_text("line 1, column 27")
    expect(page.locator("#rule-t-1-0-problems")).to_contain_text("did you mean disputed?")
    assert_accessible(page)
    text.fill("balance > 100 USD and not disputed")
    expect(builder.locator('select[name="rule.t.1.kind"]')).to_have_count(0)
    expect(builder.locator('input[name="rule.t.1.kind"]')).to_have_value("not")
    expect(builder.locator(".rb-count")).to_be_visible()
    builder.get_by_role("button", name="Explain").first.click()
    expect(builder.locator(".rb-explanation")).to_contain_text("yes")
    assert_accessible(page)
    shot(page, "rule-builder")


def test_a_sales_user_may_try_rules(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.SALES, "/rules")
    page.locator("#rb-rule").get_by_label("Rule as text").fill("customer.country = DE")
    expect(page.locator("#rb-rule").get_by_label("Field", exact=True)).to_have_value(
        "customer.country"
    )
