"""Part of the policy room (pure): the facts a day's decision reads. The repository loads
them, a forecast simulates their history; nothing here reads a database or the clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from arpolicy.engagement.config import Cycle
from arpolicy.kit.money import Money


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    customer_id: int
    number: str
    doc_type: str
    document_date: date
    due_date: date
    currency: str
    amount_minor: int
    balance_minor: int
    disputed: bool = False
    promised_until: date | None = None
    """The latest date of the invoice's open promises to pay."""
    broken_promise_on: date | None = None
    """The date of its latest promise to pay that is now broken (the p2p_date anchor)."""

    @property
    def total(self) -> Money:
        return Money.from_minor(self.amount_minor, self.currency)

    @property
    def balance(self) -> Money:
        return Money.from_minor(self.balance_minor, self.currency)


@dataclass(frozen=True)
class Customer:
    id: int
    external_id: str
    name: str
    country: str | None = None
    timezone: str | None = None
    language: str | None = None
    locale: str | None = None
    last_reply_at: datetime | None = None
    last_email_at: datetime | None = None
    last_manual_at: datetime | None = None
    promised_until: date | None = None
    """The latest date of its open promises not tied to one invoice."""
    broken_promise_on: date | None = None
    auto_retrying: bool = False
    paused_by_hand: str | None = None
    """The reason of a live by-hand pause of its reminders (engagement.pauses)."""


@dataclass
class History:
    """What was sent before, in one mode (live, or test): per invoice and reminder the
    number of emails that listed it and the last one's day; per customer and reminder the
    number of emails, and per customer its first and last email day in the cycle.

    The decision only reads it; a forecast or backtest adds each day's emails to its own
    copy (:meth:`add`) before deciding the next day."""

    invoice_counts: dict[tuple[int, str], int] = field(default_factory=dict)
    invoice_last: dict[int, date] = field(default_factory=dict)
    customer_counts: dict[tuple[int, str], int] = field(default_factory=dict)
    customer_first: dict[int, date] = field(default_factory=dict)
    customer_last: dict[int, date] = field(default_factory=dict)

    def add(
        self, customer_id: int, reminder: str, day: date, listed: Sequence[tuple[int, str]]
    ) -> None:
        """Record an email of ``reminder`` (its lead) listing each (invoice id, reminder of
        its step): forecasts and backtests replay days with it."""
        key = (customer_id, reminder)
        self.customer_counts[key] = self.customer_counts.get(key, 0) + 1
        self.customer_first.setdefault(customer_id, day)
        self.customer_last[customer_id] = max(day, self.customer_last.get(customer_id, day))
        for i, name in listed:
            self.invoice_counts[(i, name)] = self.invoice_counts.get((i, name), 0) + 1
            self.invoice_last[i] = max(day, self.invoice_last.get(i, day))


def always(_i: int) -> bool:
    return True


def matcher(ids: set[int] | None) -> Callable[[int], bool]:
    """Membership in a selected set (None: everything matches)."""
    if ids is None:
        return always
    return ids.__contains__


@dataclass(frozen=True)
class CompiledCycle:
    """A cycle with its rules run for the day: each rule is the set of ids it matched."""

    id: int
    cycle: Cycle
    customers: Callable[[int], bool]
    """Is the customer in the cycle (its customer and payment rules)?"""
    invoices: Callable[[int], bool]
    """Is the invoice one the cycle is about (its invoice rule)?"""
    reminder_ok: Sequence[Callable[[int], bool]]
    """Per reminder: does its ``when`` match the invoice?"""
    listing: Sequence[bool] = ()
    """Per reminder: does its template list ``steps`` (so it can lead a merged email)?"""

    def merges(self, reminder: int) -> bool:
        return reminder < len(self.listing) and self.listing[reminder]

    @cached_property
    def filtered(self) -> bool:
        """Some reminder has a ``when``."""
        return any(f is not always for f in self.reminder_ok)


@dataclass(frozen=True)
class Step:
    reminder: int
    occurrence: int
    """0-based: the how-manieth email of this reminder for the invoice."""
    on: date
