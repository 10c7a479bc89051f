"""Every rule and relative date docs/rules.md quotes parses, checks at a level and (dates)
resolves as the doc says: the values list, the operators table, the rule blocks and the
rules of the command-line examples. (The seed-004 table has its own test.)"""

from __future__ import annotations

import re
import shlex
from datetime import date
from pathlib import Path

import pytest

from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import Level, bind, parse, problems
from arpolicy.rules.ast import field_names

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
CATALOGUE = catalogue_for(
    "USD",
    custom_fields=[("document", "po_number", "string", None, None)],
    users=[
        ("anna.berg@shop.example", "Anna Berg"),
        ("bob.stone@shop.example", "Bob Stone"),
        ("carl@shop.example", "Carl Lund"),
    ],
)
MONDAY = date(2026, 11, 23)
DATES = {  # what each date of the "Values" list resolves to on Monday 2026-11-23
    "2026-01-31": "2026-01-31",
    "today": "2026-11-23",
    "30 days ago": "2026-10-24",
    "in 7 days": "2026-11-30",
    "10 business days ago": "2026-11-09",
    "in 2 business days": "2026-11-25",
    "start of month": "2026-11-01",
    "start of current month": "2026-11-01",
    "end of month": "2026-11-30",
    "start of previous month": "2026-10-01",
    "end of previous month": "2026-10-31",
    "start of next month": "2026-12-01",
    "end of next month": "2026-12-31",
    "due_date in the last 15 days": "2026-11-08..2026-11-23",
    "due_date in the next 7 days": "2026-11-23..2026-11-30",
    "due_date in the next 3 business days": "2026-11-23..2026-11-26",
    "document_date in current month": "2026-11-01..2026-11-30",
    "document_date in previous month": "2026-10-01..2026-10-31",
    "due_date in next month": "2026-12-01..2026-12-31",
}


def section(title: str) -> str:
    return DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def date_examples() -> list[str]:
    item = re.search(r"^- Dates: (.*?)(?=^- )", section("Values"), re.S | re.M)
    assert item, "docs/rules.md lists the dates under Values"
    return re.findall(r"`([^`]+)`", item.group(1).split(". Bound on", 1)[0])


def table_examples() -> list[str]:
    rows = [line for line in section("Operators").splitlines() if line.startswith("| `")]
    return [
        x for row in rows for x in re.findall(r"`([^`]+)`", row.rstrip(" |").rsplit(" | ", 1)[1])
    ]


def fenced(language: str) -> list[str]:
    """The fenced code blocks of ``language`` ("" for plain ones), in order."""
    blocks, current, lang, indent = [], [], None, 0
    for line in DOC.splitlines():
        fence = line.lstrip().startswith("```")
        if fence and lang is None:  # blocks in a list item are indented
            lang, current, indent = line.strip()[3:], [], len(line) - len(line.lstrip())
        elif fence:
            if lang == language:
                blocks.append("\n".join(current) + "\n")
            lang = None
        elif lang is not None:
            current.append(line[indent:])
    return blocks


def block_rules() -> list[str]:
    """Plain code blocks holding a rule (not an explanation or output: no colon in the
    first line)."""
    return [b for b in fenced("") if ":" not in b.splitlines()[0]]


def command_rules() -> list[tuple[str, str]]:
    """(rule, level) of every ``arpolicy rules check|match`` in the sh blocks."""
    found = []
    for block in fenced("sh"):
        words = shlex.split(block.replace("\\\n", " "))
        for i, word in enumerate(words):
            if word == "rules" and words[i + 1 : i + 2] in (["check"], ["match"]):
                rest = words[i + 2 :]
                level = rest[rest.index("--level") + 1] if "--level" in rest[:8] else "invoice"
                found.append((rest[0], level))
    return found


def checks_somewhere(text: str) -> None:
    rule = parse(text)
    if field_names(rule) <= {"a", "b", "c"}:  # the operators table's placeholder
        return
    found = {lv: problems(rule, CATALOGUE.level(lv)) for lv in Level}
    assert any(not p for p in found.values()), (text, found[Level.INVOICE])


def test_the_dates_listed_are_the_ones_tested():
    assert date_examples() == list(DATES)


@pytest.mark.parametrize("text", list(DATES))
def test_each_date_parses_and_resolves_as_documented(text):
    rule = text if " in " in text and "_" in text.split(" in ")[0] else f"due_date < {text}"
    checks_somewhere(rule)
    bound = bind(parse(rule), MONDAY)
    got = [r.to_json() for r in bound.resolutions]
    if not got:  # a plain date
        assert bound.rule.value.value.isoformat() == DATES[text]  # type: ignore[union-attr]
        return
    (r,) = got
    assert (r.get("date") or f"{r['from']}..{r['to']}") == DATES[text]


def test_the_operator_examples_parse_and_check():
    examples = table_examples()
    assert len(examples) >= 8
    for text in examples:
        checks_somewhere(text)


def test_the_rule_blocks_parse_and_check():
    blocks = block_rules()
    assert any(b.startswith("decide") for b in blocks) and len(blocks) >= 2
    for text in blocks:
        checks_somewhere(text)


def test_the_one_rule_per_line_blocks_parse_and_check():
    lines = [ln for b in fenced("rules") for ln in b.splitlines() if ln.strip()]
    assert len(lines) >= 4
    for text in lines:
        checks_somewhere(text)


def test_the_command_line_rules_parse_and_check_at_their_level():
    found = command_rules()
    assert len(found) >= 5 and {lv for _, lv in found} == {"invoice", "customer", "payment"}
    for text, level in found:
        assert not problems(parse(text), CATALOGUE.level(level)), text
