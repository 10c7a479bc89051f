"""Settings in the browser: an admin invites a user (who follows the emailed link, sets a
password and signs in), creates an API key and sees it once, reads the audit log of their
own actions; a collector reads the organisation and users but may not manage them."""

from __future__ import annotations

import mailbox
import re

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live

NEW = "nina.invited@demo-merchant.example"
LINK = re.compile(r"https?://\S+/invitation/\S+")


def _invitation(live: Live, email: str) -> str:
    box = mailbox.Maildir(live.mail, create=False)
    links = [
        LINK.search(m.get_payload(decode=True).decode())  # type: ignore[union-attr]
        for m in box
        if m["To"] == email
    ]
    found = [m.group(0) for m in links if m is not None]
    assert len(found) == 1, found
    return found[0]


def test_an_admin_invites_a_user_who_sets_a_password_and_signs_in(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.ADMIN, "/settings/users")
    expect(page.get_by_role("table", name="Users of Demo Merchant")).to_be_visible()
    assert_accessible(page)
    form = page.get_by_role("region", name="Invite a user")
    form.get_by_label("Name", exact=True).fill("Nina Invited")
    form.get_by_label("Email", exact=True).fill(NEW)
    form.get_by_label("Role", exact=True).select_option("collector")
    form.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"An invitation was emailed to {NEW}")
    row = page.get_by_role("row").filter(has_text=NEW)
    expect(row).to_contain_text("invited")
    assert_accessible(page)
    shot(page, "settings-users")
    page.set_viewport_size({"width": 768, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # usable at 768 px
    page.set_viewport_size({"width": 1280, "height": 900})
    link = _invitation(live, NEW)
    page.get_by_role("button", name="Sign out").click()
    page.goto(link)
    page.get_by_label("New password").fill("a fresh long password")
    page.get_by_label("The same password again").fill("a fresh long password")
    page.get_by_role("button", name="Save the password and sign in").click()
    expect(page.get_by_text("Nina Invited")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live.url}/sign-in")
    page.get_by_label("Organisation").fill("demo")
    page.get_by_label("Email", exact=True).fill(NEW)
    page.get_by_label("Password", exact=True).fill("a fresh long password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Nina Invited")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_admin_creates_a_key_sees_it_once_and_reads_their_audit_log(
    page: Page, live: Live
) -> None:
    admin = live.email(UserRole.ADMIN)
    sign_in(page, live, UserRole.ADMIN, "/settings/keys")
    page.get_by_label("Name", exact=True).fill("browser sync")
    page.get_by_role("button", name="Create the key").click()
    secret = page.get_by_label("The key")
    expect(secret).to_have_value(re.compile(r"\S{20,}"))
    key = secret.input_value()
    assert_accessible(page)
    shot(page, "settings-keys")
    page.goto(f"{live.url}/settings/keys")
    expect(page.get_by_role("cell", name="browser sync").first).to_be_visible()
    assert key not in page.content()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log").click()
    page.get_by_role("link", name="Only my actions").click()
    expect(page).to_have_url(re.compile(r"actor="))
    table = page.get_by_role("table", name="Audit events, newest first")
    expect(table.get_by_role("cell", name="api_key.created").first).to_be_visible()
    for actor in table.locator("tbody tr td:nth-child(2)").all_inner_texts():
        assert admin in actor
    assert_accessible(page)
    shot(page, "settings-audit")
    page.get_by_label("Action").fill("api_key.created")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=api_key.created"))
    for action in table.locator("tbody tr td:nth-child(3)").all_inner_texts():
        assert action == "api_key.created"
    assert_accessible(page)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("https://93.184.215.14/arpolicy")
    page.get_by_label("every event").uncheck()
    page.get_by_label("customer.created").check()
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
    page.get_by_role("button", name="Send a test event").first.click()
    expect(page.get_by_role("table", name="Deliveries, newest first")).to_contain_text(
        "webhook.test"
    )
    assert_accessible(page)
    shot(page, "settings-webhooks")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Mail").click()
    page.get_by_role("button", name=re.compile("Send a test email to me")).click()
    expect(page.get_by_role("status")).to_contain_text("A test email was handed")
    assert_accessible(page)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Organisation").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Demo Merchant")
    assert_accessible(page)
    shot(page, "settings-tenant")


def test_a_collector_reads_settings_and_may_not_manage_users(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.COLLECTOR, "/settings")
    expect(page.get_by_role("heading", name="Organisation")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Save the settings")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Settings")
    expect(tabs.get_by_role("link", name="Webhooks")).to_have_count(0)
    expect(tabs.get_by_role("link", name="Audit log")).to_have_count(0)
    assert_accessible(page)
    tabs.get_by_role("link", name="Users").click()
    expect(page.get_by_role("table", name="Users of Demo Merchant")).to_be_visible()
    expect(page.get_by_role("button", name="Invite")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Deactivate"))).to_have_count(0)
    assert_accessible(page)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(
        f"{live.url}/settings/users",
        form={"csrf_token": token or "", "name": "X", "email": "x@example.com", "role": "admin"},
    )
    assert refused.status == 403
    response = page.goto(f"{live.url}/settings/webhooks")
    assert response is not None and response.status == 403
