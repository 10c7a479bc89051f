"""Helpers of the browser tests: sign in as a role, check a screen's accessibility with
axe-core, save its screenshot for docs/screenshots (``make screenshots``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from arpolicy.models import UserRole
from tests.web.conftest import PASSWORD, SCREENSHOTS, Live

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SHOTS = ROOT / "docs" / "screenshots"
BLOCKING = {"serious", "critical"}


def sign_in(page: Page, live: Live, role: UserRole, next_path: str = "/") -> None:
    """Sign in through the form as the demo user of ``role``."""
    page.goto(f"{live.url}/sign-in?next={next_path}")
    page.get_by_label("Organisation").fill("demo")
    page.get_by_label("Email", exact=True).fill(live.email(role))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in BLOCKING]


def assert_accessible(page: Page) -> None:
    bad = violations(page)
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in bad
    ]
    assert not bad, "accessibility violations:\n" + "\n".join(report)


def shot(page: Page, name: str) -> None:
    """Save the page as docs/screenshots/<name>.png when ARPOLICY_SCREENSHOTS is set."""
    if SCREENSHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
