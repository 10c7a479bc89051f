"""A rule as a user hands it in: its text form or its JSON form, with the same guards on
every surface (API, CLI, cycle and policy files, the app). Use :func:`read` wherever a rule
comes from outside; ``check`` it against the fields of its level afterwards."""

from __future__ import annotations

import json
from typing import Any

from arpolicy.rules.ast import Rule
from arpolicy.rules.errors import fail
from arpolicy.rules.grammar import parse
from arpolicy.rules.jsonform import from_json

MAX_RULE_TEXT = 20_000
"""Characters of rule text read at all (the parser's own limits apply after)."""


def read(value: Any) -> Rule:
    """The rule ``value`` holds: text (parsed) or JSON (a dict, read); RuleError otherwise."""
    if isinstance(value, str):
        if "\x00" in value:
            raise fail("$", None, "the rule contains a NUL character", "remove it")
        if len(value) > MAX_RULE_TEXT:
            raise fail(
                "$",
                None,
                f"the rule is longer than {MAX_RULE_TEXT} characters",
                "split it, or use a decision table",
            )
        return parse(value)
    if isinstance(value, dict):
        if "\\u0000" in json.dumps(value, default=str):
            raise fail("$", None, "the rule contains a NUL character", "remove it")
        return from_json(value)
    raise fail(
        "$",
        None,
        f"a rule is its text or its JSON object, not {type(value).__name__}",
        'write it as text ("balance > 500 USD") or as the JSON form rules check --json shows',
    )
