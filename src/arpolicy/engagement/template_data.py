"""What templates are given and give back (the data of a render), the languages, and the
state of the render in progress (its locale, its budget)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from babel import Locale
from jinja2.exceptions import SecurityError
from pydantic import BaseModel, ConfigDict, Field

from arpolicy.kit.bank import BankDetails
from arpolicy.kit.money import Money

BUILTINS = ("friendly", "firm", "final")
PARTS = (("subject", "subject"), ("text", "txt"), ("html", "html"))
"""Template parts: the key in a cycle's JSON and the suffix of a built-in's file."""
MAX_SUBJECT = 998
MAX_OUTPUT = 5_000_000
"""Most characters one part may render (a statement of thousands of items fits)."""
MAX_SECONDS = 2.0
"""Most CPU time a part may take to render (this thread's, so a loaded machine does not
fail a template that a quiet one renders in time; a runaway loop still stops)."""
_WIDTH = 10_000
"""Largest padding, precision or repetition a template may ask of ``%``, format or a filter."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of a reminder or a statement of account, signed as the customer reads it:
    what it owes positive, what is to its credit (a credit note, a payment on account)
    negative."""

    number: str
    document_type: str
    """invoice, debit_note, credit_note, payment (on account: received, not yet applied)
    or refund (paid back to the customer, not yet applied)."""
    issued_on: date
    due_on: date | None
    """None for credit notes and payments: they are never due."""
    days_overdue: int
    """Days past the due date (zero or negative: not yet due; zero for credit)."""
    total: Money
    balance: Money


@dataclass(frozen=True, slots=True)
class StepLines:
    """One step of an email (a reminder of the cycle) and the invoices listed at it: a
    merged email has several, the one of its own ``reminder`` first."""

    reminder: str
    invoices: list[InvoiceLine]
    status: str
    """Where its invoices stand on the day: ``overdue`` (one of them at least),
    ``due_today`` or ``due_soon``."""


def step_status(lines: Iterable[InvoiceLine], as_of: date) -> str:
    dues = [ln.due_on for ln in lines if ln.due_on is not None]
    if any(d < as_of for d in dues):
        return "overdue"
    return "due_today" if as_of in dues else "due_soon"


@dataclass(frozen=True, slots=True)
class RenderContext:
    tenant_name: str
    customer_name: str
    customer_external_id: str
    contact_name: str | None
    sender_name: str | None
    sender_email: str | None
    cycle: str
    reminder: str
    as_of: date
    invoices: list[InvoiceLine]
    statement: list[InvoiceLine] | None = None
    """Every open item of the customer, when the reminder asks for a statement of account:
    open invoices and debit notes, credit notes and payments on account (negative)."""
    statement_balance: list[Money] | None = None
    """The statement's balance in each currency of its items: the customer's outstanding
    figure (open debits less unused credit and payments on account); None without one."""
    payment_link: str | None = None
    """The tenant's payment page for this customer (None when the tenant has none)."""
    bank: BankDetails | None = None
    """The tenant's bank details for a transfer (None when it has none)."""
    test: bool = False
    """A cycle in test: the caller marks the subject and sends to the test address."""
    steps: list[StepLines] | None = None
    """The email's steps, its own (``reminder``, ``invoices``) first; by default that one."""

    def __post_init__(self) -> None:
        if self.steps is None:
            own = StepLines(self.reminder, self.invoices, step_status(self.invoices, self.as_of))
            object.__setattr__(self, "steps", [own])
        if self.statement is not None and self.statement_balance is None:
            object.__setattr__(self, "statement_balance", per_currency(self.statement))


def per_currency(lines: Iterable[InvoiceLine]) -> list[Money]:
    """The sum of the lines' balances in each currency, sorted by currency; exact."""
    sums: dict[str, Money] = {}
    for line in lines:
        b = line.balance
        sums[b.currency] = sums[b.currency] + b if b.currency in sums else b
    return [sums[c] for c in sorted(sums)]


class TemplateText(BaseModel):
    """One language's templates, as a cycle stores them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=200_000)


class TemplateLike(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str | None: ...


TemplateSet = Mapping[str, TemplateLike]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    language: str


class TemplateBudgetError(SecurityError):
    """A template that ran too long or wrote too much."""


# ---------------------------------------------------------------------------- languages
def _norm(code: str) -> str:
    return code.strip().replace("-", "_").lower()


def choose_language(
    available: Iterable[str], wanted: Sequence[str | None], default: str = "en"
) -> str:
    """The first wanted language or locale available ("de_AT" and "de-AT" match "de", "de"
    matches "de_CH"), else ``default`` if available, else the first available."""
    keys = list(available)
    by_norm = {_norm(k): k for k in reversed(keys)}
    by_base = {_norm(k).split("_")[0]: k for k in reversed(keys)}
    for w in [*wanted, default]:
        if not w or not w.strip():
            continue
        n = _norm(w)
        found = by_norm.get(n) or by_norm.get(n.split("_")[0]) or by_base.get(n.split("_")[0])
        if found:
            return found
    return keys[0] if keys else default


@lru_cache(maxsize=1024)
def parse_locale(code: str) -> Locale:
    """A Babel locale from "de", "de_AT" or "de-AT"; ValueError/UnknownLocaleError if none."""
    return Locale.parse(code.strip(), sep="-" if "-" in code else "_")


# ------------------------------------------------------------------------- per render run
@dataclass(slots=True)
class _Run:
    locale: Locale
    language: str
    deadline: float


_RUN: ContextVar[_Run | None] = ContextVar("arpolicy_template_run", default=None)


def _run() -> _Run:
    run = _RUN.get()
    if run is None:
        raise RuntimeError("template helpers are only available while rendering")
    if time.thread_time() > run.deadline:
        raise TemplateBudgetError(f"the template computed for longer than {MAX_SECONDS:g} seconds")
    return run


def _sized(value: Any) -> Any:
    """``value``, unless it is a text or list larger than a whole email may be."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT:
        raise TemplateBudgetError(f"the template built a value of more than {MAX_OUTPUT} items")
    return value


def _big(n: Any) -> bool:
    return isinstance(n, int) and abs(n) > _WIDTH
