"""Engagement cycles and the tenant's sending settings as data: their JSON/YAML form,
validated (docs/engagement.md has a complete example).

::

    name: Standard dunning
    status: live                  # draft | test | live
    priority: 10                  # lower wins when a customer matches several cycles
    customer: outstanding > 1000 USD and open_issue_amount = 0 USD
    invoice: balance > 0 USD and not disputed and document_type includes (invoice, debit_note)
    payment: null                 # a payment-level rule, e.g. last_attempt_status = failed
    send_window: {start: "09:00", end: "17:00", days: [mon, tue, wed, thu, fri]}
    merge: true                   # steps due the same day: one email, each invoice under its step
    reminders:
      - name: friendly
        anchor: due_date          # due_date | document_date | p2p_date | last_email | cycle_entry
        offset_days: -5           # 5 days before the due date
        template: friendly        # a built-in, or {en: {subject, text, html}, de: {...}}
      - name: overdue
        anchor: due_date
        offset_days: 1
        repeat: {every_days: 7, times: 4}   # without times: weekly until paid
        business_days: true       # count business days (weekends and the customer's holidays)
        when: days_past_due > 0   # an invoice-level rule narrowing this reminder
        template: firm
        cc: [finance_owner]
"""

from __future__ import annotations

import enum
import re
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arpolicy.engagement.templates import TemplateText
from arpolicy.exceptions import ValidationError as DomainValidationError
from arpolicy.kit.datafile import ProblemsError, validated, yaml_data

MAX_REMINDERS = 50
MAX_REPEAT = 100
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.\-/()&]{0,99}$"
_NOT = r"[^\x00@<>\t\n\v\f\r\x1c-\x1f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
ADDRESS = rf"^{_NOT}+@{_NOT}+\.{_NOT}+$"
"""An e-mail address as the settings take it, and the API schema's pattern for it: white
space is spelled out because ``\\s`` differs between Python and the schema's regexes."""


