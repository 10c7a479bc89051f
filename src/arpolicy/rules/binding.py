"""Binding: resolve every relative date of a rule, and look up the exchange rates its money
literals need, once, for an evaluation date.

``bind(rule, as_of, tz=..., exchange=...)`` returns a :class:`BoundRule` whose tree holds
only constant dates (each :class:`~arpolicy.rules.ast.DateLit` keeps the phrase it came
from), the list of resolutions and the rates from every currency of the tenant's data to
the currency of each (non-zero) money literal (see :mod:`arpolicy.rules.fx`), recorded with
every decision. ``as_of`` is the tenant's local date (see
:func:`arpolicy.kit.clock.local_today`); ``tz`` is the tenant's zone, used by the compilers
to turn a date into the instants that bound it when a datetime field is compared.

Business days skip Saturdays, Sundays and, when ``holidays_country`` is given, that
country's public holidays (the ``holidays`` package; ``holidays_subdiv`` for a state or
province). ``N business days ago`` counts N business days back from ``as_of``, not counting
``as_of`` itself.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import holidays as holidays_lib

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import zone
from arpolicy.rules import ast as a
from arpolicy.rules.fx import Exchange, Rates, bind_rates
from arpolicy.rules.jsonform import from_json, to_json
from arpolicy.rules.printer import date_range, relative


@dataclass(frozen=True, slots=True)
class Resolution:
    phrase: str
    start: date
    end: date
    """Equal to ``start`` for a single date; the last day of a range."""

    def to_json(self) -> dict[str, str]:
        if self.start == self.end:
            return {"phrase": self.phrase, "date": self.start.isoformat()}
        return {"phrase": self.phrase, "from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class BoundRule:
    rule: a.Rule
    as_of: date
    tz: str
    holidays_country: str | None
    resolutions: tuple[Resolution, ...]
    rates: Rates | None = None
    """The exchange rates money literals compare with (:func:`bind` always sets them)."""
    compiled: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)
    """Compiled forms by field set, then by compiler (see ``compile.cached``)."""

    @property
    def fx(self) -> Rates:
        """:attr:`rates`, empty when the rule was bound without an exchange."""
        return self.rates if self.rates is not None else Rates(self.as_of)

    def to_json(self) -> dict[str, Any]:
        """What a decision records: the rule with its constants and how they were resolved
        (``rates``: the exchange rates money literals compared with, when there were any)."""
        data = {
            "as_of": self.as_of.isoformat(),
            "tz": self.tz,
            "holidays_country": self.holidays_country,
            "resolved": [r.to_json() for r in self.resolutions],
            "rule": to_json(self.rule),
        }
        if self.fx.items:
            data["rates"] = self.fx.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BoundRule:
        """Read back what :meth:`to_json` recorded (to replay or explain a decision)."""
        rule = from_json(data["rule"])
        resolved = []
        for r in data["resolved"]:
            start = date.fromisoformat(r.get("date") or r["from"])
            resolved.append(
                Resolution(r["phrase"], start, date.fromisoformat(r.get("to") or r["date"]))
            )
        as_of = date.fromisoformat(data["as_of"])
        return cls(
            rule,
            as_of,
            zone(data["tz"]).key,
            data.get("holidays_country"),
            tuple(resolved),
            Rates.from_json(as_of, data.get("rates", ())),
        )


class Calendar:
    """Business days: weekdays that are not public holidays of ``country``."""

    def __init__(self, country: str | None = None, subdiv: str | None = None) -> None:
        self.holidays: Any = None
        if country is not None:
            try:
                self.holidays = holidays_lib.country_holidays(country, subdiv=subdiv)
            except (NotImplementedError, KeyError) as err:
                raise ValidationError(
                    f"no holiday calendar for {country!r}"
                    + (f" / {subdiv!r}" if subdiv else "")
                    + f" ({err})",
                    fix="use an ISO 3166-1 alpha-2 code the holidays package supports, e.g. DE",
                ) from None

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and (self.holidays is None or d not in self.holidays)

    def shift(self, d: date, n: int) -> date:
        """``n`` business days after ``d`` (before it when ``n`` is negative)."""
        step = timedelta(days=1 if n > 0 else -1)
        left = abs(n)
        while left:
            d += step
            if self.is_business_day(d):
                left -= 1
        return d


def _month_edges(as_of: date, shift: int = 0) -> tuple[date, date]:
    """The first and last day of the month of ``as_of``, or of the one before (``shift``
    -1) or after (+1)."""
    first = as_of.replace(day=1)
    if shift < 0:
        first = (first - timedelta(days=1)).replace(day=1)
    elif shift > 0:
        first = (first + timedelta(days=32)).replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def resolve(r: a.RelativeDate, as_of: date, cal: Calendar) -> date:
    k = a.RelKind
    if r.kind is k.TODAY:
        return as_of
    if r.kind is k.DAYS_AGO:
        return as_of - timedelta(days=r.days)
    if r.kind is k.IN_DAYS:
        return as_of + timedelta(days=r.days)
    if r.kind is k.BUSINESS_DAYS_AGO:
        return cal.shift(as_of, -r.days)
    if r.kind is k.IN_BUSINESS_DAYS:
        return cal.shift(as_of, r.days)
    first, last = _month_edges(as_of, _shift(r.kind.value))
    return first if r.kind.value.startswith("start") else last


def resolve_range(r: a.DateRange, as_of: date, cal: Calendar) -> tuple[date, date]:
    k = a.RangeKind
    if r.kind is k.LAST_DAYS:
        return as_of - timedelta(days=r.days), as_of
    if r.kind is k.NEXT_DAYS:
        return as_of, as_of + timedelta(days=r.days)
    if r.kind is k.LAST_BUSINESS_DAYS:
        return cal.shift(as_of, -r.days), as_of
    if r.kind is k.NEXT_BUSINESS_DAYS:
        return as_of, cal.shift(as_of, r.days)
    return _month_edges(as_of, _shift(r.kind.value))


def _shift(kind: str) -> int:
    """-1, 0 or 1: a month kind's month relative to the current one."""
    return -1 if "previous" in kind else 1 if "next" in kind else 0


