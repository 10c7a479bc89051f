"""How the ledger resources create and update records: through the import kinds.

A POST body becomes one import row and goes through ``import_rows`` in the request's
transaction, so the API and ``arpolicy import`` validate and derive exactly alike (base
amounts at the FX rate of the document date, custom fields, references, enums). A PATCH
is the stored record's row (the export form) with the patch laid over it, imported again:
an upsert on the record's key.

References are internal ids in the API (``customer_id``, ``document_id``...); they become
the external keys the import row names (``customer``: the customer's external id). Money
is ``{"amount": "812.40", "currency": "USD"}``; a record's amounts share its currency.
An import error becomes a 422 problem whose ``errors`` name the body field
(``body.amount``, ``body.custom_fields.region``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, Forbidden
from arpolicy.audit import record as audit_record
from arpolicy.audit import snapshot
from arpolicy.audit.service import changed
from arpolicy.exceptions import ConflictError, NotFoundError, ValidationError
from arpolicy.ledger.exporter import _render, export_query
from arpolicy.ledger.importing.api import import_rows
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.parsers import escape_text
from arpolicy.ledger.importing.plan import known_columns
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.models import Tenant
from arpolicy.webhooks.events import emit


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


@dataclass(frozen=True)
class Ref:
    """A body field holding the id of another record, which the import row names by its
    key: ``columns`` of the row get ``attributes`` of the referenced record."""

    model: Any
    columns: tuple[str, ...]
    attributes: tuple[str, ...]
    what: str
    path: str


@dataclass(frozen=True)
class Resource:
    entity: str
    """Audit entity and webhook prefix (customer, document...)."""
    kind: str
    """The import kind."""
    model: Any
    path: str
    key: dict[str, str]
    """Body fields of the record's key -> model attributes (unchangeable by PATCH)."""
    read: Callable[[Any, str], BaseModel] | None = None
    """The record as the API shows it (given the tenant's base currency): the webhook
    events' data."""
    refs: dict[str, Ref] = field(default_factory=dict)
    money: tuple[str, ...] = ()
    """MoneyValue fields; their currency is the row's ``currency``."""
    own_currency: bool = False
    """The body has a ``currency`` field of its own (else it is the money fields')."""
    gated: dict[str, tuple[str, Any]] = field(default_factory=dict)
    """Body field -> (permission needed to change it, its default on create)."""
    created: str | None = None
    updated: str | None = None
    events: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
    """More webhook events of an update, from the changed (before, after) values."""


def tenant_of(session: Session, api: Api) -> Tenant:
    tenant = session.get(Tenant, api.tenant_id)
    assert tenant is not None
    return tenant


