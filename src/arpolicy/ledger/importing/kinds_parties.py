"""Import kinds for the tenant's people and settings: users, custom fields, FX rates,
customers and their contacts."""

from __future__ import annotations

from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import (
    Column,
    Kind,
    Row,
    Values,
    choice,
    currency,
    day,
    external_id,
    flag,
    ref,
    text,
)
from arpolicy.models import (
    Contact,
    Customer,
    CustomFieldDefinition,
    FieldEntity,
    FieldType,
    FxRate,
    User,
    UserRole,
)


def language(name: str = "language") -> Column:
    return Column(name, "language", "ISO 639-1 code, lower case (en, de, fr).", p.language)


def _user(ctx: Context, v: Values) -> Row:
    return {
        "tenant_id": ctx.tenant_id,
        "email": v["email"],
        "name": v["name"],
        "role": v["role"],
        "team": v.get("team"),
        "language": v.get("language"),
        "active": True if v.get("active") is None else v["active"],
    }


USERS = Kind(
    name="users",
    model=User,
    description="People of the tenant (collectors, sales, managers); the key is the e-mail.",
    columns=(
        Column("email", "e-mail", "Login and key (stored lower case).", p.email, True, text=True),
        text("name", 200, "Full name.", required=True),
        choice("role", UserRole, "Role.", required=True),
        text("team", 100, "Team name."),
        language(),
        flag("active", "Whether the user can act (default true)."),
        Column(
            "manager",
            "reference: users (e-mail)",
            "E-mail of the user's manager (may be a user later in the same file).",
            p.email,
            writes=("manager_id",),
            text=True,
        ),
    ),
    key=("email",),
    build=_user,
    self_ref=("manager", "manager_id"),
    order=1,
)


def _field(ctx: Context, v: Values) -> Row:
    kind = v["type"]
    options = v.get("options")
    if kind == FieldType.ENUM and not options:
        raise FieldError("an enum field needs its options", "list them as a|b|c", column="options")
    if kind != FieldType.ENUM and options:
        raise FieldError(f"a {kind} field has no options", "leave options empty", column="options")
    if kind != FieldType.MONEY and v.get("currency"):
        raise FieldError(
            f"a {kind} field has no currency", "leave currency empty", column="currency"
        )
    return {
        "tenant_id": ctx.tenant_id,
        "entity": v["entity"],
        "key": v["key"],
        "label": v["label"],
        "type": kind,
        "options": options,
        "currency": v.get("currency"),
        "required": bool(v.get("required")),
    }


CUSTOM_FIELDS = Kind(
    name="custom-fields",
    model=CustomFieldDefinition,
    description="Typed fields the tenant adds to customers or documents (columns cf.<key>).",
    columns=(
        choice("entity", FieldEntity, "What the field belongs to.", required=True),
        Column("key", "key", "Column name after cf. (a-z, 0-9, _).", p.key, True),
        text("label", 200, "Label shown to people.", required=True),
        choice("type", FieldType, "Value type.", required=True),
        Column("options", "text (a|b|c)", "Allowed values of an enum field.", p.options),
        currency("Fixed currency of a money field (empty: each value names its own)."),
        flag("required", "Whether every imported row must give a value (default false)."),
    ),
    key=("entity", "key"),
    build=_field,
    order=2,
)


def _rate(ctx: Context, v: Values) -> Row:
    if v["from_currency"] == v["to_currency"]:
        raise FieldError(
            "is the same currency as from_currency",
            "give a rate between two currencies",
            column="to_currency",
        )
    return {
        "tenant_id": ctx.tenant_id,
        "from_currency": v["from_currency"],
        "to_currency": v["to_currency"],
        "valid_on": v["valid_on"],
        "rate": v["rate"],
        "source": v.get("source"),
    }


FX_RATES = Kind(
    name="fx-rates",
    model=FxRate,
    description="Dated exchange rates: 1 from_currency = rate to_currency from valid_on on. "
    "A rate of one direction also serves the other (inverted).",
    columns=(
        Column("from_currency", "currency", "ISO 4217 code.", p.currency, True),
        Column("to_currency", "currency", "ISO 4217 code.", p.currency, True),
        day("valid_on", "First day the rate applies.", required=True),
        Column(
            "rate",
            "decimal",
            "Units of to_currency for one from_currency.",
            p.positive_decimal,
            True,
        ),
        text("source", 64, "Where the rate comes from (ECB, bank...)."),
    ),
    key=("from_currency", "to_currency", "valid_on"),
    build=_rate,
    order=3,
)

ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")


def _customer(ctx: Context, v: Values) -> Row:
    code = v.get("currency")
    reported = v.get("reported_balance")
    if reported is not None:
        if code is None:
            raise FieldError(
                "needs the customer's currency",
                "fill in the currency column",
                column="reported_balance",
            )
        reported = p.to_minor(reported, code, "reported_balance")
    row = {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "name": v["name"],
        **{c: v.get(c) for c in SIMPLE},
        "currency": code,
        "finance_owner_id": _user_id(ctx, v, "finance_owner"),
        "sales_owner_id": _user_id(ctx, v, "sales_owner"),
        "net_term_days": v.get("net_term_days"),
        "auto_collection": bool(v.get("auto_collection")),
        "credit_check_exempt": bool(v.get("credit_check_exempt")),
        "reported_balance_minor": reported,
        "billing_address": None,
        "billing_address__patch": None,
        "custom_fields": None,
        "custom_fields__patch": None,
    }
    _address(v, row)
    custom(v, row)
    return row


