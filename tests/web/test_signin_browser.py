"""Signing in and out in the browser (Chromium through Playwright)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live


def test_the_sign_in_page_is_accessible_and_signs_a_collector_in_and_out(
    page: Page, live: Live
) -> None:
    page.goto(f"{live.url}/dashboard")
    expect(page).to_have_url(f"{live.url}/sign-in?next=%2Fdashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    shot(page, "sign-in")
    sign_in(page, live, UserRole.COLLECTOR, "/dashboard")
    expect(page).to_have_url(f"{live.url}/dashboard")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Customers")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()  # users:read
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live.url}/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_shows_the_message_and_keeps_the_email(page: Page, live: Live) -> None:
    page.goto(f"{live.url}/sign-in")
    page.get_by_label("Email", exact=True).fill(live.email(UserRole.SALES))
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("is not right")
    expect(page.get_by_label("Email", exact=True)).to_have_value(live.email(UserRole.SALES))
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert_accessible(page)