class _Binder:
    def __init__(self, as_of: date, cal: Calendar) -> None:
        self.as_of = as_of
        self.cal = cal
        self.resolved: dict[str, Resolution] = {}

    def literal(self, lit: a.Literal) -> a.Literal:
        if not isinstance(lit, a.RelativeDate):
            return lit
        phrase = relative(lit)
        value = resolve(lit, self.as_of, self.cal)
        self.resolved.setdefault(phrase, Resolution(phrase, value, value))
        return a.DateLit(value, phrase, lit.pos)

    def condition(self, node: a.Condition) -> a.Condition:
        if isinstance(node, a.All | a.Any):
            return replace(node, items=tuple(self.condition(i) for i in node.items))
        if isinstance(node, a.Not):
            return replace(node, item=self.condition(node.item))
        if isinstance(node, a.Compare):
            return replace(node, value=self.literal(node.value))
        if isinstance(node, a.Between):
            return replace(node, low=self.literal(node.low), high=self.literal(node.high))
        if isinstance(node, a.InRange):
            phrase = date_range(node.range)
            low, high = resolve_range(node.range, self.as_of, self.cal)
            self.resolved.setdefault(phrase, Resolution(phrase, low, high))
            return a.Between(node.field, a.DateLit(low, phrase), a.DateLit(high, phrase), node.pos)
        return node

    def rule(self, rule: a.Rule) -> a.Rule:
        if isinstance(rule, a.DecisionTable):
            rules = tuple(replace(r, when=self.condition(r.when)) for r in rule.rules)
            return replace(rule, rules=rules)
        return self.condition(rule)


def bind(
    rule: a.Rule,
    as_of: date,
    *,
    tz: str = "UTC",
    holidays_country: str | None = None,
    holidays_subdiv: str | None = None,
    exchange: Exchange | None = None,
) -> BoundRule:
    """Resolve the rule's relative dates for ``as_of`` (the tenant's local date), and look
    up in ``exchange`` the rates its money literals compare with on that date. Without an
    exchange a (non-zero) money literal compares only with amounts in its own currency and
    comparing another currency raises :class:`~arpolicy.exceptions.MissingRateError`."""
    zone(tz)
    binder = _Binder(as_of, Calendar(holidays_country, holidays_subdiv))
    bound = binder.rule(rule)
    targets = {n.currency for _, n in a.walk(rule) if isinstance(n, a.MoneyLit) and n.amount}
    rates = bind_rates(exchange, targets, as_of)
    return BoundRule(bound, as_of, tz, holidays_country, tuple(binder.resolved.values()), rates)
