"""Money literals across currencies: a literal stands for its worth.

``balance > 500 USD`` compares an EUR balance with 500 USD at the EUR->USD rate of the
evaluation date. Like relative dates, the rates are looked up once, when the rule is bound
(:func:`arpolicy.rules.bind` with an :class:`Exchange`), recorded with it
(``BoundRule.rates``; ``"rates"`` in ``BoundRule.to_json()``) and shown in the explanation::

    balance 812.40 EUR = 877.39 USD at 1.08 on 2026-11-23 > 500.00 USD: yes

**Exact.** With ``r`` the bound rate from the record's currency Y to the literal's currency
X, ``a Y > L X`` means ``a * r > L``, without rounding. As ``r > 0`` that is ``a > L / r``,
and as ``a`` is a whole number of Y's minor units, it is ``a > floor(L / r)``, the floor
taken to Y's minor unit; ``<=`` uses the floor too, ``>=`` and ``<`` the ceiling, ``=`` holds
only when ``L / r`` is itself a whole number of minor units (``!=`` otherwise always), and
``between`` takes the ceiling of its low end and the floor of its high end.
:func:`threshold` computes these bounds once per currency with exact fractions; the Python
and the SQL compiler both compare the record's amount with the bound of its currency (in SQL
one ``currency = 'EUR' AND balance_minor > 46296`` per currency, which an index can serve),
so the two agree on every amount, the edges included.

**Zero** is zero in every currency: a zero literal (``0 USD``, or a bare ``0``, which any
money field accepts) needs no rate and compares alike with every currency.

**Where rates come from.** :class:`Exchange` hands in the tenant's rates (anything with
``rate(src, dst, on)``, such as :class:`arpolicy.kit.fx.RateTable`: the latest rate on or
before the date, a stored pair's inverse when only the other direction is stored), its base
currency and the currencies its data holds. A pair with no rate of its own goes through the
base currency (Y->base times base->X, at 28 significant digits, recorded with ``via``). A
currency without a rate on the evaluation date is no error until a record in it is compared
(the rule may never meet one): then :class:`~arpolicy.exceptions.MissingRateError` names
the pair and the date and says how to add the rate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from math import ceil, floor
from typing import Any, Literal, Protocol

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.fx import Rate
from arpolicy.kit.money import exponent

Rounding = Literal["floor", "ceil", "exact"]
ROUNDING: dict[str, Rounding] = {
    ">": "floor",
    "<=": "floor",
    ">=": "ceil",
    "<": "ceil",
    "==": "exact",
    "!=": "exact",
}
"""How each operator rounds the converted literal to the record currency (see the module)."""
ONE = Decimal(1)
FIX = "arpolicy import fx-rates FILE"


class RateSource(Protocol):
    def rate(self, src: str, dst: str, on: date) -> Rate: ...


@dataclass(frozen=True)
class Exchange:
    """What binding needs to compare money across currencies."""

    rates: RateSource
    base: str
    """The tenant's base currency (cross rates go through it)."""
    currencies: frozenset[str] = frozenset()
    """The currencies of the tenant's data (the base currency is always added)."""


@dataclass(frozen=True, slots=True)
class BoundRate:
    """1 ``source`` = ``rate`` ``target``, as bound for one evaluation date."""

    source: str
    """The record's currency."""
    target: str
    """The literal's currency."""
    rate: Decimal
    valid_on: date | None
    """The date of the rate used (of the older leg through ``via``); None for 1:1."""
    via: str | None = None

    def convert(self, amount: Decimal) -> Decimal:
        """``amount * rate``, exactly (for the explanation)."""
        with localcontext() as ctx:
            ctx.prec = 80
            return amount * self.rate

    def to_json(self) -> dict[str, str]:
        data = {"from": self.source, "to": self.target, "rate": format(self.rate, "f")}
        if self.valid_on is not None:
            data["valid_on"] = self.valid_on.isoformat()
        if self.via is not None:
            data["via"] = self.via
        return data

    @classmethod
    def from_json(cls, data: dict[str, str]) -> BoundRate:
        on = data.get("valid_on")
        return cls(
            data["from"],
            data["to"],
            Decimal(data["rate"]),
            date.fromisoformat(on) if on else None,
            data.get("via"),
        )


