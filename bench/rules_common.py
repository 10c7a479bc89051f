"""What the rule benchmark's parts share: the rule, its dates, the targets, timing and the
results table."""

from __future__ import annotations

import gc
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from bench import data

HERE = data.HERE
AS_OF = data.TODAY
RULE = (
    "balance > 500 USD and due_date < 30 days ago and not disputed"
    " and currency includes (USD, EUR) and days_past_due >= 30"
)
CUTOFF = AS_OF - timedelta(days=30)  # 2026-10-24: "< 30 days ago" and "days_past_due >= 30"


def eur_cents(bound: Any) -> int:
    """``500 USD`` in EUR cents as the rule compares it: an EUR balance matches above this
    many cents (500 / the bound EUR->USD rate, rounded down: rules/fx.py). The peers, the
    hand-written SQL and the loop compare with it."""
    from decimal import Decimal

    from arpolicy.rules.fx import threshold

    bound_eur = threshold(Decimal(500), bound.fx.get("EUR", "USD").rate, "EUR", "floor")
    assert bound_eur is not None
    return int(bound_eur.scaleb(2))


TARGET_PY_US = 0.3
TARGET_PY_VS_ZEN = 5.0
TARGET_EXPLAIN_US = 2.0
TARGET_SQL_VS_HAND = 1.5
TARGET_SQL_VS_LOOP = 10.0


# --------------------------------------------------------------------------- timing


def median_runs(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median s, best s, last result) of ``repeat`` runs; gc off while timing."""
    runs, result = [], None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            result = fn()
            runs.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return statistics.median(runs), min(runs), result


def per_record(fn: Callable[[Any], Any], recs: Sequence[Any], repeat: int) -> tuple[float, float]:
    """(median, best) µs per record of ``deque(map(fn, recs))``."""
    med, best, _ = median_runs(lambda: deque(map(fn, recs), maxlen=0), repeat)
    return med / len(recs) * 1e6, best / len(recs) * 1e6


# --------------------------------------------------------------------------- report


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        section: str,
        what: str,
        value: float,
        unit: str,
        *,
        best: float | None = None,
        ratio: float | None = None,
        ratio_of: str = "",
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> None:
        row = {
            "section": section,
            "what": what,
            "value": round(value, 4),
            "unit": unit,
            "best": None if best is None else round(best, 4),
            "ratio": None if ratio is None else round(ratio, 2),
            "ratio_of": ratio_of,
            "target": target,
            "verdict": "" if ok is None else ("ok" if ok else "MISSED"),
            "note": note,
        }
        self.rows.append(row)
        print(self.line(row), flush=True)

    @staticmethod
    def line(r: dict[str, Any]) -> str:
        ratio = f"{r['ratio']:>8.2f}x {r['ratio_of']:<14}" if r["ratio"] is not None else " " * 24
        best = f"(best {r['best']:.3f})" if r["best"] is not None else ""
        return (
            f"{r['section']:<9} {r['what']:<52} {r['value']:>10.3f} {r['unit']:<9}"
            f" {best:<14} {ratio} {r['target']:<22} {r['verdict']}"
        ).rstrip()

    def print(self) -> None:
        print()
        print(
            f"{'section':<9} {'what':<52} {'median':>10} {'unit':<9} {'':<14}"
            f" {'ratio':>9} {'of':<14} {'target':<22} verdict"
        )
        print("-" * 150)
        for r in self.rows:
            print(self.line(r))
        for r in self.rows:
            if r["note"]:
                print(f"  * {r['what']}: {r['note']}")


def same(label: str, got: Sequence[int], want: Sequence[int]) -> bool:
    g, w = set(got), set(want)
    if g == w and len(got) == len(want):
        print(f"  ids ok: {label}: {len(got):,}", flush=True)
        return True
    print(
        f"  IDS MISMATCH: {label}: {len(got):,} ids vs {len(want):,};"
        f" extra {sorted(g - w)[:5]} missing {sorted(w - g)[:5]}",
        flush=True,
    )
    return False
