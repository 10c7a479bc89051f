"""A record's fields as the import row its kind validates, and the row's errors as the
fields they concern.

References are internal ids in a record (``customer_id``...); they become the external keys
the import row names (``customer``: the customer's external id). Money is
``{"amount": "812.40", "currency": "USD"}`` or a :class:`Money`; a record's amounts share
its currency. An update is the stored record's row (the export form) with the changes laid
over it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import bindparam, select

from arpolicy.exceptions import ConflictError, ValidationError
from arpolicy.kit.db import core
from arpolicy.kit.money import Money
from arpolicy.ledger.exporter import _render, export_query
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.parsers import escape_text
from arpolicy.ledger.importing.plan import known_columns
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.ledger.writing.resources import Ref, Resource


class RowsInvalid(ValidationError):
    """422 with one entry per problem in ``errors``."""

    def __init__(self, message: str, errors: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors


class Exists(ConflictError):
    """409: a record with this key exists; ``errors`` points at it."""

    def __init__(self, message: str, errors: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _money(value: Any) -> tuple[str, str]:
    """(amount, currency) of a money field's value."""
    if isinstance(value, Money):
        return str(value.amount), value.currency
    return value["amount"], value["currency"]


_REFS: dict[tuple[Any, tuple[str, ...]], Any] = {}
"""The statement reading the key of a referenced record, per model (built once)."""


def _resolve(ctx: Context, origin: str, name: str, ref: Ref, value: Any) -> dict[str, Any]:
    if value is None:
        return dict.fromkeys(ref.columns)
    stmt = _REFS.get((ref.model, ref.attributes))
    if stmt is None:
        model = ref.model
        stmt = _REFS[(model, ref.attributes)] = select(
            *(getattr(model, a) for a in ref.attributes + ref.known)
        ).where(model.tenant_id == bindparam("tenant"), model.id == bindparam("id"))
    found = core(ctx.session).execute(stmt, {"tenant": ctx.tenant_id, "id": value}).first()
    if found is None:
        raise ValidationError(
            f"no {ref.what} {value} in this tenant",
            where=f"{origin}.{name}",
            fix=f"give the id of an existing {ref.what} (GET {ref.path})",
        )
    size = len(ref.attributes)
    shown = [plain(v) for v in found[:size]]
    if ref.known_as is not None:
        key = tuple(shown) if size > 1 else found[0]
        ctx.remember(ref.known_as, key, tuple(found[size:]) if ref.known else value)
    return dict(zip(ref.columns, shown, strict=True))


def _currency(row: dict[str, Any], code: str, where: str) -> None:
    given = row.get("currency")
    if given is not None and given != code:
        raise ValidationError(
            f"is {code} but the record's currency is {given}",
            where=where,
            fix="give every amount of a record in the record's currency",
        )
    row["currency"] = code


def to_row(ctx: Context, res: Resource, data: dict[str, Any], origin: str) -> dict[str, Any]:
    """The import row (flat column -> value) of the fields in ``data``."""
    row: dict[str, Any] = {}
    for name, value in data.items():
        if name in res.refs:
            row.update(_resolve(ctx, origin, name, res.refs[name], value))
        elif name in res.money:
            continue
        elif name == "custom_fields":
            for key, item in (value or {}).items():
                row["cf." + key] = item
        elif name == "billing_address":
            for part in ("line1", "line2", "city", "state", "postal_code", "country"):
                if value is None or part in value:
                    row["billing_" + part] = None if value is None else value[part]
        else:
            row[name] = plain(value)
    for name in res.money:
        if name in data:
            value = data[name]
            if value is None:
                row[name] = None
                continue
            row[name], code = _money(value)
            _currency(row, code, f"{origin}.{name}.currency")
    escape(ctx, res.kind, row)
    return row


def escape(ctx: Context, kind_name: str, row: dict[str, Any]) -> None:
    """Text as the import reads it back: a value a spreadsheet would run as a formula gets
    the quote the importer strips, so the record stores exactly what it was given."""
    columns = known_columns(ctx, get_kind(kind_name))
    for name, value in row.items():
        column = columns.get(name)
        if isinstance(value, str) and column is not None and column.text:
            row[name] = escape_text(value)


def where_of(res: Resource, column: str | None, origin: str) -> str:
    """The field an import error about ``column`` concerns."""
    if column is None:
        return origin
    if column.startswith("cf."):
        return f"{origin}.custom_fields.{column[3:]}"
    if column.startswith("billing_"):
        return f"{origin}.billing_address.{column[8:]}"
    for name, ref in res.refs.items():
        if column in ref.columns:
            return f"{origin}.{name}"
    if column == "currency" and res.money and not res.own_currency:
        return f"{origin}.{res.money[0]}.currency"
    return f"{origin}.{column}"


def refused(res: Resource, report: ImportReport, origin: str) -> RowsInvalid:
    errors = [
        {
            "where": where_of(res, e.column, origin),
            "message": e.reason,
            "fix": e.fix,
            "value": e.value,
        }
        for e in report.errors
    ]
    first = errors[0]
    return RowsInvalid(
        f"{first['where']}: {first['message']}", errors, where=first["where"], fix=first["fix"]
    )


def check_currency(
    res: Resource, data: dict[str, Any], stored: dict[str, Any], patch: dict[str, Any], origin: str
) -> None:
    old, new = stored.get("currency") or None, patch.get("currency", stored.get("currency"))
    if old is None or new == old:
        return
    for name in res.money:
        if name not in data and stored.get(name):
            raise ValidationError(
                f"{name} is stored in {old}; the change sets the currency to {new}",
                where=f"{origin}.{name}",
                fix=f"give {name} in {new} too (or null to clear it)",
            )


def without_followers(
    ctx: Context, res: Resource, stored: dict[str, Any], patch: dict[str, Any]
) -> dict[str, Any]:
    """The stored row less the columns the import derives from one the patch changes and
    which the patch does not give itself (see ``Column.follows``: a payment source's
    ``previous_last4`` follows its ``last4``)."""
    columns = known_columns(ctx, get_kind(res.kind))
    return {
        name: value
        for name, value in stored.items()
        if name in patch or columns[name].follows not in patch
    }


def stored_row(ctx: Context, res: Resource, record_id: int) -> dict[str, Any]:
    """The stored record as the import row ``arpolicy export`` would write for it."""
    kind = get_kind(res.kind)
    columns = list(known_columns(ctx, kind).values())
    definitions = ctx.fields(kind.custom_fields) if kind.custom_fields else {}
    query = export_query(kind, ctx.tenant_id).where(kind.model.id == record_id)
    found = ctx.session.execute(query).one()
    return {c.name: _render(c, found, definitions) for c in columns}


def conflict(res: Resource, key: dict[str, Any], existing: int, origin: str) -> Exists:
    shown = ", ".join(f"{n} {v}" for n, v in key.items())
    href, where = f"{res.path}/{existing}", f"{origin}.{next(iter(res.key))}"
    return Exists(
        f"a {res.name} with {shown} exists (id {existing})",
        [{"where": where, "existing_id": existing, "href": href}],
        where=where,
        fix=f"update it with PATCH {href}",
    )
