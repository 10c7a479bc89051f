"""The dashboard in the browser (Chromium through Playwright), as a collector opens it
every morning: the figures, the ageing chart with its table, the DSO trend, the most
overdue customers and their own, how current the figures are and "Refresh now";
accessible, and usable 768 px wide."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.browser import assert_accessible, shot, sign_in
from tests.web.conftest import Live


def test_a_collector_reads_the_dashboard_and_follows_a_figure(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.COLLECTOR, "/dashboard")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    figures = page.locator(".figures").first
    for label in ("Outstanding", "Overdue", "Net overdue", "DSO"):
        expect(figures.get_by_role("link", name=re.compile(f" {label}$"))).to_be_visible()
    ageing = page.get_by_role("table", name="Open debits by days past due")
    labels = ageing.get_by_role("rowheader").all_inner_texts()
    assert labels[0] == "current" and labels[-1].startswith("over ") and len(labels) >= 3
    expect(ageing.get_by_role("link", name=labels[1])).to_have_attribute(
        "href", f"/customers?bucket={labels[1]}"
    )
    # the charts are drawn from the server's numbers (Chart.js sizes the canvas)
    page.wait_for_function("() => window.Chart && Chart.getChart('ageing-chart')")
    drawn = page.evaluate("() => Chart.getChart('dso-chart').data.labels.length")
    assert drawn == 12
    expect(page.get_by_role("table", name="DSO at each month end")).to_be_attached()
    top = page.get_by_role("heading", name="Most overdue customers")
    expect(top).to_be_visible()
    first = page.locator("section[aria-labelledby='h-top'] tbody tr").first
    expect(first.get_by_role("link")).to_have_attribute("href", re.compile(r"^/customers/\d+$"))
    mine = page.get_by_role("link", name="customers", exact=False).filter(has_text="customers")
    expect(mine.first).to_be_visible()
    assert_accessible(page)
    shot(page, "dashboard")
    page.set_viewport_size({"width": 768, "height": 1000})
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 768, f"the page is {wide} px wide at 768"
    assert_accessible(page)


def test_the_figures_say_when_they_were_computed_and_refresh_now(page: Page, live: Live) -> None:
    sign_in(page, live, UserRole.FINANCE_MANAGER, "/dashboard")
    as_of = page.locator("#figures-as-of")
    expect(as_of).to_contain_text("Figures as of")
    expect(as_of.locator("time")).to_have_attribute("datetime", re.compile(r"^2026-11-23T"))
    page.get_by_role("button", name="Refresh now").click()
    expect(page).to_have_url(re.compile(r"/dashboard\?refreshed=1$"))
    expect(page.get_by_role("status")).to_have_text("The figures were recomputed.")
    expect(page.get_by_role("heading", name="Ageing")).to_be_visible()
    assert_accessible(page)
