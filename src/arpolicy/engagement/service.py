"""Engagement against the database: configure cycles, decide (pure, from the ledger and the
history), then act (the emails, their outbox rows and audit events in one transaction),
forecast and backtest.

A run is idempotent: what a customer is due comes from what was already sent, and each
email's key (cycle, reminder, customer, occurrence) is unique, so two runs of one day (two
workers, a scheduler and a person) write each email once.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from babel import UnknownLocaleError
from sqlalchemy import text
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.engagement import dropped, facts
from arpolicy.engagement.config import (
    Settings,
)
from arpolicy.engagement.cycles import (
    delete_cycle,
    get_cycle,
    save_cycle,
    save_settings,
    set_status,
    settings_of,
    validate_cycle,
)
from arpolicy.engagement.decide import (
    Action,
    CompiledCycle,
    History,
    Invoice,
    Outcome,
    decide,
    describe,
)
from arpolicy.engagement.schedule import window_opening
from arpolicy.engagement.template_data import StepLines, step_status
from arpolicy.engagement.templates import (
    InvoiceLine,
    RenderContext,
    builtin,
    choose_language,
    parse_locale,
    render,
)
from arpolicy.engagement.writing import PlannedEmail, write
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.kit.bank import BankDetails
from arpolicy.kit.clock import zone
from arpolicy.kit.gcpause import paused_gc
from arpolicy.ledger.statement import StatementItem
from arpolicy.ledger.statement import statements as ledger_statements
from arpolicy.ledger.tenants import payment_link
from arpolicy.models import (
    CycleStatus,
    EmailMode,
    Tenant,
)

RUN_STATUSES = (CycleStatus.LIVE, CycleStatus.TEST)
MAX_LISTED = 2_000
"""A report lists at most this many outcomes (the counts cover all)."""


# --- running ---------------------------------------------------------------------------------


@dataclass
class RunReport:
    as_of: date
    dry_run: bool
    cycles: list[str]
    customers: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    per_cycle: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    emails: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """Due steps dropped past their meaning (not sent), with the reason."""
    written: int = 0
    """Emails written by this run (0 in a dry run; fewer than decided when another run
    wrote some of them first)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "dry_run": self.dry_run, "cycles": self.cycles,
            "customers": self.customers, "counts": dict(self.counts),
            "per_cycle": {k: dict(v) for k, v in self.per_cycle.items()},
            "written": self.written, "emails": self.emails, "tasks": self.tasks,
            "held": self.held, "skipped": self.skipped,
        }  # fmt: skip


