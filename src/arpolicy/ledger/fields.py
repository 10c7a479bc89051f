"""The standard field catalogue: the fields a rule may read at each level over the ledger's
records (see :mod:`arpolicy.rules.catalogue` for the naming scheme). The rule language is
pure and never imports this: the catalogue is built here and handed to it.

Customer amounts come in two forms: ``outstanding`` (base_money, the tenant's base
currency, always present) and ``outstanding_local`` (money, in the customer's currency,
missing when its open items are in several currencies), as the figures compute them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.field_kit import BOOL, DT, INT, B, C, D, E, M, S, make, values_of
from arpolicy.ledger.fields_payments import payment_fields
from arpolicy.models import DEFAULT_AGEING_BOUNDS, DocumentType
from arpolicy.rules.catalogue import (
    CUSTOM_TYPES,
    Catalogue,
    CustomField,
    Field,
    FieldSet,
    Level,
    Type,
)
from arpolicy.rules.people import Directory

CUSTOMER_AMOUNTS = [
    ("outstanding", "Outstanding", "open debits - unutilised credit - unaccounted payments"),
    ("overdue", "Overdue", "debit balance of items past their due date"),
    ("net_overdue", "Net overdue", "overdue - unutilised credit"),
    ("open_debits", "Open debits", "open balance of invoices and debit notes"),
    ("unaccounted_payment", "Unaccounted payment", "payments not yet allocated to items"),
    ("unutilised_credit", "Unutilised credit", "open balance of credit notes"),
    ("open_issue_amount", "Open issue amount", "amount under open disputes"),
    ("open_p2p_amount", "Open P2P amount", "amount of open promises to pay"),
]


def customer_fields(base: str, bounds: Sequence[int]) -> list[Field]:
    lv = Level.CUSTOMER
    amounts = list(CUSTOMER_AMOUNTS)
    for label in bucket_labels(bounds):
        key = label.replace("-", "_").replace(" ", "_")
        amounts.append((f"ageing_{key}", f"Ageing {label}", f"debit balance aged {label} days"))
    fields = []
    for name, label, doc in amounts:
        fields.append(make(lv, name, label, B, False, f"{doc}, in {base}.", currency=base))
        fields.append(
            make(
                lv,
                f"{name}_local",
                f"{label} (customer currency)",
                M,
                True,
                f"{doc}, in the customer's currency; empty when its items are in several.",
                currency_column="local_currency",
            )
        )
    fields += [
        make(
            lv,
            "outstanding_mismatch",
            "Outstanding mismatch",
            M,
            True,
            "balance reported by the billing system minus outstanding computed here.",
            currency_column="currency",
        ),
        make(lv, "last_email_at", "Last email date", DT, True, "when the last email was sent."),
        make(lv, "last_reply_at", "Last reply date", DT, True, "when the customer last replied."),
        make(lv, "next_p2p_date", "Next P2P date", D, True, "earliest open promise-to-pay date."),
        make(
            lv, "finance_owner", "Finance owner", C, True, "the finance owner's email.", code="user"
        ),
        make(lv, "sales_owner", "Sales owner", C, True, "the sales owner's email.", code="user"),
        make(lv, "country", "Country", C, True, "ISO 3166-1 alpha-2 code.", code="country"),
        make(lv, "language", "Language", C, True, "ISO 639 code.", code="language"),
        make(lv, "currency", "Currency", C, True, "billing currency (ISO 4217).", code="currency"),
        make(lv, "region", "Region", S, True, "sales region."),
        make(lv, "locale", "Locale", S, True, "locale, e.g. de_DE."),
        make(lv, "segment", "Segment", S, True, "customer segment."),
        make(lv, "group", "Group", S, True, "customer group.", column="customer_group"),
    ]
    return fields


def invoice_fields(base: str) -> list[Field]:
    lv = Level.INVOICE
    own = "currency"
    return [
        make(lv, "amount", "Amount", M, False, "document amount.", currency_column=own),
        make(lv, "balance", "Balance", M, False, "open balance.", currency_column=own),
        make(
            lv,
            "converted_amount",
            "Converted amount",
            B,
            False,
            f"amount in {base}.",
            currency=base,
            column="base_amount_minor",
        ),
        make(
            lv,
            "converted_balance",
            "Converted balance",
            B,
            False,
            f"balance in {base}.",
            currency=base,
            column="base_balance_minor",
        ),
        make(
            lv,
            "open_issue_amount",
            "Open issue amount",
            M,
            False,
            "amount under open disputes.",
            currency_column=own,
        ),
        make(
            lv,
            "open_p2p_amount",
            "Open P2P amount",
            M,
            False,
            "amount of open promises.",
            currency_column=own,
        ),
        make(lv, "document_date", "Document date", D, False, "date of the document."),
        make(lv, "due_date", "Due date", D, False, "date payment is due."),
        make(lv, "posting_date", "Posting date", D, True, "date posted to the ledger."),
        make(lv, "p2p_date", "P2P date", D, True, "earliest open promise-to-pay date."),
        make(lv, "last_email_at", "Last email date", DT, True, "last email about the document."),
        make(lv, "last_reply_at", "Last reply date", DT, True, "last reply about the document."),
        make(
            lv,
            "transaction_type",
            "Transaction type",
            S,
            True,
            "the billing system's own type (e.g. subscription); for debit or credit see"
            " debit_or_credit.",
        ),
        make(
            lv,
            "debit_or_credit",
            "Transaction type (debit or credit)",
            E,
            False,
            "debit for an invoice or debit note, credit for a credit note.",
            values=("debit", "credit"),
        ),
        make(
            lv,
            "document_type",
            "Document type",
            E,
            False,
            "invoice, debit or credit note.",
            values=values_of(DocumentType),
            column="doc_type",
        ),
        make(lv, "currency", "Currency", C, False, "document currency.", code="currency"),
        make(lv, "location", "Location", S, True, "location."),
        make(lv, "business_unit", "Business unit", S, True, "business unit."),
        make(lv, "has_p2p_date", "Has P2P date", BOOL, False, "an open promise to pay exists."),
        make(
            lv,
            "disputed",
            "Disputed",
            BOOL,
            False,
            "flagged by the billing system, or with an open dispute.",
        ),
        make(lv, "paid", "Paid", BOOL, False, "the balance is zero."),
        make(
            lv,
            "days_past_due",
            "Days past due",
            INT,
            True,
            "as-of date minus due date (negative before it); empty for a paid, voided or"
            " credit document.",
        ),
        make(lv, "payment_attempts", "Payment attempts", INT, False, "attempts for the document."),
    ]


def custom_field(level: Level, c: CustomField) -> Field:
    type_ = CUSTOM_TYPES[c.type]
    extra: dict[str, object] = {"column": "custom_fields", "json_key": c.key}
    if type_ is Type.ENUM:
        extra["values"] = c.options
    if type_ is Type.MONEY:
        extra["currency"] = c.currency
    return make(
        level,
        f"cf.{c.key}",
        c.label or c.key.replace("_", " ").capitalize(),
        type_,
        True,
        f"custom field {c.key} ({c.type}).",
        **extra,
    )


def under_customer(f: Field, level: Level) -> Field:
    """A customer field as seen from an invoice or a payment profile."""
    return replace(
        f,
        name=f"customer.{f.name}",
        label=f"Customer {f.label[0].lower()}{f.label[1:]}",
        level=level,
        column=f"customer__{f.column}",
        currency_column=f"customer__{f.currency_column}" if f.currency_column else None,
    )


def build_levels(
    base: str, bounds: Sequence[int], customs: Sequence[CustomField]
) -> dict[Level, FieldSet]:
    customer = customer_fields(base, bounds)
    customer += [custom_field(Level.CUSTOMER, c) for c in customs if c.entity == "customer"]
    invoice = invoice_fields(base)
    invoice += [custom_field(Level.INVOICE, c) for c in customs if c.entity == "document"]
    invoice += [under_customer(f, Level.INVOICE) for f in customer]
    payment = payment_fields() + [under_customer(f, Level.PAYMENT) for f in customer]
    return {
        Level.CUSTOMER: FieldSet(Level.CUSTOMER, base, customer),
        Level.INVOICE: FieldSet(Level.INVOICE, base, invoice),
        Level.PAYMENT: FieldSet(Level.PAYMENT, base, payment),
    }


def catalogue_for(
    base_currency: str,
    ageing_bounds: Sequence[int] = tuple(DEFAULT_AGEING_BOUNDS),
    custom_fields: Iterable[Any] = (),
    users: Iterable[tuple[str, str]] | Directory | None = None,
) -> Catalogue:
    """A tenant's catalogue from plain values (:func:`arpolicy.ledger.catalogue.tenant_catalogue`
    reads them from the database)."""
    return Catalogue.build(
        base_currency, ageing_bounds, custom_fields, users, standard=build_levels
    )
