"""A cycle's rules edited in the rule builder, server side, on both databases: a condition
changed through the builder's fields is saved in the cycle and audited with the user; a
bad condition comes back beside it (422) with nothing stored; a cleared rule is removed;
a collector sees the rules with every control disabled (docs/web/reminders.md)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.models import UserRole
from tests.web.reminders_support import audits, cycle_config, make_shop, user
from tests.web.signin_support import sign_in

KEY = "/reminders/cycles/Key%20accounts"


class _Fields(HTMLParser):
    """The fields a browser posts with the cycle form (``#cycle-form``), as the page drew
    them; and whether each named field is disabled."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.disabled: dict[str, bool] = {}
        self._in_form = False
        self._fieldsets: list[bool] = []
        self._select: tuple[str, bool] | None = None
        self._textarea: str | None = None
        self._text = ""
        self._option_text: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "cycle-form"
        if not self._in_form:
            return
        off = any(self._fieldsets)
        name = a.get("name") or ""
        if tag == "fieldset":
            self._fieldsets.append("disabled" in a)
        elif tag == "input" and name:
            self.disabled[name] = off
            checkable = a.get("type") in ("checkbox", "radio")
            if not checkable or "checked" in a:
                self.fields.append((name, a.get("value") or ("on" if checkable else "")))
        elif tag == "select" and name:
            self.disabled[name] = off
            self._select = (name, "multiple" in a)
        elif tag == "option" and self._select and "selected" in a:
            value = a.get("value")
            self._text = ""
            if value is not None:
                self.fields.append((self._select[0], value))
            else:  # an option without a value posts its text
                self._option_text = self._select[0]
        elif tag == "textarea" and name:
            self.disabled[name] = off
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea or self._option_text:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "fieldset" and self._fieldsets and self._in_form:
            self._fieldsets.pop()
        elif tag == "option" and self._option_text:
            self.fields.append((self._option_text, html.unescape(self._text).strip()))
            self._option_text = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, html.unescape(self._text)))
            self._textarea = None


def cycle_form(page: str) -> _Fields:
    parsed = _Fields()
    parsed.feed(page)
    return parsed


def posted(fields: list[tuple[str, str]], **changes: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    out.update({k.replace("__", "."): [v] for k, v in changes.items()})
    return out


def listed(page: str, element_id: str) -> str:
    found = re.search(rf'<ul class="rb-problems" id="{element_id}">(.*?)</ul>', page, re.S)
    assert found, f"no problems listed at {element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_a_condition_changed_in_the_builder_is_saved_and_audited(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    admin = user(db_engine, shop)
    sign_in(web_client, admin)
    version, config = cycle_config(db_engine, shop, "Key accounts")
    assert config["customer"] == "outstanding > 10000 USD"
    form = cycle_form(web_client.get(KEY).text)
    drawn = dict(form.fields)
    assert drawn["customer.t.0.field"] == "outstanding"
    assert (drawn["customer.t.0.op"], drawn["customer.t.0.v.amount"]) == (">", "10000")
    assert drawn["customer.text"] == drawn["customer.synced"] == "outstanding > 10000 USD"
    data = posted(form.fields, customer__t__0__v__amount="25000", customer__t__0__op=">=")
    answer = web_client.post(KEY, data=data)
    assert answer.status_code == 303, answer.text
    saved_version, saved = cycle_config(db_engine, shop, "Key accounts")
    assert saved_version == version + 1
    assert saved["customer"] == "outstanding >= 25000 USD"
    assert (saved["invoice"], saved["reminders"]) == (config["invoice"], config["reminders"])
    assert f"user:{admin.email} (web)" in audits(db_engine, shop, "engagement.cycle_saved")
    again = dict(cycle_form(web_client.get(answer.headers["location"]).text).fields)
    assert again["customer.text"] == "outstanding >= 25000 USD"


def test_a_bad_condition_comes_back_beside_it_and_nothing_is_stored(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop))
    version, config = cycle_config(db_engine, shop, "Key accounts")
    before = audits(db_engine, shop, "engagement.cycle_saved")
    form = cycle_form(web_client.get(KEY).text)
    data = posted(form.fields, customer__t__0__v__amount="lots")
    answer = web_client.post(KEY, data=data)
    assert answer.status_code == 422
    assert "see beside its conditions" in answer.text
    assert "lots" in listed(answer.text, "customer-t-0-problems")
    shown = dict(cycle_form(answer.text).fields)
    assert shown["customer.t.0.v.amount"] == "lots"  # what the user typed stays
    assert shown["customer.text"] == "outstanding > 10000 USD"  # the last complete rule
    assert cycle_config(db_engine, shop, "Key accounts") == (version, config)
    assert audits(db_engine, shop, "engagement.cycle_saved") == before


def test_a_cleared_rule_is_removed_and_an_added_one_is_kept(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop))
    _, config = cycle_config(db_engine, shop, "Standard")
    assert "customer" not in config and "payment" not in config
    page = web_client.get("/reminders/cycles/Standard").text
    assert "No customer rule: every customer is in the cycle." in page
    form = cycle_form(page)
    data = posted(form.fields, invoice__text="", customer__text="country = DE")
    assert web_client.post("/reminders/cycles/Standard", data=data).status_code == 303
    _, saved = cycle_config(db_engine, shop, "Standard")
    assert "invoice" not in saved and "payment" not in saved
    assert saved["customer"] == "country = DE"


def test_a_collector_sees_the_rules_with_every_control_disabled(
    web_client: TestClient, db_engine: Engine
) -> None:
    shop = make_shop(db_engine, run=False)
    sign_in(web_client, user(db_engine, shop, UserRole.COLLECTOR))
    page = web_client.get(KEY).text
    form = cycle_form(page)
    assert dict(form.fields)["customer.text"] == "outstanding > 10000 USD"
    builder = [k for k in form.disabled if k.split(".")[0] in ("customer", "invoice", "payment")]
    assert builder and all(form.disabled[k] for k in builder)
    assert "Add a condition" in page  # drawn, and disabled with the fieldset
    assert "No customer rule" not in page
