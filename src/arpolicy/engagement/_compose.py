"""Part of the service room: acting on a day's decision. Each email admitted gets its
recipients (the billing contacts, else the primary ones), its sender (the finance owner,
else the settings' from address), its cc, its rendering in the customer's language and its
send time (the send window's next opening); each task its finance owner."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel import UnknownLocaleError
from sqlalchemy.orm import Session

from arpolicy.engagement import repository as repo
from arpolicy.engagement.config import Settings
from arpolicy.engagement.policy import (
    DayDecision,
    Outcome,
    day_bounds,
    email_key,
    task_key,
    window_opening,
)
from arpolicy.engagement.template_data import StepLines, step_status
from arpolicy.engagement.templates import (
    InvoiceLine,
    RenderContext,
    builtin,
    choose_language,
    parse_locale,
    render,
)
from arpolicy.exceptions import ValidationError
from arpolicy.kit.bank import BankDetails
from arpolicy.ledger.statement import StatementItem
from arpolicy.ledger.statement import statements as ledger_statements
from arpolicy.ledger.tenants import payment_link
from arpolicy.models import EmailMode, Tenant

NO_ADDRESS = (
    "the customer has no usable billing address (none, bounced or unsubscribed): "
    "contact it another way"
)


def message_id(key: str, tenant: Tenant) -> str:
    """An email's Message-ID, derived from its key (the same on every run)."""
    digest = hashlib.sha256(f"{tenant.id}:{key}".encode()).hexdigest()[:32]
    return f"<{digest}@{tenant.slug}.arpolicy>"


def compose(
    session: Session,
    tenant: Tenant,
    decision: DayDecision,
    settings: Settings,
    modes: Mapping[int, EmailMode],
    now: datetime,
) -> tuple[list[repo.PlannedEmail], list[dict[str, Any]]]:
    """The emails of ``decision`` ready to write, and its tasks, in the order admitted."""
    as_of = decision.day
    admitted = [o.customer_id for o in (*decision.emails, *decision.tasks)]
    book = repo.addresses(session, tenant, [o.customer_id for o in decision.emails])
    owners = repo.owners(session, tenant, admitted)
    people = repo.people(session, tenant)

    def owner(o: Outcome, k: int) -> repo.Person | None:
        found = owners.get(o.customer_id, (None, None))[k]
        return people.get(found) if found else None

    tasks = []
    for o in decision.tasks:
        assert o.cycle is not None and o.reminder is not None and o.customer is not None
        finance = owner(o, 0)
        tasks.append(
            {
                "customer_id": o.customer_id,
                "external_id": o.customer.external_id,
                "key": task_key(o, modes[o.cycle.id]),
                "user_id": finance.id if finance else None,
                "cycle": o.cycle.cycle.name,
                "reminder": o.reminder.name,
                "due_on": o.due_on,
                "detail": f"{o.reason}; {NO_ADDRESS}",
            }
        )
    with_statement = [o.customer_id for o in decision.emails if o.reminder and o.reminder.statement]
    statements = ledger_statements(session, tenant, with_statement, as_of)
    bank = BankDetails.from_json(tenant.bank_details)
    not_before = max(now, day_bounds(tenant.timezone, as_of)[0])
    planned = []
    for o in decision.emails:
        recipients = repo.recipients(book.get(o.customer_id, []))
        assert recipients, "the decision admits an email only to a customer with an address"
        assert o.cycle is not None
        email = _Email(o, modes[o.cycle.id], recipients, owner(o, 0), owner(o, 1))
        statement = statements.get(o.customer_id)
        planned.append(_planned(tenant, settings, email, statement, bank, not_before, as_of))
    return planned, tasks


@dataclass(frozen=True)
class _Email:
    """What one admitted email is composed from."""

    outcome: Outcome
    mode: EmailMode
    recipients: list[repo.Address]
    finance: repo.Person | None
    sales: repo.Person | None


def _planned(
    tenant: Tenant,
    settings: Settings,
    email: _Email,
    statement: Any,
    bank: BankDetails | None,
    not_before: datetime,
    as_of: date,
) -> repo.PlannedEmail:
    o, mode, recipients, finance = email.outcome, email.mode, email.recipients, email.finance
    assert o.cycle is not None and o.reminder is not None and o.customer is not None
    c, key = o.customer, email_key(o, mode)
    sender = finance.email if finance else settings.from_address
    if sender is None:
        raise ValidationError(
            f"customer {c.external_id} has no finance owner and no from address is set",
            where="settings.from_address",
            fix="set settings.from_address (arpolicy engage settings), or assign finance owners",
        )
    sender_name = finance.name if finance else settings.from_name
    to = [a.email for a in recipients]
    cc = _cc(o.reminder.cc, finance, email.sales, not_to=[sender, *to])
    st = statement if o.reminder.statement else None
    steps = _steps(o, as_of)
    ctx = RenderContext(
        tenant_name=tenant.name,
        customer_name=c.name,
        customer_external_id=c.external_id,
        contact_name=recipients[0].name,
        sender_name=sender_name,
        sender_email=sender,
        cycle=o.cycle.cycle.name,
        reminder=o.reminder.name,
        as_of=as_of,
        invoices=steps[0].invoices,
        steps=steps,
        test=mode is EmailMode.TEST,
        statement=[_item(i, as_of) for i in st.items] if st else None,
        statement_balance=st.balances if st else None,
        bank=bank,
        payment_link=payment_link(tenant.payment_link_url, c.external_id),
    )
    wanted = [recipients[0].language, c.language, c.locale, settings.default_language]
    templates = o.reminder.template
    rendered = render(templates, ctx, _locale(templates, wanted, c, settings))
    subject = rendered.subject
    if mode is EmailMode.TEST:
        subject, to, cc = f"[TEST] {subject}"[:998], [settings.test_address or ""], []
    window = o.cycle.cycle.send_window
    send_after, _ = window_opening(window, c.timezone or tenant.timezone, not_before, as_of)
    return repo.PlannedEmail(
        o,
        mode,
        key,
        message_id(key, tenant),
        to,
        cc,
        _address(sender, sender_name),
        finance.email if finance else None,
        subject,
        rendered.text,
        rendered.html,
        rendered.language,
        send_after,
        c.external_id,
        as_of,
    )


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
        if w == "finance_owner":
            email = finance.email if finance else None
        elif w == "sales_owner":
            email = sales.email if sales else None
        else:
            email = w
        if email and email.strip().lower() not in seen:
            seen.add(email.strip().lower())
            out.append(email)
    return out


def _line(inv: Any, as_of: date) -> InvoiceLine:
    overdue = max((as_of - inv.due_date).days, 0)
    return InvoiceLine(
        inv.number, inv.doc_type, inv.document_date, inv.due_date, overdue, inv.total, inv.balance
    )


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
    return InvoiceLine(
        item.number, item.kind, item.issued_on, item.due_on, days, item.amount, item.open
    )