def day_bounds(tenant: Tenant, day: date) -> tuple[datetime, datetime]:
    tz = zone(tenant.timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def message_id(key: str, tenant: Tenant) -> str:
    digest = hashlib.sha256(f"{tenant.id}:{key}".encode()).hexdigest()[:32]
    return f"<{digest}@{tenant.slug}.arpolicy>"


@paused_gc()
def run(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    *,
    as_of: date,
    now: datetime,
    dry_run: bool = False,
    cycles: Sequence[str] | None = None,
    customer_ids: Sequence[int] | None = None,
    include_drafts: bool = False,
) -> RunReport:
    """Decide what every customer is due on ``as_of`` and (unless ``dry_run``) write it."""
    statuses = None if (include_drafts or cycles) else RUN_STATUSES
    stored = facts.stored_cycles(session, tenant, statuses, cycles)
    if cycles:
        missing = set(cycles) - {s.cycle.name for s in stored}
        if missing:
            raise NotFoundError(f"no cycle named {sorted(missing)[0]!r}",
                                fix="list cycles with arpolicy engage cycles")  # fmt: skip
    report = RunReport(as_of, dry_run, [s.cycle.name for s in stored])
    if not stored:
        return report
    if not dry_run:
        serialize_runs(session, tenant)
    settings = settings_of(session, tenant)
    compiled = facts.compile_cycles(session, tenant, stored, as_of)
    modes = {s.row.id: _mode(s.row.status) for s in stored}
    outcomes = decide_all(session, tenant, compiled, modes, settings, as_of, now, customer_ids)
    report.customers = len({o.customer_id for o in outcomes})
    act(session, tenant, actor, outcomes, settings, compiled, modes, as_of, now,
                        report, dry_run=dry_run)  # fmt: skip
    report.skipped = dropped.listed(outcomes, MAX_LISTED)
    if not dry_run:
        dropped.record(session, tenant, actor, outcomes, modes, now)
    return report


def serialize_runs(session: Session, tenant: Tenant) -> None:
    """One real run per tenant at a time: on PostgreSQL a transaction-scoped advisory lock
    (a second run waits, then decides from what the first wrote); SQLite's write
    transaction (BEGIN IMMEDIATE) already serializes them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k, :t)"), {"k": ADVISORY_KEY, "t": tenant.id}
        )


ADVISORY_KEY = 6_0001
"""The first key of the engagement runs' advisory locks (the second is the tenant id)."""


def email_key(o: Outcome, mode: EmailMode) -> str:
    assert o.cycle is not None and o.reminder is not None
    return f"{o.cycle.id}:{mode.value}:{o.reminder.name}:{o.customer_id}:{o.occurrence}"


def task_key(o: Outcome, mode: EmailMode) -> str:
    """A task is made once per step: the email's key and its latest step's date (no email
    goes, so the email's occurrence stays the same from one step to the next)."""
    return f"{email_key(o, mode)}:{max(s.on for _, s in o.invoices).isoformat()}"


def _mode(status: CycleStatus) -> EmailMode:
    return EmailMode.TEST if status == CycleStatus.TEST else EmailMode.LIVE


def decide_all(
    session: Session, tenant: Tenant, compiled: Sequence[CompiledCycle],
    modes: dict[int, EmailMode], settings: Settings, as_of: date, now: datetime,
    customer_ids: Sequence[int] | None = None, histories: dict[int, History] | None = None,
    as_of_balances: bool = False, invoices: dict[int, list[Invoice]] | None = None,
) -> list[Outcome]:  # fmt: skip
    """Every customer with open invoices (``invoices``, when the caller has read them):
    its outcomes on ``as_of`` (one, or one per email when its steps are not merged)."""
    if invoices is None:
        invoices = facts.open_invoices(
            session, tenant, as_of, customer_ids, as_of_balances=as_of_balances
        )
    people = facts.customers(session, tenant, invoices.keys(), as_of, now)
    if histories is None:
        open_ids = {inv.id for items in invoices.values() for inv in items}
        histories = {}
        for mode in set(modes.values()):
            ids = [c.id for c in compiled if modes[c.id] == mode]
            histories.update(facts.history(session, tenant, ids, mode, open_ids=open_ids))
    memo: dict[Any, Any] = {}
    return [o for cid in sorted(invoices)
            for o in decide(compiled, people[cid], invoices[cid], histories, settings, as_of, memo)]  # fmt: skip


def act(
    session: Session, tenant: Tenant, actor: Actor, outcomes: Sequence[Outcome],
    settings: Settings, compiled: Sequence[CompiledCycle], modes: dict[int, EmailMode],
    as_of: date, now: datetime, report: RunReport, *, dry_run: bool,
) -> tuple[list[PlannedEmail], list[dict[str, Any]]]:  # fmt: skip
    """Apply the daily cap, find recipients, render, and (unless dry) write."""
    start, end = day_bounds(tenant, as_of)
    used = facts.emails_today(session, tenant, start, end)
    room = max(settings.daily_cap - used, 0)
    due = [o for o in outcomes if o.action is Action.EMAIL]
    due.sort(key=lambda o: (o.due_on or as_of, o.customer_id))  # the oldest due first
    admitted, capped = due[:room], due[room:]
    for o in capped:
        o.action = Action.WAIT
        o.reason = (
            f"the daily cap of {settings.daily_cap} emails is reached: waits for the next run"
        )
    for o in outcomes:
        report.counts[o.action.value] += 1
        if o.cycle is not None:
            report.per_cycle[o.cycle.cycle.name][o.action.value] += 1
        if o.action in (Action.WAIT, Action.PAUSED) and len(report.held) < MAX_LISTED:
            report.held.append(describe(o))
    ids = [o.customer_id for o in admitted]
    book = facts.addresses(session, tenant, ids)
    owners = facts.owners(session, tenant, ids)
    people = facts.people(session, tenant)
    statements = ledger_statements(session, tenant, [o.customer_id for o in admitted
                                   if o.reminder is not None and o.reminder.statement], as_of)  # fmt: skip
    bank = BankDetails.from_json(tenant.bank_details)
    planned: list[PlannedEmail] = []
    tasks: list[dict[str, Any]] = []
    for o in admitted:
        assert o.cycle is not None and o.reminder is not None
        mode = modes[o.cycle.id]
        key = email_key(o, mode)
        c = o.customer
        assert c is not None  # an email outcome carries its customer
        finance_id, sales_id = owners.get(o.customer_id, (None, None))
        finance, sales = (
            people.get(finance_id) if finance_id else None,
            people.get(sales_id) if sales_id else None,
        )
        recipients = [a for a in book.get(o.customer_id, []) if a.billing] or [
            a for a in book.get(o.customer_id, []) if a.primary]  # fmt: skip
        if not recipients:
            key = task_key(o, mode)
            report.counts[Action.EMAIL.value] -= 1
            report.counts[Action.TASK.value] += 1
            report.per_cycle[o.cycle.cycle.name][Action.EMAIL.value] -= 1
            report.per_cycle[o.cycle.cycle.name][Action.TASK.value] += 1
            task = {"customer_id": o.customer_id, "external_id": c.external_id, "key": key,
                    "user_id": finance.id if finance else None, "cycle": o.cycle.cycle.name,
                    "reminder": o.reminder.name, "due_on": o.due_on,
                    "detail": f"{o.reason}; the customer has no usable billing address "
                              "(none, bounced or unsubscribed): contact it another way"}  # fmt: skip
            tasks.append(task)
            continue
        sender = finance.email if finance else settings.from_address
        if sender is None:
            raise ValidationError(
                f"customer {c.external_id} has no finance owner and no from address is set",
                where="settings.from_address",
                fix="set settings.from_address (arpolicy engage settings), or assign finance owners",
            )
        to = [a.email for a in recipients]
        cc = _cc(o.reminder.cc, finance, sales, not_to=[sender, *to])
        st = statements.get(o.customer_id) if o.reminder.statement else None
        steps = _steps(o, as_of)
        ctx = RenderContext(
            tenant_name=tenant.name, customer_name=c.name, customer_external_id=c.external_id,
            contact_name=recipients[0].name, sender_name=(finance.name if finance else settings.from_name),
            sender_email=sender, cycle=o.cycle.cycle.name, reminder=o.reminder.name, as_of=as_of,
            invoices=steps[0].invoices, steps=steps, test=mode is EmailMode.TEST,
            statement=[_item(i, as_of) for i in st.items] if st else None,
            statement_balance=st.balances if st else None, bank=bank,
            payment_link=payment_link(tenant.payment_link_url, c.external_id),
        )  # fmt: skip
        wanted = [recipients[0].language, c.language, c.locale, settings.default_language]
        templates = o.reminder.template
        locale = _locale(templates, wanted, c, settings)
        rendered = render(templates, ctx, locale)
        subject = rendered.subject
        if mode is EmailMode.TEST:
            subject, to, cc = f"[TEST] {subject}"[:998], [settings.test_address or ""], []
        send_after, _ = window_opening(o.cycle.cycle.send_window, c.timezone or tenant.timezone,
                                       max(now, start), as_of)  # fmt: skip
        planned.append(PlannedEmail(
            o, mode, key, message_id(key, tenant), to, cc,
            _address(sender, finance.name if finance else settings.from_name), finance.email if finance else None,
            subject, rendered.text, rendered.html, rendered.language, send_after, c.external_id, as_of,
        ))  # fmt: skip
    for p in planned[:MAX_LISTED]:
        report.emails.append(describe(p.outcome) | {
            "key": p.key, "to": p.to, "cc": p.cc, "subject": p.subject, "language": p.language,
            "send_after": p.send_after.isoformat(), "mode": p.mode.value,
            "external_id": p.customer_external_id})  # fmt: skip
    report.tasks = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in t.items()}
                    for t in tasks[:MAX_LISTED]]  # fmt: skip
    if not dry_run:
        report.written = write(session, tenant, actor, planned, tasks, now)
    return planned, tasks


