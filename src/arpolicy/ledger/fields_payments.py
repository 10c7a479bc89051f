"""The standard fields of the payment level (a payment profile: its source and its attempts),
part of the catalogue :mod:`arpolicy.ledger.fields` builds."""

from __future__ import annotations

from arpolicy.ledger.field_kit import BOOL, DT, INT, METHODS, E, M, N, S, make, values_of
from arpolicy.models import (
    AttemptStatus,
    DunningStatus,
    SourceKind,
    SourceStatus,
    SubscriptionStatus,
)
from arpolicy.models import PaymentMethod as PaymentMethodEnum
from arpolicy.rules.catalogue import Field, Level


def payment_fields() -> list[Field]:
    lv = Level.PAYMENT
    src = values_of(SourceKind)
    return [
        make(
            lv,
            "last_attempt_at",
            "Last attempted payment date",
            DT,
            True,
            "when the last payment attempt was made.",
        ),
        make(
            lv,
            "last_attempt_status",
            "Last attempt status",
            E,
            True,
            "status of the last attempt.",
            values=values_of(AttemptStatus),
        ),
        make(
            lv,
            "last_attempt_amount",
            "Last attempt amount",
            M,
            True,
            "amount of the last attempt.",
            currency_column="last_attempt_currency",
        ),
        make(
            lv,
            "last_attempt_method",
            "Last attempt method",
            E,
            True,
            "payment method of the last attempt.",
            values=values_of(PaymentMethodEnum),
            aliases=METHODS,
        ),
        make(
            lv,
            "last_attempt_error",
            "Last attempt failure error",
            S,
            True,
            "failure reason the gateway gave.",
        ),
        make(lv, "last_attempt_gateway", "Last attempt gateway", S, True, "gateway used."),
        make(
            lv,
            "dunning_status",
            "Dunning status",
            E,
            True,
            "billing system's retry schedule state.",
            values=values_of(DunningStatus),
        ),
        make(lv, "payment_attempts", "Payment attempts", INT, False, "count of attempts."),
        make(lv, "next_retry_at", "Next scheduled retry", DT, True, "next automatic retry."),
        make(
            lv,
            "primary_payment_method",
            "Primary payment method",
            E,
            True,
            "kind of the primary payment source (empty: none).",
            values=src,
            aliases=METHODS,
        ),
        make(
            lv,
            "backup_payment_method",
            "Backup payment method",
            E,
            True,
            "kind of the backup payment source (empty: none).",
            values=src,
            aliases=METHODS,
        ),
        make(
            lv,
            "card_same_as_last_update",
            "Masked card number same as last update",
            BOOL,
            True,
            "the primary card's last four digits did not change at its last update"
            " (no: they did); empty when the primary source is no card or was never updated.",
        ),
        make(lv, "auto_collection", "Auto collection", BOOL, False, "charged automatically."),
        make(lv, "net_term_days", "Net term days", INT, True, "payment terms in days."),
        make(lv, "payment_risk", "Payment risk", S, True, "risk rating from the billing system."),
        make(
            lv,
            "payment_source_status",
            "Payment source status",
            E,
            True,
            "status of the primary payment source.",
            values=values_of(SourceStatus),
        ),
        make(lv, "monthly_dso", "Monthly DSO", N, True, "days sales outstanding (days)."),
        make(
            lv,
            "average_payment_attempts",
            "Average payment attempts",
            N,
            True,
            "attempts per attempted document.",
        ),
        make(
            lv,
            "subscription_status",
            "Subscription status",
            E,
            True,
            "status of the customer's main subscription.",
            values=values_of(SubscriptionStatus),
        ),
    ]
