"""Dated FX conversion. A rate applies from its date until the next rate of the pair; a
conversion uses the latest rate on or before the date asked and records which one it used.
A missing rate is an error naming the pair and the date, never a silent 1.0."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.money import Money, round_amount

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Rate:
    from_currency: str
    to_currency: str
    valid_on: date | None
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Conversion:
    original: Money
    converted: Money
    rate: Decimal
    rate_on: date | None
    """Date of the rate used; None when no conversion was needed."""


class RateTable:
    """All rates of a tenant in memory, sorted per pair; lookups are a binary search.

    A pair missing in one direction is served by the inverse of the other (1 / rate at 28
    significant digits), so importing USD->EUR also converts EUR->USD.
    """

    def __init__(self, rates: Iterable[tuple[str, str, date, Decimal]] = ()) -> None:
        pairs: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
        for src, dst, on, rate in rates:
            pairs[(src, dst)].append((on, Decimal(rate)))
        self._dates: dict[tuple[str, str], list[date]] = {}
        self._rates: dict[tuple[str, str], list[Decimal]] = {}
        for pair, items in pairs.items():
            items.sort()
            self._dates[pair] = [d for d, _ in items]
            self._rates[pair] = [r for _, r in items]

    def _direct(self, src: str, dst: str, on: date) -> Rate | None:
        dates = self._dates.get((src, dst))
        if not dates:
            return None
        i = bisect_right(dates, on)
        if i == 0:
            return None
        return Rate(src, dst, dates[i - 1], self._rates[(src, dst)][i - 1])

    def rate(self, src: str, dst: str, on: date) -> Rate:
        if src == dst:
            return Rate(src, dst, None, ONE)
        found = self._direct(src, dst, on)
        if found is not None:
            return found
        inverse = self._direct(dst, src, on)
        if inverse is not None:
            with localcontext() as ctx:
                ctx.prec = 28
                return Rate(src, dst, inverse.valid_on, ONE / inverse.rate)
        first = self._first(src, dst)
        hint = f" (the first {src}/{dst} rate is dated {first})" if first else ""
        raise MissingRateError(
            f"no {src}/{dst} exchange rate on or before {on.isoformat()}{hint}",
            fix=f"import a {src} to {dst} rate dated {on.isoformat()} or earlier "
            "(arpolicy import fx-rates FILE)",
        )

    def _first(self, src: str, dst: str) -> date | None:
        candidates = [d[0] for d in (self._dates.get((src, dst)), self._dates.get((dst, src))) if d]
        return min(candidates) if candidates else None

    def convert(self, money: Money, to_currency: str, on: date) -> Conversion:
        r = self.rate(money.currency, to_currency, on)
        if r.valid_on is None:
            return Conversion(money, money, ONE, None)
        converted = Money(round_amount(money.amount * r.rate, to_currency), to_currency)
        return Conversion(money, converted, r.rate, r.valid_on)
