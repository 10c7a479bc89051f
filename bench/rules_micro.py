"""Micro-benchmark of the rule language (issue 3): µs per record for the compiled Python
predicate and for ``explain``, over prepared records. Not a unit test.

    .venv/bin/python bench/rules_micro.py                 # 100,000 records, 7 repeats
    .venv/bin/python bench/rules_micro.py --records 20000 --repeat 3

Targets: to_python at most 0.3 µs/record (median) and explain at most 2 µs/record for the
five-condition invoice rule below. Each figure is the median (and best) of ``--repeat`` runs
of ``deque(map(fn, records))``; the cost of that loop with a do-nothing function is printed
as the baseline and included in the figures. A missed target prints MISSED and exits 1.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money
from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import Exchange, bind, check, explain, explainer, parse, to_python

RULE = (
    "balance > 500 USD and due_date < 30 days ago and not disputed"
    " and currency includes (USD, EUR) and days_past_due >= 30"
)
AS_OF = date(2026, 11, 23)
# the tenant's rates (base EUR): "500 USD" compares with EUR and GBP balances at them
EXCHANGE = Exchange(
    RateTable(
        [
            ("USD", "EUR", date(2026, 11, 1), Decimal("0.925")),
            ("GBP", "EUR", date(2026, 11, 1), Decimal("1.17")),
        ]
    ),
    "EUR",
    frozenset({"USD", "GBP"}),
)
TARGET_PYTHON_US = 0.3
TARGET_EXPLAIN_US = 2.0


def records(n: int, missing: float, seed: int = 3) -> list[dict[str, Any]]:
    """Invoices with realistic spread; ``missing`` is the share lacking one field."""
    rng = random.Random(seed)
    result = []
    for _ in range(n):
        currency = rng.choice(["USD", "USD", "USD", "EUR", "GBP"])
        due = AS_OF - timedelta(days=rng.randint(-30, 200))
        record: dict[str, Any] = {
            "balance": Money(Decimal(rng.randint(0, 200_000)).scaleb(-2), currency),
            "due_date": due,
            "disputed": rng.random() < 0.1,
            "currency": currency,
            "days_past_due": (AS_OF - due).days,
        }
        if rng.random() < missing:
            del record[rng.choice(list(record))]
        result.append(record)
    return result


def per_record(fn: Callable[[Any], Any], recs: Sequence[Any], repeat: int) -> list[float]:
    """µs per record of each run."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        deque(map(fn, recs), maxlen=0)
        runs.append((time.perf_counter() - t0) / len(recs) * 1e6)
    return runs


def report(name: str, runs: list[float], target: float | None = None) -> bool:
    median, best = statistics.median(runs), min(runs)
    verdict = ""
    if target is not None:
        verdict = "ok" if median <= target else "MISSED"
        verdict = f"  target {target} µs: {verdict}"
    print(f"{name:<44} median {median:6.3f} µs/record   best {best:6.3f}{verdict}")
    return target is None or median <= target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    fields = catalogue_for("EUR").level("invoice")
    bound = bind(check(parse(RULE), fields), AS_OF, exchange=EXCHANGE)
    predicate = to_python(bound, fields)
    explain_one = explainer(bound, fields)
    complete = records(args.records, 0.0)
    partial = records(args.records, 0.1)
    print(f"rule: {RULE}")
    print(f"{args.records:,} records, {args.repeat} runs, Python {platform.python_version()}")
    print(f"matches: {sum(map(predicate, complete)):,} of {len(complete):,}")
    report(
        "baseline (loop, do-nothing function)", per_record(lambda r: None, complete, args.repeat)
    )
    ok = report("to_python", per_record(predicate, complete, args.repeat), TARGET_PYTHON_US)
    matching = [r for r in complete if predicate(r)]
    report(
        "to_python, only matching records (worst case)",
        per_record(predicate, matching, args.repeat),
    )
    report("to_python, 10% records missing a field", per_record(predicate, partial, args.repeat))
    ok &= report(
        "explain(bound, record, fields)",
        per_record(lambda r: explain(bound, r, fields), complete, args.repeat),
        TARGET_EXPLAIN_US,
    )
    report("explainer(bound, fields)(record)", per_record(explain_one, complete, args.repeat))
    report("explain + .text()", per_record(lambda r: explain_one(r).text(), complete[:10_000], 3))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
