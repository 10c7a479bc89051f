"""Rules handed in from outside go through one intake with the same guards everywhere
(issue 13, item 4): the API, cycle files and owner policies."""

from __future__ import annotations

import pytest

from arpolicy.engagement._selection import rule_of as cycle_rule
from arpolicy.ownership.config import rule_of as policy_rule
from arpolicy.rules import RuleError, to_json, to_text
from arpolicy.rules.intake import MAX_RULE_TEXT, read

TEXT = "balance > 500 USD and not disputed"


def test_text_and_json_read_to_the_same_rule() -> None:
    rule = read(TEXT)
    assert to_text(read(to_json(rule))) == to_text(rule)


@pytest.mark.parametrize("reader", [read, cycle_rule, policy_rule])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("balance > 5\x00", "NUL character"),
        ({"field": "name", "op": "=", "value": "a\x00"}, "NUL character"),
        ("x" * (MAX_RULE_TEXT + 1), f"longer than {MAX_RULE_TEXT} characters"),
        (42, "not int"),
        (["balance > 5"], "not list"),
    ],
)
def test_every_surface_refuses_the_same_input_alike(reader, value, message) -> None:
    with pytest.raises(RuleError) as exc:
        reader(value)
    assert message in str(exc.value)
