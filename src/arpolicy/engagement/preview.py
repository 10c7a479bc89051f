"""Part of the admin room: a reminder's templates rendered for one real customer, in each
language the templates have (the web app's preview; nothing is written).

The customer's open invoices and debit notes are the email's invoices (its statement of
account too when the reminder attaches one), its first billing contact (else primary) the
contact, its finance owner the sender (else the settings' from address), as a run composes
them; the language the customer would get is marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.engagement import repository as repo
from arpolicy.engagement._compose import _item, _known_locale, _locale
from arpolicy.engagement.config import Reminder, parse_cycle
from arpolicy.engagement.template_data import RenderContext
from arpolicy.engagement.templates import _resolve, render
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.kit.bank import BankDetails
from arpolicy.ledger.statement import statements
from arpolicy.ledger.tenants import payment_link
from arpolicy.models import Customer, Tenant

DEBITS = ("invoice", "debit_note")


@dataclass(frozen=True)
class Preview:
    """One language of the reminder's templates, rendered (or why it could not be)."""

    language: str
    locale: str
    chosen: bool
    """The language this customer would get."""
    subject: str = ""
    text: str = ""
    html: str | None = None
    error: str | None = None


def template_languages(templates: Any) -> list[str]:
    """The languages of a reminder's templates (a built-in's, or the cycle's own)."""
    return sorted(_resolve(templates))


def reminder_of(config: Any, name: str) -> Reminder:
    cycle = parse_cycle(config)
    for reminder in cycle.reminders:
        if reminder.name == name:
            return reminder
    raise NotFoundError(
        f"the cycle has no reminder named {name!r}",
        where="reminder",
        fix=f"pick one of {', '.join(r.name for r in cycle.reminders)}",
    )


def find_customer(session: Session, tenant: Tenant, ident: str) -> Customer:
    """The tenant's customer with this external id (or, for digits, this id)."""
    text = ident.strip()
    c = Customer
    stmt = select(c).where(c.tenant_id == tenant.id, c.external_id == text)
    found = session.scalar(stmt)
    if found is None and text.isdigit():
        found = session.scalar(select(c).where(c.tenant_id == tenant.id, c.id == int(text)))
    if found is None:
        raise ValidationError(
            f"no customer {text!r}",
            where="customer",
            fix="give a customer's id as the ledger has it (external id), e.g. from /customers",
        )
    return found


def preview(
    session: Session,
    tenant: Tenant,
    config: Any,
    reminder_name: str,
    customer: Customer,
    as_of: date,
) -> list[Preview]:
    """The reminder ``reminder_name`` of the cycle ``config`` for ``customer`` on
    ``as_of``, once per language of its templates."""
    cycle = parse_cycle(config)
    reminder = reminder_of(config, reminder_name)
    settings = repo.settings_of(session, tenant)
    statement = statements(session, tenant, [customer.id], as_of)[customer.id]
    lines = [_item(i, as_of) for i in statement.items]
    invoices = [ln for ln in lines if ln.document_type in DEBITS]
    book = repo.recipients(repo.addresses(session, tenant, [customer.id]).get(customer.id, []))
    finance_id = repo.owners(session, tenant, [customer.id]).get(customer.id, (None, None))[0]
    finance = repo.people(session, tenant).get(finance_id) if finance_id else None
    ctx = RenderContext(
        tenant_name=tenant.name,
        customer_name=customer.name,
        customer_external_id=customer.external_id,
        contact_name=book[0].name if book else None,
        sender_name=finance.name if finance else settings.from_name,
        sender_email=finance.email if finance else settings.from_address,
        cycle=cycle.name,
        reminder=reminder.name,
        as_of=as_of,
        invoices=invoices,
        statement=lines if reminder.statement else None,
        bank=BankDetails.from_json(tenant.bank_details),
        payment_link=payment_link(tenant.payment_link_url, customer.external_id),
    )
    templates = reminder.template
    wanted = [book[0].language if book else None, customer.language, customer.locale]
    chosen = _locale(templates, [*wanted, settings.default_language], customer, settings)
    chosen_lang = chosen.replace("-", "_").split("_")[0]
    out = []
    for language in _resolve(templates):
        local = f"{language}_{customer.country.upper()}" if customer.country else language
        locale = local if _known_locale(local) else language
        is_chosen = language == chosen_lang
        locale = chosen if is_chosen else locale
        try:
            done = render({language: _resolve(templates)[language]}, ctx, locale)
        except (TemplateError, ValidationError) as exc:
            out.append(Preview(language, locale, is_chosen, error=str(exc)))
            continue
        out.append(Preview(language, locale, is_chosen, done.subject, done.text, done.html))
    return out