@dataclass(frozen=True)
class Rates:
    """The rates a bound rule compares money with, by (record currency, literal currency)."""

    on: date
    items: tuple[BoundRate, ...] = ()
    missing: tuple[tuple[str, str, str, str], ...] = field(default=(), compare=False)
    """``(source, target, what, fix)`` of the pairs the exchange had no rate for."""
    _by_pair: dict[tuple[str, str], BoundRate] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_pair.update({(r.source, r.target): r for r in self.items})

    def get(self, source: str, target: str, where: str | None = None) -> BoundRate:
        """The bound rate from ``source`` to ``target``; MissingRateError when there is none."""
        if source == target:
            return BoundRate(source, target, ONE, None)
        found = self._by_pair.get((source, target))
        if found is None:
            raise self.error(source, target, where)
        return found

    def sources(self, target: str) -> list[str]:
        """The currencies with a bound rate to ``target`` (``target`` itself included)."""
        return sorted({target} | {s for s, t in self._by_pair if t == target})

    def error(self, source: str, target: str, where: str | None = None) -> MissingRateError:
        """No rate from ``source`` to ``target``: what, which date, how to add one."""
        for s, t, what, fix in self.missing:
            if (s, t) == (source, target):
                return MissingRateError(what, fix=fix, where=where)
        on = self.on.isoformat()
        return MissingRateError(
            f"no {source}/{target} exchange rate on or before {on}",
            fix=f"import a {source} to {target} rate dated {on} or earlier ({FIX})",
            where=where,
        )

    def to_json(self) -> list[dict[str, str]]:
        return [r.to_json() for r in self.items]

    @classmethod
    def from_json(cls, on: date, data: Iterable[dict[str, str]]) -> Rates:
        return cls(on, tuple(BoundRate.from_json(r) for r in data))


def _lookup(exchange: Exchange, src: str, dst: str, on: date) -> BoundRate:
    try:
        r = exchange.rates.rate(src, dst, on)
    except MissingRateError as direct:
        base = exchange.base
        if base in (src, dst):
            raise
        try:
            first, second = exchange.rates.rate(src, base, on), exchange.rates.rate(base, dst, on)
        except MissingRateError:
            raise direct from None  # the direct pair's message says it best
        with localcontext() as ctx:
            ctx.prec = 28
            rate = first.rate * second.rate
        dates = [d for d in (first.valid_on, second.valid_on) if d is not None]
        return BoundRate(src, dst, rate, min(dates) if dates else None, base)
    return BoundRate(src, dst, r.rate, r.valid_on)


def bind_rates(exchange: Exchange | None, targets: Iterable[str], on: date) -> Rates:
    """The rates from every currency of ``exchange`` to each of ``targets`` on ``on``."""
    if exchange is None:
        return Rates(on)
    items: list[BoundRate] = []
    missing: list[tuple[str, str, str, str]] = []
    sources = sorted(set(exchange.currencies) | {exchange.base})
    for dst in sorted(set(targets)):
        for src in sources:
            if src == dst:
                continue
            try:
                items.append(_lookup(exchange, src, dst, on))
            except MissingRateError as err:
                missing.append((src, dst, err.message, err.fix or FIX))
    return Rates(on, tuple(items), tuple(missing))


# thresholds ------------------------------------------------------------------------------
class Thresholds(dict[str, Decimal | None]):
    """A literal as the bound it sets in each record currency (None: ``=`` never holds).
    Looking up a currency without a rate raises :class:`MissingRateError`."""

    __slots__ = ("missing",)

    def __init__(self, items: Iterable[tuple[str, Decimal | None]], missing: Callable[[str], Any]):
        super().__init__(items)
        self.missing = missing

    def __missing__(self, currency: str) -> Decimal | None:
        raise self.missing(currency)


def threshold(amount: Decimal, rate: Decimal, currency: str, how: Rounding) -> Decimal | None:
    """``amount / rate`` to ``currency``'s minor unit, rounded ``how`` (exactly: ``exact``
    gives None when it is not a whole number of minor units)."""
    places = exponent(currency)
    q = Fraction(amount) / Fraction(rate) * 10**places
    if how == "floor":
        n = floor(q)
    elif how == "ceil":
        n = ceil(q)
    elif q.denominator == 1:
        n = q.numerator
    else:
        return None
    return Decimal(f"{n}E-{places}")  # exact, whatever the context's precision


def values(t: Decimal | Thresholds | None) -> Iterator[Decimal | None]:
    """Every bound a threshold sets (one for a uniform one)."""
    if isinstance(t, Thresholds):
        yield from t.values()
    else:
        yield t
