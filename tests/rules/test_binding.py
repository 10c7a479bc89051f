"""Binding: relative dates become constants once, for an evaluation date, and are recorded."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.rules import Calendar, bind, parse, to_json, to_text
from arpolicy.rules.ast import Between, Compare, DateLit, RelativeDate, walk


def resolved(text: str, as_of: date, **kw) -> dict[str, str]:
    bound = bind(parse(text), as_of, **kw)
    return {r.phrase: r.to_json().get("date") or f"{r.start}..{r.end}" for r in bound.resolutions}


def test_relative_dates():
    as_of = date(2026, 11, 23)
    assert resolved(
        "a < today and a < 30 days ago and a < in 7 days and a < start of month"
        " and a < end of month and a < start of previous month and a < end of previous month"
        " and a < start of next month and a < end of next month and a < start of current month",
        as_of,
    ) == {
        "today": "2026-11-23",
        "30 days ago": "2026-10-24",
        "in 7 days": "2026-11-30",
        "start of month": "2026-11-01",
        "end of month": "2026-11-30",
        "start of previous month": "2026-10-01",
        "end of previous month": "2026-10-31",
        "start of next month": "2026-12-01",
        "end of next month": "2026-12-31",
    }


def test_ranges():
    assert resolved(
        "a in the last 15 days and a in the next 7 days and a in current month"
        " and a in previous month and a in next month",
        date(2026, 3, 10),
    ) == {
        "in the last 15 days": "2026-02-23..2026-03-10",
        "in the next 7 days": "2026-03-10..2026-03-17",
        "in current month": "2026-03-01..2026-03-31",
        "in previous month": "2026-02-01..2026-02-28",
        "in next month": "2026-04-01..2026-04-30",
    }


def test_months_across_a_year_and_a_leap_day():
    assert resolved("a in previous month and a < end of month", date(2028, 1, 31)) == {
        "in previous month": "2027-12-01..2027-12-31",
        "end of month": "2028-01-31",
    }
    assert resolved("a < end of month", date(2028, 2, 3)) == {"end of month": "2028-02-29"}
    assert resolved("a < end of next month and a in next month", date(2027, 12, 31)) == {
        "end of next month": "2028-01-31",
        "in next month": "2028-01-01..2028-01-31",
    }
    assert resolved("a < end of next month", date(2028, 1, 31)) == {
        "end of next month": "2028-02-29"
    }


def test_business_days_skip_weekends():
    monday = date(2026, 11, 23)
    assert resolved("a < 1 business day ago and a < in 5 business days", monday) == {
        "1 business day ago": "2026-11-20",
        "in 5 business days": "2026-11-30",
    }
    sunday = date(2026, 11, 22)
    assert resolved("a < 1 business day ago and a < in 1 business day", sunday) == {
        "1 business day ago": "2026-11-20",
        "in 1 business day": "2026-11-23",
    }


def test_business_days_skip_holidays_across_a_weekend():
    # Christmas 2026: Friday 25 and Saturday 26 are holidays in Germany; Monday 28 is not.
    as_of = date(2026, 12, 29)
    text = "a < 3 business days ago and a in the last 3 business days"
    assert resolved(text, as_of) == {
        "3 business days ago": "2026-12-24",
        "in the last 3 business days": "2026-12-24..2026-12-29",
    }
    assert resolved(text, as_of, holidays_country="DE") == {
        "3 business days ago": "2026-12-23",
        "in the last 3 business days": "2026-12-23..2026-12-29",
    }
    # Reformation Day (31 October) is a holiday in Brandenburg, not in Berlin.
    monday = date(2025, 11, 3)  # Friday 31 October came before it
    assert resolved("a < 1 business day ago", monday, holidays_country="DE") == {
        "1 business day ago": "2025-10-31"
    }
    assert bind(
        parse("a < 1 business day ago"), monday, holidays_country="DE", holidays_subdiv="BB"
    ).resolutions[0].start == date(2025, 10, 30)


def test_the_bound_tree_holds_only_constants_and_keeps_the_phrases():
    rule = parse("a < 30 days ago and b in the last 2 days")
    bound = bind(rule, date(2026, 11, 23))
    assert not any(isinstance(n, RelativeDate) for _, n in walk(bound.rule))
    assert bound.rule.items == (  # type: ignore[union-attr]
        Compare("a", "<", DateLit(date(2026, 10, 24), "30 days ago")),
        Between(
            "b",
            DateLit(date(2026, 11, 21), "in the last 2 days"),
            DateLit(date(2026, 11, 23), "in the last 2 days"),
        ),
    )
    assert to_text(bound.rule) == "a < 2026-10-24 and b between 2026-11-21 and 2026-11-23"
    assert bound.to_json() == {
        "as_of": "2026-11-23",
        "tz": "UTC",
        "holidays_country": None,
        "resolved": [
            {"phrase": "30 days ago", "date": "2026-10-24"},
            {"phrase": "in the last 2 days", "from": "2026-11-21", "to": "2026-11-23"},
        ],
        "rule": to_json(bound.rule),
    }


def test_the_same_rule_bound_twice_is_equal_and_binding_does_not_change_the_rule():
    rule = parse("a < 30 days ago")
    assert bind(rule, date(2026, 1, 1)) == bind(rule, date(2026, 1, 1))
    assert rule == parse("a < 30 days ago")


def test_decision_tables_bind_every_rule():
    bound = bind(
        parse("decide first when a < today then 1 when b < 2 days ago then 2"), date(2026, 1, 5)
    )
    assert [r.phrase for r in bound.resolutions] == ["today", "2 days ago"]


def test_bad_zone_and_country_are_errors():
    with pytest.raises(ValidationError, match="IANA"):
        bind(parse("a"), date(2026, 1, 1), tz="Mars/Olympus")
    with pytest.raises(ValidationError, match="holiday calendar"):
        Calendar("XX")


def test_a_recorded_bound_rule_reads_back_for_replay(invoice):
    from arpolicy.rules import BoundRule, explain

    text = "due_date < 30 days ago and document_date in the last 2 days"
    bound = bind(parse(text), date(2026, 11, 23), tz="Europe/Berlin")
    again = BoundRule.from_json(bound.to_json())
    assert again == bound and again.to_json() == bound.to_json()
    record = {"due_date": date(2026, 1, 1), "document_date": date(2026, 11, 22)}
    assert explain(again, record, invoice).text() == explain(bound, record, invoice).text()
