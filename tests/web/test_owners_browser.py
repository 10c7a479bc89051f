"""The owners screen in the browser: an admin builds a rule in the rule builder, previews
it, saves it in the sales policy, dry-runs it and switches the policy off again as YAML
(the live demo database is shared: no real run, and no active policy left behind); a
sales user sees the policy and cannot change it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live


def test_an_admin_saves_a_rule_in_the_sales_policy_and_dry_runs_it(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.ADMIN, "/owners?role=sales")
    expect(page.get_by_role("heading", name="Owners", exact=True)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Add a rule").click()
    expect(page.get_by_role("heading", name="A new rule in the sales policy")).to_be_visible()
    page.get_by_label("Rule name").fill("DACH accounts")
    builder = page.locator("#rb-when")
    builder.get_by_label("Rule as text").fill("country includes (DE, AT, CH) and outstanding > 0")
    expect(builder.get_by_label("Field", exact=True).first).to_have_value("country")
    expect(builder.get_by_label("Values (separated by commas)")).to_have_value("DE, AT, CH")
    expect(builder.locator(".rb-count")).to_be_visible()
    builder.get_by_role("button", name="Explain").first.click()
    expect(builder.locator(".rb-explanation")).to_contain_text("country")
    assert_accessible(page)

    page.get_by_label("Strategy").select_option("fixed")
    page.get_by_label("Users (e-mails").fill("nobody@nowhere.example")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#e-users")).to_contain_text("no user nobody@nowhere.example")
    expect(builder.get_by_label("Rule as text")).to_have_value(
        "country includes (DE, AT, CH) and outstanding > 0"
    )
    assert_accessible(page)
    page.get_by_label("Users (e-mails").fill(live.email(UserRole.SALES))
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_role("status")).to_contain_text("the sales policy is now version")
    rules = page.get_by_role("table", name="Rules of the sales policy, in order")
    expect(rules).to_contain_text("DACH accounts")
    expect(rules).to_contain_text("country includes (DE, AT, CH) and outstanding > 0")
    page.get_by_role("button", name="Dry run").click()
    changes = page.locator("#changes")
    expect(changes).to_contain_text("Dry run of the sales policy")
    expect(changes.get_by_role("table", name="Changes")).to_contain_text("DACH accounts")
    assert_accessible(page)
    shot(page, "owners")

    page.get_by_role("button", name="Edit as YAML").click()
    expect(page.get_by_label("Policy", exact=True)).to_contain_text("DACH accounts")
    page.get_by_label("Assign customers automatically with this policy").uncheck()
    page.get_by_label("Comment (kept with the version)").fill("tried in the browser test")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("switched off")).to_be_visible()


def test_a_sales_user_sees_the_policy_but_cannot_change_it(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.SALES, "/owners")
    expect(page.get_by_role("heading", name="Owners", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Add a rule")).to_have_count(0)
    expect(page.get_by_role("button", name="Dry run")).to_have_count(0)
    assert_accessible(page)
    page.goto(f"{live.url}/owners/finance/rules/new")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
