"""``arpolicy tenants set``: change a tenant's settings, as ``PATCH /v1/tenant`` does (the
same checks, the same ``tenant.updated`` audit event)."""

from __future__ import annotations

import getpass
from typing import Any

import typer

from arpolicy.audit import Actor
from arpolicy.cli import terminal
from arpolicy.cli.common import JsonOption, clock, handle_errors, tenant_session
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.tenants import update_tenant
from arpolicy.models import Tenant

OPTION_OF = {
    "name": "--name",
    "timezone": "--timezone",
    "locale": "--locale",
    "ageing_bounds": "--ageing",
    "payment_link_url": "--payment-link",
    "bank_details.account_holder": "--bank-holder",
    "bank_details.iban": "--iban",
    "bank_details.bic": "--bic",
    "bank_details.bank_name": "--bank-name",
    "bank_details": "--iban",
}
"""The option that gives each setting (error messages name the option)."""


def describe(t: Tenant) -> dict[str, Any]:
    """The tenant's settings as `tenants list --json` and `tenants set --json` print them."""
    return {
        "slug": t.slug,
        "name": t.name,
        "base_currency": t.base_currency,
        "timezone": t.timezone,
        "locale": t.locale,
        "ageing_bounds": t.ageing_bounds,
        "payment_link_url": t.payment_link_url,
        "bank_details": t.bank_details,
    }


def _patch(
    t: Tenant, given: dict[str, Any], link: str | None, bank: dict[str, Any], no_bank: bool
) -> dict[str, Any]:
    patch = {k: v for k, v in given.items() if v is not None}
    if "ageing_bounds" in patch:
        try:
            patch["ageing_bounds"] = [int(b) for b in patch["ageing_bounds"].split(",")]
        except ValueError:
            raise ValidationError(
                f"{patch['ageing_bounds']!r} is not a list of days",
                where="--ageing",
                fix="give increasing upper bounds separated by commas, e.g. 30,60,90,120",
            ) from None
    if link is not None:
        patch["payment_link_url"] = link.strip() or None
    given_bank = {k: v for k, v in bank.items() if v is not None}
    if no_bank and given_bank:
        raise ValidationError(
            "--no-bank removes the bank details: it cannot be given with "
            + ", ".join(OPTION_OF[f"bank_details.{k}"] for k in given_bank),
            where="--no-bank",
            fix="either remove the bank details or give new ones",
        )
    if no_bank:
        patch["bank_details"] = None
    elif given_bank:  # a change to stored details: the rest stays
        patch["bank_details"] = {**(t.bank_details or {}), **given_bank}
    return patch


@handle_errors
def tenants_set(
    slug: str = typer.Argument(..., help="The tenant to change."),
    name: str = typer.Option(None, help="Display name (it signs the reminders)."),
    timezone: str = typer.Option(None, help="IANA zone that decides the tenant's 'today'."),
    locale: str = typer.Option(None, help="Default locale for formatting."),
    ageing: str = typer.Option(None, help="Ageing bucket upper bounds in days, e.g. 30,60,90."),
    payment_link: str = typer.Option(
        None,
        "--payment-link",
        help="https URL where customers pay, offered in reminders; {customer_number} stands "
        "for the customer's number, e.g. https://pay.example.com/{customer_number}. "
        "'' removes it.",
    ),
    bank_holder: str = typer.Option(None, "--bank-holder", help="Account holder for transfers."),
    iban: str = typer.Option(None, "--iban", help="IBAN for transfers (checked; spaces allowed)."),
    bic: str = typer.Option(None, "--bic", help="BIC (SWIFT code) of the bank."),
    bank_name: str = typer.Option(None, "--bank-name", help="Name of the bank."),
    no_bank: bool = typer.Option(False, "--no-bank", help="Remove the bank details."),
    as_json: bool = JsonOption,
) -> None:
    """Change a tenant's settings: name, zone, locale, ageing, and what reminders say about
    paying (a payment link, bank details). Every value is checked before anything changes;
    the change is audited (tenant.updated)."""
    given = {"name": name, "timezone": timezone, "locale": locale, "ageing_bounds": ageing}
    bank = {"account_holder": bank_holder, "iban": iban, "bic": bic, "bank_name": bank_name}
    with tenant_session(slug, write=True) as (session, t):
        patch = _patch(t, given, payment_link, bank, no_bank)
        if not patch:
            raise ValidationError(
                "nothing to change",
                where=slug,
                fix="give at least one setting, e.g. --payment-link URL (see --help)",
            )
        actor = Actor(tenant_id=t.id, label=f"cli:{getpass.getuser()}")
        try:
            new = update_tenant(session, t, patch, actor, clock().now())
        except ValidationError as exc:
            exc.where = OPTION_OF.get(exc.where or "", exc.where)
            raise
        data = describe(t)
    if as_json:
        terminal.print_json(data)
        return
    done = ", ".join(sorted(new)) if new else "nothing (the values were already set)"
    terminal.say(f"tenant {data['slug']}: changed {done}")
