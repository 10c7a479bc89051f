"""Both ways: a rule opened in the builder, its drawn fields posted back as they stand,
is the same rule (for every kind of condition and value input the builder draws)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.web.rules_support import make_ledger

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = {
    "invoice": [
        "balance > 500 USD",
        "balance between 100 EUR and 2000.50 EUR",
        "amount >= 0",
        "days_past_due between 30 and 60",
        "due_date < 30 days ago and not disputed",
        "due_date >= in 5 business days",
        "document_date <= start of previous month",
        "document_date = 2026-10-01",
        "p2p_date in the next 7 days",
        "document_date in previous month",
        "document_type includes (invoice, debit_note)",
        "currency excludes (USD, EUR)",
        "paid is no",
        "posting_date is empty or p2p_date is not empty",
        "customer.country = DE and (balance > 10 USD or not (disputed and paid))",
        "customer.segment = Enterprise",
    ],
    "customer": ["cf.tier includes (gold) and outstanding > 1000 USD", "cf.tier is empty"],
    "payment": ["last_attempt_status includes (failure, timeout) and auto_collection"],
}


class Fields(HTMLParser):
    """The values a browser would post from the builder's form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name") and (a.get("type") != "checkbox" or "checked" in a):
            self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value") or "\0text"))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data
        if self.values and self.values[-1][1] == "\0text":
            self.values[-1] = (self.values[-1][0], data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.values.append((self._textarea, self._text))
            self._textarea = None


def posted(html: str) -> list[tuple[str, str]]:
    parser = Fields()
    parser.feed(html[html.index('<div class="rb"') :])
    return parser.values


@pytest.mark.parametrize("level", sorted(RULES))
def test_a_rule_drawn_and_posted_back_is_the_same_rule(web_client, level):
    led = make_ledger(web_client)
    headers = {"X-CSRF-Token": led.csrf, "HX-Request": "true"}
    for text in RULES[level]:
        page = web_client.get("/rules", params={"level": level, "rule": text})
        assert page.status_code == 200 and "rb-problems" not in page.text, (text, page.text)
        fields: dict[str, list[str]] = {"rb_prefix": ["rule"]}
        for name, value in posted(page.text):
            fields.setdefault(name, []).append(value)
        back = web_client.post("/rules/builder", data=fields, headers=headers)
        canonical = web_client.post(
            "/v1/rules/validate",
            headers=led.who.caller.headers,
            json={"rule": text, "level": level},
        ).json()["text"]
        shown = back.text[back.text.index('name="rule.text"') :]
        shown = shown[shown.index(">") + 1 : shown.index("</textarea>")]
        assert "rb-problems" not in back.text, (text, back.text)
        assert shown.replace("&gt;", ">").replace("&lt;", "<") == canonical, text