SIMPLE = ("country", "language", "locale", "region", "timezone", "segment", "customer_group")


def _user_id(ctx: Context, v: Values, column: str) -> int | None:
    email = v.get(column)
    return None if email is None else ctx.lookup("users", email, column)


def _address(v: Values, row: Row) -> None:
    patch = {part: v.get("billing_" + part) for part in ADDRESS if "billing_" + part in v}
    stored = {k: val for k, val in patch.items() if val is not None}
    row["billing_address"] = stored or None
    row["billing_address__patch"] = patch


def custom(v: Values, row: Row) -> None:
    """Custom field values: stored without empty ones; the patch (with None for an empty
    cell) updates a stored row key by key. (Builders put both keys in their row literal, so
    that setting them here does not grow the dict.)"""
    patch = v.get("custom_fields")
    if patch is None:
        row["custom_fields"] = {}
        row["custom_fields__patch"] = {}
        return
    row["custom_fields"] = {k: val for k, val in patch.items() if val is not None}
    row["custom_fields__patch"] = patch


def _address_columns() -> tuple[Column, ...]:
    columns = [
        text(
            f"billing_{part}",
            200,
            f"Billing address: {part.replace('_', ' ')}.",
            writes=("billing_address",),
        )
        for part in ADDRESS[:-1]
    ]
    columns.append(
        Column(
            "billing_country",
            "country",
            "Billing address: ISO 3166-1 alpha-2 country.",
            p.country,
            writes=("billing_address",),
        )
    )
    return tuple(columns)


CUSTOMERS = Kind(
    name="customers",
    model=Customer,
    description="Accounts of the billing system. A customer's parent may come later in the "
    "same file.",
    columns=(
        external_id("customer"),
        text("name", 300, "Name.", required=True),
        Column("country", "country", "ISO 3166-1 alpha-2, upper case (US, DE).", p.country),
        language(),
        currency("Billing currency, ISO 4217 (needed with reported_balance)."),
        Column("locale", "locale", "Formatting locale (en_US, de_DE).", p.locale),
        text("region", 64, "Sales region."),
        Column("timezone", "time zone", "IANA zone (Europe/Berlin).", p.timezone),
        text("segment", 64, "Segment (enterprise, SMB...)."),
        text("customer_group", 64, "Customer group."),
        ref("parent", "customers", "External id of the parent account.", writes=("parent_id",)),
        Column(
            "finance_owner",
            "reference: users (e-mail)",
            "E-mail of the finance owner.",
            p.email,
            writes=("finance_owner_id",),
            text=True,
        ),
        Column(
            "sales_owner",
            "reference: users (e-mail)",
            "E-mail of the sales owner.",
            p.email,
            writes=("sales_owner_id",),
            text=True,
        ),
        Column(
            "net_term_days", "integer", "Payment terms in days (0 to 3650).", p.integer(0, 3650)
        ),
        flag(
            "auto_collection", "Whether the billing system charges automatically (default false)."
        ),
        flag("credit_check_exempt", "Exempt from credit checks (default false)."),
        *_address_columns(),
        Column(
            "reported_balance",
            "amount",
            "Balance the billing system reports, in the customer's currency.",
            p.amount,
            writes=("reported_balance_minor",),
        ),
    ),
    key=("external_id",),
    build=_customer,
    custom_fields="customer",
    self_ref=("parent", "parent_id"),
    merge_json=("custom_fields", "billing_address"),
    order=4,
)


def _contact(ctx: Context, v: Values) -> Row:
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": ctx.lookup("customers", v["customer"], "customer"),
        "name": v.get("name"),
        "email": v.get("email"),
        "phone": v.get("phone"),
        "language": v.get("language"),
        **{f: bool(v.get(f)) for f in ("is_billing", "is_primary", "bounced", "unsubscribed")},
    }


CONTACTS = Kind(
    name="contacts",
    model=Contact,
    description="People at a customer who receive reminders.",
    columns=(
        external_id("contact"),
        ref(
            "customer",
            "customers",
            "External id of the customer.",
            required=True,
            writes=("customer_id",),
        ),
        text("name", 200, "Full name."),
        Column("email", "e-mail", "E-mail address (stored lower case).", p.email, text=True),
        text("phone", 40, "Phone number."),
        language(),
        flag("is_billing", "Receives invoices and reminders (default false)."),
        flag("is_primary", "Main contact (default false)."),
        flag("bounced", "Mail to the address bounced (default false)."),
        flag("unsubscribed", "Asked not to be mailed (default false)."),
    ),
    key=("external_id",),
    build=_contact,
    order=5,
)