def _locale(templates: Any, wanted: list[str | None], c: Any, settings: Settings) -> str:
    """The locale to render in: the first wanted language the templates have (else the
    default), in the customer's country (de + AT: de_AT) unless its locale says more."""
    languages = builtin(templates).keys() if isinstance(templates, str) else templates.keys()
    lang = choose_language(languages, wanted, settings.default_language)
    loc = (
        c.locale if c.locale and c.locale.replace("-", "_").split("_")[0].lower() == lang else None
    )
    if loc is None and c.country:
        loc = f"{lang}_{c.country.upper()}"
    return loc if loc is not None and _known_locale(loc) else lang


@lru_cache(maxsize=1024)
def _known_locale(code: str) -> bool:
    """Babel knows it (en_JP, say, is not a locale: English then falls back to plain en)."""
    try:
        parse_locale(code)
    except (ValueError, UnknownLocaleError):
        return False
    return True


def _address(email: str, name: str | None) -> str:
    from email.headerregistry import Address

    if not name:
        return email
    local, _, domain = email.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def _cc(wanted: Sequence[str], finance: Any, sales: Any, not_to: Sequence[str]) -> list[str]:
    """The cc addresses the reminder asks for, each once, never one of ``not_to`` (the
    sender, who is not copied on her own email, and the recipients)."""
    out: list[str] = []
    seen = {a.strip().lower() for a in not_to}
    for w in wanted:
        email = (finance.email if finance else None) if w == "finance_owner" else (
            (sales.email if sales else None) if w == "sales_owner" else w)  # fmt: skip
        if email and email.strip().lower() not in seen:
            seen.add(email.strip().lower())
            out.append(email)
    return out


def _line(inv: Any, as_of: date) -> InvoiceLine:
    return InvoiceLine(inv.number, inv.doc_type, inv.document_date, inv.due_date,
                       max((as_of - inv.due_date).days, 0), inv.total, inv.balance)  # fmt: skip


def _steps(o: Outcome, as_of: date) -> list[StepLines]:
    """The email's steps with their lines, its own first (each invoice under its step)."""
    out = []
    for reminder, pairs in o.steps():
        lines = [_line(inv, as_of) for inv, _ in pairs]
        out.append(StepLines(reminder.name, lines, step_status(lines, as_of)))
    return out


def _item(item: StatementItem, as_of: date) -> InvoiceLine:
    """A statement item as a line: credit and payments negative, never overdue."""
    days = max((as_of - item.due_on).days, 0) if item.due_on else 0
    return InvoiceLine(item.number, item.kind, item.issued_on, item.due_on, days, item.amount,
                       item.open)  # fmt: skip


__all__ = ["RUN_STATUSES", "RunReport", "act", "decide_all", "delete_cycle", "get_cycle",
           "message_id", "run", "save_cycle", "save_settings", "set_status", "settings_of",
           "validate_cycle", "write"]  # fmt: skip
