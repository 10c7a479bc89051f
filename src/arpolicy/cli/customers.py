"""``arpolicy customers list|show``: customers with their AR figures."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import select

from arpolicy.cli import terminal
from arpolicy.cli.common import (
    AsOfOption,
    JsonOption,
    TenantOption,
    handle_errors,
    parse_as_of,
    tenant_session,
)
from arpolicy.kit.money import Money
from arpolicy.ledger.documents import DocumentFigures, open_documents
from arpolicy.ledger.figures import CustomerFigures, customer_figures
from arpolicy.models import Customer, User
from arpolicy.tenancy.lookups import by_external_id

app = typer.Typer(help="Customers and their AR figures.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_customers(
    tenant: str = TenantOption,
    as_of: str = AsOfOption,
    overdue_only: bool = typer.Option(
        False, "--overdue", help="Only customers with overdue items."
    ),
    limit: int = typer.Option(0, help="Show at most this many (0: all)."),
    as_json: bool = JsonOption,
) -> None:
    """List customers with outstanding and overdue in the base currency, largest first."""
    with tenant_session(tenant) as (session, t):
        on = parse_as_of(as_of, t)
        figs = customer_figures(session, t, on)
    if overdue_only:
        figs = [f for f in figs if f.base.overdue > 0]
    figs.sort(key=lambda f: (-f.base.outstanding, f.external_id))
    if limit:
        figs = figs[:limit]
    if as_json:
        terminal.print_json({"as_of": on.isoformat(), "customers": [f.to_json() for f in figs]})
        return
    terminal.table(
        f"Customers of {t.slug} as of {on.isoformat()} ({t.base_currency})",
        [
            ("id", "left"),
            ("name", "left"),
            ("currency", "left"),
            ("outstanding", "right"),
            ("overdue", "right"),
            ("over 90", "right"),
            ("open issue", "right"),
            ("next P2P", "left"),
        ],
        [
            [
                f.external_id,
                f.name,
                f.local.currency if f.local else "mixed",
                f.base.money("outstanding").to_json()["amount"],
                f.base.money("overdue").to_json()["amount"],
                Money.from_minor(sum(f.base.buckets[4:]), t.base_currency).to_json()["amount"],
                f.base.money("open_issue").to_json()["amount"],
                f.next_p2p_date,
            ]
            for f in figs
        ],
    )


@app.command("show")
@handle_errors
def show_customer(
    external_id: str = typer.Argument(..., help="The customer's external id."),
    tenant: str = TenantOption,
    as_of: str = AsOfOption,
    as_json: bool = JsonOption,
) -> None:
    """One customer: details, figures and open documents."""
    with tenant_session(tenant) as (session, t):
        on = parse_as_of(as_of, t)
        c = by_external_id(
            session,
            Customer,
            t.id,
            external_id,
            what="customer",
            tenant_label=t.slug,
            fix="`arpolicy customers list` shows the ids",
        )
        owners = {
            u.id: u.email
            for u in session.scalars(
                select(User).where(
                    User.tenant_id == t.id,
                    User.id.in_([i for i in (c.finance_owner_id, c.sales_owner_id) if i]),
                )
            )
        }
        fig = customer_figures(session, t, on, [c.id])[0]
        docs = open_documents(session, t, c.id, on)
    details = {
        "external_id": c.external_id,
        "name": c.name,
        "country": c.country,
        "language": c.language,
        "currency": c.currency,
        "segment": c.segment,
        "group": c.customer_group,
        "net_term_days": c.net_term_days,
        "finance_owner": owners.get(c.finance_owner_id or 0),
        "sales_owner": owners.get(c.sales_owner_id or 0),
        "auto_collection": c.auto_collection,
        "custom_fields": c.custom_fields,
    }
    if as_json:
        terminal.print_json(
            {
                "customer": details,
                "figures": fig.to_json(),
                "open_documents": [d.to_json() for d in docs],
            }
        )
        return
    _print_customer(details, fig, docs)


def _print_customer(
    details: dict[str, Any], fig: CustomerFigures, docs: list[DocumentFigures]
) -> None:
    terminal.table(
        f"{details['name']} ({details['external_id']})",
        [("field", "left"), ("value", "left")],
        [[k, v] for k, v in details.items() if k != "custom_fields"]
        + [[f"cf.{k}", v] for k, v in sorted(details["custom_fields"].items())],
    )
    rows: list[list[Any]] = []
    for side in (
        (fig.base, fig.local)
        if fig.local and fig.local.currency != fig.base.currency
        else (fig.base,)
    ):
        for name in (
            "open_debits",
            "unutilised_credit",
            "unaccounted_payment",
            "outstanding",
            "overdue",
            "net_overdue",
            "open_issue",
            "open_p2p",
        ):
            rows.append([name.replace("_", " "), str(side.money(name))])
        for label, v in zip(fig.bucket_labels, side.buckets, strict=True):
            rows.append([f"ageing {label}", str(Money.from_minor(v, side.currency))])
    rows += [
        ["next P2P date", fig.next_p2p_date],
        ["DSO (days)", fig.dso_days],
        ["payment attempts", fig.payment_attempts],
        ["avg attempts per invoice", fig.average_payment_attempts],
        ["outstanding mismatch", fig.outstanding_mismatch],
    ]
    terminal.table(
        f"Figures as of {fig.as_of.isoformat()}", [("figure", "left"), ("value", "right")], rows
    )
    terminal.table(
        "Open documents",
        [
            ("number", "left"),
            ("type", "left"),
            ("due", "left"),
            ("days past due", "right"),
            ("amount", "right"),
            ("balance", "right"),
            ("disputed", "left"),
            ("P2P", "left"),
        ],
        [
            [
                d.number,
                d.doc_type,
                d.due_date,
                d.days_past_due,
                str(d.amount),
                str(d.balance),
                "yes" if d.disputed else "",
                d.p2p_date,
            ]
            for d in docs
        ],
    )
