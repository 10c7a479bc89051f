"""Golden tests: rule text and records in, verdicts and explanations out, kept as small
readable files in ``golden/`` (house style #15). Each file::

    # what the file shows
    level: invoice            (customer | invoice | payment)
    as_of: 2026-11-23
    tz: Europe/Berlin         (optional, default UTC)
    holidays: DE              (optional: business days skip this country's holidays)
    base: USD                 (optional, default EUR: the tenant's base currency)
    fx: EUR/USD 1.08 2026-11-01, JPY/USD 0.0067 2026-11-01
                              (optional: the tenant's rates, 1 EUR = 1.08 USD from that date)

    rule:
      balance > 500 USD
      and not disputed

    resolved:                 (optional: the relative dates, as bind() records them)
      30 days ago = 2026-10-24

    --- a case title
    balance: 812.40 USD       (one field per line; omitted fields are absent)
    => yes                    (match: yes / no; for a decision table, the outcome as JSON;
                               "error: <text>" when evaluating it raises with that text)
      all: yes                (optional: the explanation text, exactly)
        balance 812.40 USD > 500.00 USD: yes

Every file also round-trips: text -> JSON -> text is the canonical text of its rule.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arpolicy.exceptions import ArpolicyError
from arpolicy.kit.fx import RateTable
from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import (
    BoundRule,
    bind,
    check,
    explain,
    from_json,
    parse,
    table_to_python,
    to_json,
    to_python,
    to_text,
)
from arpolicy.rules.ast import DecisionTable
from arpolicy.rules.fx import Exchange
from tests.rules.conftest import CUSTOM, typed

GOLDEN = Path(__file__).parent / "golden"


@dataclass
class Case:
    title: str
    values: dict[str, str]
    expect: str
    explanation: list[str]


@dataclass
class Golden:
    header: dict[str, str]
    rule: str
    resolved: list[str]
    cases: list[Case] = field(default_factory=list)


def _block(lines: list[str], i: int) -> tuple[list[str], int]:
    """The indented lines from ``i`` on, dedented."""
    block = []
    while i < len(lines) and (lines[i].startswith("  ") or not lines[i].strip()):
        if lines[i].strip() and lines[i].startswith("---"):
            break
        block.append(lines[i])
        i += 1
    while block and not block[-1].strip():
        block.pop()
    return textwrap.dedent("\n".join(block)).splitlines(), i


def read(path: Path) -> Golden:
    lines = [x for x in path.read_text().splitlines() if not x.startswith("#")]
    header: dict[str, str] = {}
    rule: list[str] = []
    resolved: list[str] = []
    cases: list[Case] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if line.startswith("--- "):
            values, expect = {}, ""
            while i < len(lines) and not lines[i].startswith("=>"):
                if lines[i].strip():
                    name, _, value = lines[i].partition(":")
                    values[name.strip()] = value.strip()
                i += 1
            expect = lines[i][2:].strip()
            explanation, i = _block(lines, i + 1)
            cases.append(Case(line[4:].strip(), values, expect, explanation))
        elif line in ("rule:", "resolved:"):
            block, i = _block(lines, i)
            (rule if line == "rule:" else resolved).extend(block)
        else:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
    return Golden(header, "\n".join(rule), resolved, cases)


def exchange(header: dict[str, str]) -> Exchange:
    """The ``fx`` header: ``FROM/TO RATE DATE``, comma-separated."""
    rates = []
    for item in header["fx"].split(","):
        pair, rate, on = item.split()
        src, dst = pair.split("/")
        rates.append((src, dst, date.fromisoformat(on), Decimal(rate)))
    currencies = frozenset(c for r in rates for c in r[:2])
    return Exchange(RateTable(rates), header.get("base", "EUR"), currencies)


def _resolution_text(r: dict[str, Any]) -> str:
    if "date" in r:
        return f"{r['phrase']} = {r['date']}"
    return f"{r['phrase']} = {r['from']} .. {r['to']}"


FILES = sorted(GOLDEN.glob("*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden(path: Path) -> None:
    g = read(path)
    assert g.cases, f"{path.name} has no cases"
    fields = catalogue_for(g.header.get("base", "EUR"), custom_fields=CUSTOM).level(
        g.header["level"]
    )
    rule = check(parse(g.rule), fields)
    assert from_json(json.loads(json.dumps(to_json(rule)))) == rule
    assert parse(to_text(rule)) == rule
    bound = bind(
        rule,
        date.fromisoformat(g.header["as_of"]),
        tz=g.header.get("tz", "UTC"),
        holidays_country=g.header.get("holidays"),
        exchange=exchange(g.header) if "fx" in g.header else None,
    )
    if g.resolved:
        assert [_resolution_text(r.to_json()) for r in bound.resolutions] == g.resolved
    assert BoundRule.from_json(json.loads(json.dumps(bound.to_json()))) == bound
    is_table = isinstance(rule, DecisionTable)
    run = table_to_python(bound, fields) if is_table else to_python(bound, fields)
    for case in g.cases:
        record = {k: typed(fields, k, v) for k, v in case.values.items()}
        assert not fields.check_record(record), case.title
        if case.expect.startswith("error:"):
            with pytest.raises(ArpolicyError) as err:
                run(record)
            assert str(err.value) == case.expect[6:].strip(), f"{path.name}: {case.title}"
            with pytest.raises(ArpolicyError):
                explain(bound, record, fields)
            continue
        got = run(record)
        expect = json.loads(case.expect) if is_table else case.expect == "yes"
        assert got == expect, f"{path.name}: {case.title}"
        exp = explain(bound, record, fields)
        assert exp.outcome == got, f"{path.name}: {case.title} (explain disagrees)"
        if case.explanation:
            assert exp.lines() == case.explanation, f"{path.name}: {case.title}"