def get_or_404(session: Session, api: Api, res: Resource, record_id: int) -> Any:
    model = res.model
    found = session.scalar(
        select(model)
        .where(model.tenant_id == api.tenant_id, model.id == record_id)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFoundError(
            f"no {res.entity.replace('_', ' ')} {record_id}",
            where="path",
            fix=f"list them with GET {res.path}",
        )
    return found


# --- body -> import row ---------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _resolve(session: Session, api: Api, name: str, ref: Ref, value: Any) -> dict[str, Any]:
    if value is None:
        return dict.fromkeys(ref.columns)
    model = ref.model
    found = session.execute(
        select(*(getattr(model, a) for a in ref.attributes)).where(
            model.tenant_id == api.tenant_id, model.id == value
        )
    ).first()
    if found is None:
        raise ValidationError(
            f"no {ref.what} {value} in this tenant",
            where=f"body.{name}",
            fix=f"give the id of an existing {ref.what} (GET {ref.path})",
        )
    return {c: _plain(v) for c, v in zip(ref.columns, found, strict=True)}


def _currency(row: dict[str, Any], code: str, where: str) -> None:
    given = row.get("currency")
    if given is not None and given != code:
        raise ValidationError(
            f"is {code} but the record's currency is {given}",
            where=where,
            fix="give every amount of a record in the record's currency",
        )
    row["currency"] = code


def to_row(session: Session, api: Api, res: Resource, data: dict[str, Any]) -> dict[str, Any]:
    """The import row (flat column -> value) of the fields in ``data`` (a body dumped with
    ``exclude_unset``)."""
    row: dict[str, Any] = {}
    for name, value in data.items():
        if name in res.refs:
            row.update(_resolve(session, api, name, res.refs[name], value))
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
            row[name] = _plain(value)
    for name in res.money:
        if name in data:
            value = data[name]
            row[name] = None if value is None else value["amount"]
            if value is not None:
                _currency(row, value["currency"], f"body.{name}.currency")
    return row


def _escape(session: Session, tenant: Tenant, kind_name: str, row: dict[str, Any]) -> None:
    """Text as the import reads it back: a value a spreadsheet would run as a formula gets
    the quote the importer strips, so the API stores exactly what it was given."""
    columns = known_columns(Context(session, tenant), get_kind(kind_name))
    for name, value in row.items():
        column = columns.get(name)
        if isinstance(value, str) and column is not None and column.text:
            row[name] = escape_text(value)


def where_of(res: Resource, column: str | None) -> str:
    """The body field an import error about ``column`` concerns."""
    if column is None:
        return "body"
    if column.startswith("cf."):
        return "body.custom_fields." + column[3:]
    if column.startswith("billing_"):
        return "body.billing_address." + column[8:]
    for name, ref in res.refs.items():
        if column in ref.columns:
            return "body." + name
    if column == "currency" and res.money and not res.own_currency:
        return f"body.{res.money[0]}.currency"
    return "body." + column


def run_import(session: Session, api: Api, res: Resource, row: dict[str, Any]) -> ImportReport:
    tenant = tenant_of(session, api)
    report = import_rows(session, tenant, res.kind, [row])  # bounds: ledger/importing/limits
    if not report.ok:
        errors = [
            {"where": where_of(res, e.column), "message": e.reason, "fix": e.fix, "value": e.value}
            for e in report.errors
        ]
        first = errors[0]
        raise RowsInvalid(
            f"{first['where']}: {first['message']}",
            errors,
            where=first["where"],
            fix=first["fix"],
        )
    return report


# --- create and update ------------------------------------------------------------------


def _gate(api: Api, res: Resource, data: dict[str, Any], current: dict[str, Any]) -> None:
    for name, (permission, default) in res.gated.items():
        if name in data and data[name] != current.get(name, default) and not api.can(permission):
            raise Forbidden(
                f"changing {name} needs the {permission} permission",
                where=f"body.{name}",
                fix=f"leave {name} out, or use a key whose role has {permission}",
            )


def _lock(session: Session, api: Api, res: Resource, key: tuple[Any, ...]) -> None:
    """Serialize concurrent creations of one key (PostgreSQL; SQLite writers queue anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(repr((api.tenant_id, res.kind, key)).encode(), digest_size=8)
    lock = int.from_bytes(digest.digest(), "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})


def _by_key(session: Session, api: Api, res: Resource, values: dict[str, Any]) -> Any:
    model = res.model
    match = [getattr(model, attr) == values[name] for name, attr in res.key.items()]
    return session.scalar(
        select(model)
        .where(model.tenant_id == api.tenant_id, *match)
        .execution_options(populate_existing=True)
    )


def create(session: Session, api: Api, res: Resource, body: BaseModel) -> Any:
    """Create the record of ``body`` (409 when its key exists); audited, event emitted."""
    data = body.model_dump(exclude_unset=True)
    _gate(api, res, data, {})
    key = {name: _plain(data.get(name)) for name in res.key}
    _lock(session, api, res, tuple(key.values()))
    existing = _by_key(session, api, res, {n: data.get(n) for n in res.key})
    if existing is not None:
        raise _conflict(res, ", ".join(f"{n} {v}" for n, v in key.items()), existing.id)
    row = to_row(session, api, res, data)
    _escape(session, tenant_of(session, api), res.kind, row)
    run_import(session, api, res, row)
    obj = _by_key(session, api, res, {n: data.get(n) for n in res.key})
    after = snapshot(obj)
    _audit(session, api, f"{res.entity}.created", res, obj.id, None, after)
    if res.created:
        _emit(session, api, res.created, res, obj, f"{res.created}:{obj.id}")
    return obj


def update(session: Session, api: Api, res: Resource, record_id: int, body: BaseModel) -> Any:
    """Lay ``body`` over the stored record and import it again (404 for another tenant's)."""
    obj = get_or_404(session, api, res, record_id)
    data = body.model_dump(exclude_unset=True)
    for name, attr in res.key.items():
        if name in data and _plain(data[name]) != _plain(getattr(obj, attr)):
            raise ValidationError(
                f"{name} is part of the record's key and cannot change",
                where=f"body.{name}",
                fix=f"leave {name} out (or create a new record with POST {res.path})",
            )
        data.pop(name, None)
    if not data:
        return obj
    before = snapshot(obj)
    _gate(api, res, data, before)
    tenant = tenant_of(session, api)
    stored = stored_row(session, tenant, res, obj.id)
    patch = to_row(session, api, res, data)
    stored = _without_followers(session, tenant, res, stored, patch)
    _check_currency(res, data, stored, patch)
    _escape(session, tenant, res.kind, patch)
    run_import(session, api, res, {**stored, **patch})
    obj = get_or_404(session, api, res, record_id)
    old, new = changed(before, snapshot(obj))
    if new:
        event = _audit(session, api, f"{res.entity}.updated", res, obj.id, old, new)
        names = [res.updated] if res.updated else []
        names += res.events(old, new) if res.events else []
        for name in names:
            _emit(session, api, name, res, obj, f"{name}:{obj.id}:{event.id}")
    return obj


def _without_followers(
    session: Session, tenant: Tenant, res: Resource, stored: dict[str, Any], patch: dict[str, Any]
) -> dict[str, Any]:
    """The stored row less the columns the import derives from one the patch changes and
    which the patch does not give itself (see ``Column.follows``)."""
    columns = known_columns(Context(session, tenant), get_kind(res.kind))
    return {
        name: value
        for name, value in stored.items()
        if name in patch or columns[name].follows not in patch
    }


def _check_currency(
    res: Resource, data: dict[str, Any], stored: dict[str, Any], patch: dict[str, Any]
) -> None:
    old, new = stored.get("currency") or None, patch.get("currency", stored.get("currency"))
    if old is None or new == old:
        return
    for name in res.money:
        if name not in data and stored.get(name):
            raise ValidationError(
                f"{name} is stored in {old}; the patch changes the currency to {new}",
                where=f"body.{name}",
                fix=f"give {name} in {new} too (or null to clear it)",
            )


def stored_row(session: Session, tenant: Tenant, res: Resource, record_id: int) -> dict[str, Any]:
    """The stored record as the import row ``arpolicy export`` would write for it."""
    kind = get_kind(res.kind)
    ctx = Context(session, tenant)
    columns = list(known_columns(ctx, kind).values())
    definitions = ctx.fields(kind.custom_fields) if kind.custom_fields else {}
    found = session.execute(export_query(kind, tenant.id).where(kind.model.id == record_id)).one()
    return {c.name: _render(c, found, definitions) for c in columns}


def _audit(
    session: Session,
    api: Api,
    action: str,
    res: Resource,
    record_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> Any:
    event = audit_record(
        session, api.actor, action, res.entity, record_id, before=before, after=after,
        at=api.now(),
    )  # fmt: skip
    session.flush()
    return event


def _emit(session: Session, api: Api, name: str, res: Resource, obj: Any, key: str) -> None:
    assert res.read is not None, f"{res.entity} emits {name} but has no read"
    data = res.read(obj, tenant_of(session, api).base_currency).model_dump(mode="json")
    emit(session, api.tenant_id, name, data, key=key, at=api.now())


def _conflict(res: Resource, shown: str, existing: int) -> Exists:
    href, where = f"{res.path}/{existing}", f"body.{next(iter(res.key))}"
    return Exists(
        f"a {res.entity.replace('_', ' ')} with {shown} exists (id {existing})",
        [{"where": where, "existing_id": existing, "href": href}],
        where=where,
        fix=f"update it with PATCH {href}",
    )
