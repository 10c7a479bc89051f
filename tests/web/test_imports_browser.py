"""The Imports screen in the browser: a collector uploads a file with a bad row, sees every
rejected row, imports none, fixes the file and imports it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live

HEADER = "external_id,name,currency,cf.tier\n"  # the demo tenant requires its custom field
BAD = (
    HEADER
    + "WEB-IMP-1,Imported One,USD,SMB\n"
    + "WEB-IMP-2,,EUR,SMB\n"
    + "WEB-IMP-3,Imported Three,usd,SMB\n"
).encode()
FIXED = (
    HEADER
    + "WEB-IMP-1,Imported One,USD,SMB\n"
    + "WEB-IMP-2,Imported Two,EUR,SMB\n"
    + "WEB-IMP-3,Imported Three,USD,SMB\n"
).encode()


def _upload(page: Page, content: bytes) -> None:
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Upload and import").click()


def test_a_collector_imports_none_then_fixes_the_file_and_imports_it(
    page: Page, live: Live
) -> None:
    sign_in(page, live, UserRole.COLLECTOR, "/imports")
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    assert_accessible(page)
    _upload(page, BAD)
    expect(page.get_by_role("alert")).to_contain_text("2 of 3 rows are bad")
    table = page.get_by_role("table", name="Rejected rows")
    expect(table.get_by_role("row")).to_have_count(3)  # header + two bad rows
    expect(table.get_by_role("row").nth(1)).to_contain_text("3")
    expect(table).to_contain_text("currency")
    expect(table).to_contain_text("usd")
    expect(table).to_contain_text("name")
    expect(page.get_by_role("button", name="Import the good row")).to_be_visible()
    assert_accessible(page)
    shot(page, "imports")
    page.set_viewport_size({"width": 768, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # usable at 768 px
    page.get_by_role("button", name="Import none").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing from customers.csv was imported")
    page.goto(f"{live.url}/imports")
    _upload(page, FIXED)
    expect(page.get_by_role("status")).to_contain_text("Imported 3 of 3 rows: 3 new, 0 updated")
    expect(page.get_by_role("table", name="Rejected rows")).to_have_count(0)
    assert_accessible(page)


def test_a_viewer_has_no_imports(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.SALES, "/dashboard")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Imports")).to_have_count(0)
    response = page.goto(f"{live.url}/imports")
    assert response is not None and response.status == 403
