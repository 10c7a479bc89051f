"""The reminders screen's cycles and sending settings, server side, on both databases:
who may change them, CSRF, bad input beside its field with nothing stored, the audit
trail with the user, another tenant's cycle (docs/web/reminders.md)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.models import UserRole
from tests.web.reminders_support import audits, cycle_config, make_shop, user
from tests.web.signin_support import sign_in

STANDARD = "/reminders/cycles/Standard"


def as_text(level: str, text: str | None) -> dict[str, str]:
    """A rule's builder fields as typed in its text (the text differs from what the server
    printed, so the builder reads it)."""
    return {f"{level}.level": level, f"{level}.text": text or "", f"{level}.synced": ""}


def _form(config: dict, **changes: str) -> dict[str, object]:  # type: ignore[type-arg]
    """The cycle form as the page fills it from ``config``, with ``changes`` (a rule's
    change: its text)."""
    window = config["send_window"]
    data: dict[str, object] = {
        "status": config["status"],
        "priority": str(config["priority"]),
        "description": config.get("description", ""),
        "window_start": window["start"][:5],
        "window_end": window["end"][:5],
        "window_days": window["days"],
        "merge": "on",
    }
    for level in ("customer", "invoice", "payment"):
        data.update(as_text(level, changes.pop(level, config.get(level))))
    data.update(changes)
    return data


def beside(page: str, field: str) -> str:
    """The error shown beside the field ``field`` (its ``e-<field>`` element)."""
    found = re.search(rf'id="e-{field}" class="error">([^<]*)<', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def listed(page: str, element_id: str) -> str:
    """The text of the list of problems with id ``element_id`` (the builder's, in place)."""
    found = re.search(rf'<ul class="rb-problems" id="{element_id}">(.*?)</ul>', page, re.S)
    assert found, f"no problems listed at {element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_an_admin_changes_a_rule_and_the_change_is_versioned_and_audited(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    admin = user(db_engine, shop)
    token = sign_in(web_client, admin)
    version, config = cycle_config(db_engine, shop, "Standard")
    page = web_client.get(STANDARD)
    assert page.status_code == 200
    assert "Save the cycle" in page.text and config["invoice"] in page.text
    rule = "not disputed and document_type includes (invoice) and days_past_due > -10"
    answer = web_client.post(STANDARD, data=_form(config, invoice=rule, csrf_token=token))
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{STANDARD}?saved={version + 1}"
    saved_version, saved = cycle_config(db_engine, shop, "Standard")
    assert (saved_version, saved["invoice"]) == (version + 1, rule)
    assert saved["reminders"] == config["reminders"]  # the YAML-only parts are kept
    assert f"user:{admin.email} (web)" in audits(db_engine, shop, "engagement.cycle_saved")
    assert f"version {version + 1}" in web_client.get(answer.headers["location"]).text


def test_a_bad_rule_comes_back_beside_its_field_and_nothing_is_stored(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Standard")
    before = audits(db_engine, shop, "engagement.cycle_saved")
    typed = "outstanding > 1000 USD and no_such_field = 3"
    answer = web_client.post(STANDARD, data=_form(config, customer=typed, csrf_token=token))
    assert answer.status_code == 422
    assert "problems" in beside(answer.text, "customer")
    assert "unknown field 'no_such_field'" in listed(answer.text, "rb-customer-text-problems")
    assert typed in html.unescape(answer.text)  # what the user typed stays in the field
    assert cycle_config(db_engine, shop, "Standard") == (version, config)
    assert audits(db_engine, shop, "engagement.cycle_saved") == before


def test_an_empty_send_window_and_a_negative_priority_are_shown_beside_them(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Standard")
    data = _form(config, window_start="18:00", window_end="09:00", csrf_token=token)
    answer = web_client.post(STANDARD, data=data)
    assert answer.status_code == 422
    assert "18:00-09:00 is empty" in beside(answer.text, "send_window")
    negative = web_client.post(STANDARD, data=_form(config, priority="-4", csrf_token=token))
    assert negative.status_code == 422
    assert "greater than or equal to 0" in beside(negative.text, "priority")
    assert cycle_config(db_engine, shop, "Standard")[0] == version


def test_test_mode_needs_the_test_address(web_client: TestClient, db_engine: Engine) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    settings = web_client.get("/reminders").text
    assert "ar-test@demo.example" in settings
    cleared = {
        "csrf_token": token,
        "daily_cap": "2000",
        "quiet_days": "3",
        "reply_pause_days": "7",
        "manual_pause_days": "5",
        "from_address": "ar@demo.example",
        "test_address": "",
        "default_language": "en",
    }
    assert web_client.post("/reminders/settings", data=cleared).status_code == 303
    _, config = cycle_config(db_engine, shop, "Key accounts")
    url = "/reminders/cycles/Key%20accounts"
    answer = web_client.post(url, data=_form(config, status="test", csrf_token=token))
    assert answer.status_code == 422
    assert "test address" in beside(answer.text, "status")
    assert cycle_config(db_engine, shop, "Key accounts")[1]["status"] == "draft"


def test_bad_yaml_is_shown_beside_the_editor_and_good_yaml_is_saved(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Standard")
    url = f"{STANDARD}/yaml"
    broken = web_client.post(url, data={"csrf_token": token, "yaml": "name: Standard\n  x: [\n"})
    assert broken.status_code == 422 and "not valid YAML" in beside(broken.text, "yaml")
    wrong = "name: Standard\nreminders:\n  - name: a\n    template: nosuch\n"
    invalid = web_client.post(url, data={"csrf_token": token, "yaml": wrong})
    assert invalid.status_code == 422 and "nosuch" in beside(invalid.text, "yaml")
    renamed = web_client.post(url, data={"csrf_token": token, "yaml": "name: Other\n"})
    assert renamed.status_code == 422 and "Other" in beside(renamed.text, "yaml")
    assert cycle_config(db_engine, shop, "Standard") == (version, config)
    shown = web_client.get(STANDARD).text.split('name="yaml"', 1)[1]
    text = shown.split(">", 1)[1].split("</textarea>", 1)[0]
    text = html.unescape(text).replace("priority: 10", "priority: 12")
    assert web_client.post(url, data={"csrf_token": token, "yaml": text}).status_code == 303
    assert cycle_config(db_engine, shop, "Standard")[1]["priority"] == 12


def test_a_collector_sees_cycles_but_cannot_change_them(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop, UserRole.COLLECTOR))
    version, config = cycle_config(db_engine, shop, "Standard")
    page = web_client.get(STANDARD)
    assert page.status_code == 200
    assert "Save the cycle" not in page.text and "Save the YAML" not in page.text
    assert "Save the settings" not in web_client.get("/reminders").text
    assert web_client.get("/reminders/new").status_code == 403
    changed = _form(config, invoice="not disputed", csrf_token=token)
    assert web_client.post(STANDARD, data=changed).status_code == 403
    yaml_post = {"csrf_token": token, "yaml": "name: Standard\n"}
    assert web_client.post(f"{STANDARD}/yaml", data=yaml_post).status_code == 403
    settings = {"csrf_token": token, "daily_cap": "1", "quiet_days": "1"}
    assert web_client.post("/reminders/settings", data=settings).status_code == 403
    assert cycle_config(db_engine, shop, "Standard") == (version, config)
    assert audits(db_engine, shop, "engagement.settings_saved") == ["system:demo"]


def test_without_the_form_token_nothing_is_stored(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Standard")
    assert web_client.post(STANDARD, data=_form(config, invoice="paid")).status_code == 403
    stale = _form(config, invoice="paid", csrf_token="stale")
    assert web_client.post(STANDARD, data=stale).status_code == 403
    assert web_client.post("/reminders/settings", data={"daily_cap": "1"}).status_code == 403
    assert web_client.post("/reminders/new", data={"yaml": "name: X\n"}).status_code == 403
    assert cycle_config(db_engine, shop, "Standard") == (version, config)


def test_settings_bad_input_and_saving(web_client: TestClient, db_engine: Engine) -> None:
    shop = make_shop(db_engine, run=False)
    admin = user(db_engine, shop)
    token = sign_in(web_client, admin)
    data = {
        "csrf_token": token,
        "daily_cap": "-1",
        "quiet_days": "3",
        "reply_pause_days": "7",
        "manual_pause_days": "5",
        "from_address": "not an address",
        "test_address": "ar-test@demo.example",
        "default_language": "en",
    }
    bad = web_client.post("/reminders/settings", data=data)
    assert bad.status_code == 422
    assert beside(bad.text, "daily_cap") and "not an address" in beside(bad.text, "from_address")
    assert audits(db_engine, shop, "engagement.settings_saved") == ["system:demo"]
    data |= {"daily_cap": "150", "from_address": "ar@shop.example"}
    assert web_client.post("/reminders/settings", data=data).status_code == 303
    assert 'value="150"' in web_client.get("/reminders?saved=settings").text
    actors = audits(db_engine, shop, "engagement.settings_saved")
    assert actors == ["system:demo", f"user:{admin.email} (web)"]


def test_a_new_cycle_from_yaml(web_client: TestClient, db_engine: Engine) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    text = web_client.get("/reminders/new").text
    assert "name: New cycle" in text
    yaml_text = "name: Late payers\nreminders:\n  - name: nudge\n    template: firm\n"
    made = web_client.post("/reminders/new", data={"csrf_token": token, "yaml": yaml_text})
    assert made.status_code == 303
    assert made.headers["location"] == "/reminders/cycles/Late%20payers?saved=1"
    assert cycle_config(db_engine, shop, "Late payers")[1]["status"] == "draft"
    again = web_client.post("/reminders/new", data={"csrf_token": token, "yaml": yaml_text})
    assert again.status_code == 422 and "exists" in beside(again.text, "yaml")


def test_another_tenants_cycle_and_an_unknown_one_are_not_found(
    web_client: TestClient, db_engine: Engine
) -> None:
    mine, theirs = make_shop(db_engine, run=False), make_shop(db_engine, run=False)
    other = user(db_engine, theirs)
    sign_in(web_client, other)
    token = sign_in(web_client, other)
    yaml_text = "name: Theirs only\nreminders:\n  - name: nudge\n    template: firm\n"
    assert (
        web_client.post("/reminders/new", data={"csrf_token": token, "yaml": yaml_text}).status_code
        == 303
    )
    sign_in(web_client, user(db_engine, mine))
    assert web_client.get("/reminders/cycles/Theirs%20only").status_code == 404
    assert web_client.get("/reminders/cycles/Nope").status_code == 404


def test_a_rule_unknown_for_most_customers_is_saved_with_advice(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    token = sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Standard")
    unknown = "not (last_attempt_status = failure)"
    answer = web_client.post(STANDARD, data=_form(config, payment=unknown, csrf_token=token))
    assert answer.status_code == 200
    assert f"The cycle is saved (version {version + 1}), with advice" in answer.text
    assert "the payment rule is unknown for" in html.unescape(answer.text)
    # stored as the builder prints it (its canonical text)
    assert (
        cycle_config(db_engine, shop, "Standard")[1]["payment"]
        == "not last_attempt_status = failure"
    )