class Anchor(enum.StrEnum):
    DUE_DATE = "due_date"
    DOCUMENT_DATE = "document_date"
    P2P_DATE = "p2p_date"
    """The date of the invoice's (or the customer's) latest promise to pay, once broken."""
    LAST_EMAIL = "last_email"
    """The last email of this cycle about the invoice (repeats count from the previous)."""
    CYCLE_ENTRY = "cycle_entry"
    """The customer's first email in this cycle (today, while there is none)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Repeat(_Model):
    every_days: int = Field(ge=1, le=365)
    times: int | None = None
    """How many emails this reminder sends in all (the first one included, at most
    ``MAX_REPEAT``); none: it repeats for as long as the invoice is open and in the cycle."""


class Reminder(_Model):
    name: str = Field(pattern=NAME)
    anchor: Anchor = Anchor.DUE_DATE
    offset_days: int = Field(default=0, ge=-365, le=3650)
    repeat: Repeat | None = None
    business_days: bool = False
    """Count ``offset_days`` and ``every_days`` in business days: weekends and the public
    holidays of the customer's country (``holidays``) do not count, and a step that falls
    on one moves to the next business day."""
    when: str | dict[str, Any] | None = None
    """An invoice-level rule: only the invoices it matches get this reminder."""
    template: str | dict[str, TemplateText]
    cc: list[str] = Field(default_factory=list, max_length=20)
    """``finance_owner``, ``sales_owner`` or e-mail addresses."""
    statement: bool = False
    """Attach a statement of account (every open item of the customer) to the email."""

    @field_validator("cc")
    @classmethod
    def _cc(cls, cc: list[str]) -> list[str]:
        for c in cc:
            if c not in ("finance_owner", "sales_owner") and not re.fullmatch(
                r"[^@\s]+@[^@\s]+", c
            ):
                raise ValueError(f"{c!r} is not finance_owner, sales_owner or an e-mail address")
        return cc

    @property
    def times(self) -> int | None:
        """How many occurrences in all (None: open-ended)."""
        return self.repeat.times if self.repeat else 1


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")


class SendWindow(_Model):
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: list[Day] = Field(default_factory=lambda: list(WORKDAYS), min_length=1)


class CycleStatusName(enum.StrEnum):
    DRAFT = "draft"
    TEST = "test"
    LIVE = "live"


class Cycle(_Model):
    name: str = Field(pattern=NAME)
    status: CycleStatusName = CycleStatusName.DRAFT
    priority: int = Field(default=100, ge=0, le=100_000)
    description: str | None = Field(default=None, max_length=500)
    customer: str | dict[str, Any] | None = None
    """Which customers are in the cycle (customer-level rule; none: every customer)."""
    invoice: str | dict[str, Any] | None = None
    """Which of their invoices the emails are about (invoice-level; none: every open
    invoice or debit note)."""
    payment: str | dict[str, Any] | None = None
    """A payment-level rule the customer must also match."""
    send_window: SendWindow = Field(default_factory=SendWindow)
    merge: bool = True
    """Steps due to one customer on one day go in one email, each invoice under its step
    (the template of the most advanced step renders it); false: one email per step."""
    reminders: list[Reminder] = Field(min_length=1, max_length=MAX_REMINDERS)

    def problems(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for i, r in enumerate(self.reminders):
            if r.name in seen:
                out.append(
                    (
                        f"reminders[{i}].name",
                        f"two reminders are named {r.name!r}",
                        "give every reminder its own name (the history is kept by name)",
                    )
                )
            seen.add(r.name)
            if r.anchor is Anchor.LAST_EMAIL and r.offset_days < 1:
                out.append(
                    (
                        f"reminders[{i}].offset_days",
                        f"offset_days is {r.offset_days}: a "
                        "reminder anchored on last_email comes after the last email",
                        "give offset_days of at least 1 (e.g. 7: a week after it)",
                    )
                )
            n = r.repeat.times if r.repeat else None
            if n is not None and not 1 <= n <= MAX_REPEAT:
                out.append(
                    (
                        f"reminders[{i}].repeat.times",
                        f"times is {n}: a repeat sends 1 to "
                        f"{MAX_REPEAT} emails in all (the first included)",
                        f"give times from 1 to {MAX_REPEAT}, or leave times out to repeat "
                        "until the invoice is paid",
                    )
                )
        w = self.send_window
        if w.start >= w.end:
            out.append(
                (
                    "send_window",
                    f"the window {w.start:%H:%M}-{w.end:%H:%M} is empty",
                    "give a start before the end, e.g. 09:00-17:00",
                )
            )
        return out


class Settings(_Model):
    """The tenant's sending rules, over all its cycles."""

    daily_cap: int = Field(default=1000, ge=0, le=10_000_000)
    """Most emails decided per day for the tenant; the rest wait for the next run."""
    quiet_days: int = Field(default=3, ge=0, le=365)
    """Fewest days between two emails to the same customer."""
    reply_pause_days: int = Field(default=7, ge=0, le=365)
    """A reply from the customer pauses its reminders this many days."""
    manual_pause_days: int = Field(default=5, ge=0, le=365)
    """An email sent by hand (recorded in arpolicy) pauses the reminders this many days."""
    from_address: str | None = Field(
        default=None, max_length=320, json_schema_extra={"pattern": ADDRESS}
    )
    """Sender when the customer has no finance owner (else the owner sends)."""
    from_name: str | None = Field(
        default=None, max_length=200, json_schema_extra={"pattern": "^[^\x00]*$"}
    )
    test_address: str | None = Field(
        default=None, max_length=320, json_schema_extra={"pattern": ADDRESS}
    )
    """Where the emails of cycles in test go."""
    default_language: str = Field(
        default="en", max_length=16, json_schema_extra={"pattern": "^[^\x00]*$"}
    )
    pause_while_auto_collection: bool = True
    """No reminder while the billing system is still retrying the customer's card."""

    @field_validator("from_address", "test_address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(ADDRESS, v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v


class CycleError(ProblemsError):
    type = "invalid-cycle"


def parse_cycle(data: Any, *, where: str = "") -> Cycle:
    """A cycle from its JSON-like form; CycleError lists every problem with its path."""
    return validated(Cycle, data, where=where, error=CycleError, docs="docs/engagement.md")


def parse_settings(data: Any, *, where: str = "") -> Settings:
    return validated(Settings, data or {}, where=where, error=CycleError, docs="docs/engagement.md")


def load_yaml(text: str) -> tuple[list[Cycle], Settings | None]:
    """``cycles: [...]`` and optional ``settings: {...}`` (or one cycle) from YAML text."""
    data = yaml_data(text)
    if not isinstance(data, dict):
        raise DomainValidationError(
            "the file holds no cycle",
            where="the file",
            fix="give cycles: [...] (and settings: {...})",
        )
    if "cycles" not in data:
        return [parse_cycle(data)], None
    unknown = set(data) - {"cycles", "settings"}
    if unknown:
        raise DomainValidationError(
            f"unknown key {sorted(unknown)[0]!r}",
            where=sorted(unknown)[0],
            fix="the file has cycles: and settings: only",
        )
    items = data["cycles"]
    if not isinstance(items, list) or not items:
        raise DomainValidationError(
            "cycles must be a non-empty list",
            where="cycles",
            fix="cycles: [{name: ..., reminders: [...]}]",
        )
    cycles = [parse_cycle(c, where=f"cycles[{i}]") for i, c in enumerate(items)]
    names = [c.name for c in cycles]
    if len(set(names)) != len(names):
        raise DomainValidationError(
            "two cycles have the same name", where="cycles", fix="give every cycle its own name"
        )
    settings = parse_settings(data["settings"], where="settings") if "settings" in data else None
    return cycles, settings


def example_text() -> str:
    """The example cycles and settings (docs/engagement.md; ``arpolicy demo`` installs them)."""
    from importlib import resources

    return (resources.files(__package__ or "arpolicy.engagement") / "example.yaml").read_text(
        "utf-8"
    )
