"""The ledger write service: every change to the ledger's records, whoever makes it.

The REST API, the CLI, file imports, jobs and other policies all write through
:class:`LedgerWrites`, so a write is validated, locked, recorded and announced the same way
on every path:

* validation by the record's import kind (the same checks and derived values as a file:
  base amounts at the FX rate of the document date, custom fields, references, enums);
* a lock on the record's key while it is written (PostgreSQL; SQLite writers queue on
  ``BEGIN IMMEDIATE`` anyway);
* an audit event (``customer.created``, ``document.updated``, ``document.voided``...) and
  the webhook events of the change, queued in the outbox;
* the ledger hook of the kind (``arpolicy.ledger.hooks``), which policies subscribe to.

A single write touches the rows it writes and the few it refers to: it never counts or
scans the tenant's tables. A bulk import (``import_file``, ``import_rows``) records the
``import.completed`` trail instead of an event per record and fires each hook once for the
whole batch (bulk.py).

The service never commits: the caller's transaction (one per request, command or job)
does. Its errors are domain errors naming the field (``record.amount.currency``, or with
``origin="body"`` the API's ``body.amount.currency``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, snapshot
from arpolicy.audit.service import changed, record_one
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.kit.clock import Clock, SystemClock, local_today
from arpolicy.kit.db import core
from arpolicy.ledger import hooks
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.importer import run_import
from arpolicy.ledger.importing.reader import mapping_records
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.writing import bulk
from arpolicy.ledger.writing.resources import Resource, resource
from arpolicy.ledger.writing.rows import (
    check_currency,
    conflict,
    plain,
    refused,
    stored_row,
    to_row,
    without_followers,
)
from arpolicy.models import Tenant
from arpolicy.webhooks.events import emit

if TYPE_CHECKING:
    from arpolicy.ledger.importing.pipeline import Opener
    from arpolicy.ledger.importing.reader import Source
    from arpolicy.ledger.importing.rejects import Rejects
    from arpolicy.ledger.importing.report import ImportReport

Guard = Callable[[dict[str, Any], dict[str, Any]], None]
"""A caller's check of a change against the stored record (fields given, stored values)."""


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(res: Resource, what: str) -> Any:
    """The statements of a single write, built once per kind with bound parameters
    (building a statement cost more than running it): ``record`` (by id), ``id`` and ``row``
    (by the record's key: ``k_<field>``)."""
    found = _STATEMENTS.get((res.kind, what))
    if found is None:
        model = res.model
        where = [model.tenant_id == bindparam("tenant")]
        if what == "record":
            where.append(model.id == bindparam("id"))
        else:
            where += [getattr(model, a) == bindparam(f"k_{n}") for n, a in res.key.items()]
        found = select(model.id if what == "id" else model).where(*where)
        if what != "id":
            found = found.execution_options(populate_existing=True)
        _STATEMENTS[(res.kind, what)] = found
    return found


def find(session: Session, tenant_id: int, res: Resource, record_id: int) -> Any:
    """The tenant's record ``record_id`` of ``res``, freshly read (404 for another tenant's)."""
    found = session.scalar(_statement(res, "record"), {"tenant": tenant_id, "id": record_id})
    if found is None:
        raise _not_found(res, record_id)
    return found


_ROWS: dict[str, Any] = {}


def find_row(session: Session, tenant_id: int, res: Resource, record_id: int) -> Any:
    """The same record as a row of its table's columns (attributes named as the model's),
    read without the ORM: for an answer that only shows it (a third of the cost of a GET of
    one customer went to loading the ORM object)."""
    stmt = _ROWS.get(res.kind)
    if stmt is None:
        table: Any = res.model.__table__
        stmt = _ROWS[res.kind] = select(table).where(
            table.c.tenant_id == bindparam("tenant"), table.c.id == bindparam("id")
        )
    found = session.connection().execute(stmt, {"tenant": tenant_id, "id": record_id}).first()
    if found is None:
        raise _not_found(res, record_id)
    return found


def _not_found(res: Resource, record_id: int) -> NotFoundError:
    return NotFoundError(
        f"no {res.name} {record_id}", where="path", fix=f"list them with GET {res.path}"
    )


def _typed(res: Resource, attribute: str, value: Any) -> Any:
    """A key's value as its column compares it: a date given as ISO text becomes a date
    (text that is no date is left for the row's validation to report)."""
    if isinstance(value, str) and isinstance(res.model.__table__.c[attribute].type, Date):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


class LedgerWrites:
    """Writes to one tenant's ledger by ``actor``, in ``session``'s transaction."""

    def __init__(
        self,
        session: Session,
        tenant: Tenant,
        actor: Actor,
        *,
        clock: Clock | None = None,
        as_of: date | None = None,
        origin: str = "record",
    ) -> None:
        self.session, self.tenant, self.actor = session, tenant, actor
        self.clock = clock or actor.clock or SystemClock()
        self.as_of = as_of or local_today(self.clock, tenant.timezone)
        self.origin = origin
        """Where the fields came from, for the ``where`` of errors (the API: ``body``)."""
        self._ctx: Context | None = None

    @property
    def ctx(self) -> Context:
        """The import context of this service's writes (reference and custom-field lookups,
        FX rates), made on first use and shared by them."""
        if self._ctx is None:
            self._ctx = Context(self.session, self.tenant)
        return self._ctx

    def now(self) -> datetime:
        return self.clock.now()

    # --- one record -----------------------------------------------------------------------

    def get(self, kind: str | Resource, record_id: int) -> Any:
        """The tenant's record ``record_id`` of ``kind`` (404 for another tenant's)."""
        res = kind if isinstance(kind, Resource) else resource(kind)
        return find(self.session, self.tenant.id, res, record_id)

    def create(self, kind: str, fields: Mapping[str, Any]) -> Any:
        """Create the record of ``fields`` (409 when its key exists); the stored record."""
        res = resource(kind)
        data = dict(fields)
        key = {name: plain(data.get(name)) for name in res.key}
        self._lock(res, tuple(key.values()))
        existing = self._by_key(res, data, "id")
        if existing is not None:
            raise conflict(res, key, existing, self.origin)
        if res.held is not None:
            values = tuple(key.values())
            self.ctx.absent(res.held, values if len(values) > 1 else values[0])
        row = to_row(self.ctx, res, data, self.origin)
        self._write(res, row)
        obj = self._by_key(res, data)
        if res.held_by_id is not None:
            self.ctx.absent(res.held_by_id, obj.id)
        self._audit(f"{res.entity}.created", res, obj.id, None, snapshot(obj))
        if res.created:
            self._emit(res.created, res, obj, f"{res.created}:{obj.id}")
        return self._fire(res, obj, True, row)

    def update(
        self, kind: str, record_id: int, changes: Mapping[str, Any], *, guard: Guard | None = None
    ) -> Any:
        """Lay ``changes`` over the stored record and write it again (the fields of its key
        cannot change; 404 for another tenant's record). ``guard`` may refuse the change."""
        return self._update(resource(kind), record_id, dict(changes), "updated", guard)

    def void(self, kind: str, record_id: int) -> Any:
        """Void the record: a document is marked voided; an order, a promise or a
        subscription cancelled; a payment attempt voided. Audited as ``<entity>.voided``."""
        res = resource(kind)
        if res.void is None:
            raise ValidationError(
                f"a {res.name} cannot be voided",
                fix="void a document, order, promise, subscription or payment attempt",
            )
        return self._update(res, record_id, dict(res.void), "voided", None)

    def _update(
        self, res: Resource, record_id: int, data: dict[str, Any], action: str, guard: Guard | None
    ) -> Any:
        obj = self.get(res, record_id)
        for name, attr in res.key.items():
            if name in data and plain(data[name]) != plain(getattr(obj, attr)):
                raise ValidationError(
                    f"{name} is part of the record's key and cannot change",
                    where=f"{self.origin}.{name}",
                    fix=f"leave {name} out (or create a new record with POST {res.path})",
                )
            data.pop(name, None)
        if not data:
            return obj
        before = snapshot(obj)
        if guard is not None:
            guard(data, before)
        self._lock(res, tuple(plain(getattr(obj, a)) for a in res.key.values()))
        stored = stored_row(self.ctx, res, obj.id)
        patch = to_row(self.ctx, res, data, self.origin)
        stored = without_followers(self.ctx, res, stored, patch)
        check_currency(res, data, stored, patch, self.origin)
        self._write(res, {**stored, **patch})
        obj = self.get(res, record_id)
        old, new = changed(before, snapshot(obj))
        if new:
            event = self._audit(f"{res.entity}.{action}", res, obj.id, old, new)
            names = [res.updated] if res.updated else []
            names += res.events(old, new) if res.events else []
            for name in names:
                self._emit(name, res, obj, f"{name}:{obj.id}:{event}")
        return self._fire(res, obj, False, patch)

    def _lock(self, res: Resource, key: tuple[Any, ...]) -> None:
        """Serialize writes of one key (PostgreSQL; SQLite writers queue anyway)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.blake2b(repr((self.tenant.id, res.kind, key)).encode(), digest_size=8)
        lock = int.from_bytes(digest.digest(), "big", signed=True)
        self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})

    def _by_key(self, res: Resource, values: dict[str, Any], what: str = "row") -> Any:
        """The stored record with the key in ``values`` (``what="id"``: its id), or None."""
        params = {f"k_{n}": _typed(res, a, values.get(n)) for n, a in res.key.items()}
        stmt, where = _statement(res, what), {"tenant": self.tenant.id, **params}
        if what == "id":  # no ORM object: the cheaper way
            return core(self.session).scalar(stmt, where)
        return self.session.scalar(stmt, where)

    def _write(self, res: Resource, row: dict[str, Any]) -> None:
        """One row through its import kind: validated, derived, upserted; nothing counted."""
        report = run_import(
            self.session,
            self.tenant,
            get_kind(res.kind),
            lambda: (None, mapping_records([row])),
            partial=False,
            rejects=None,
            actor=None,
            ctx=self.ctx,
            counted=False,
        )
        if not report.ok:
            raise refused(res, report, self.origin)

    def _audit(
        self,
        action: str,
        res: Resource,
        record_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any],
    ) -> int:
        """The change's audit event, written at once (one INSERT): its id."""
        return record_one(
            self.session,
            self.actor,
            action,
            res.entity,
            record_id,
            before=before,
            after=after,
            at=self.now(),
        )

    def _emit(self, name: str, res: Resource, obj: Any, key: str) -> None:
        shape = res.shape
        assert shape is not None, f"{res.entity} emits {name} but has no shape"
        base = self.tenant.base_currency
        emit(self.session, self.tenant.id, name, lambda: shape(obj, base), key=key, at=self.now())

    def _fire(self, res: Resource, obj: Any, created: bool, row: dict[str, Any]) -> Any:
        """The kind's ledger hook for this one record; the record as they left it."""
        if res.topic is None or not hooks.fire(
            hooks.Written(
                res.topic,
                self.session,
                self.tenant,
                self.actor,
                [obj.id],
                [obj.id] if created else [],
                self.as_of,
                self.now(),
                kind=res.kind,
                fields=frozenset(row),
            )
        ):
            return obj
        return self.get(res, obj.id)  # a subscriber may have written to it (its owners)

    # --- many records: imports ------------------------------------------------------------

    def import_rows(
        self,
        kind: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        partial: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import ``rows`` (mappings shaped like JSON Lines objects) as one batch."""
        return bulk.import_rows(self, kind, rows, partial=partial, progress=progress)

    def import_file(self, kind: str, path: str | Path, **kw: Any) -> ImportReport:
        """Import a CSV or JSON Lines file as one batch (see :func:`bulk.import_file`)."""
        return bulk.import_file(self, kind, path, **kw)

    def import_source(
        self,
        kind: str,
        source: Callable[[], Source],
        *,
        partial: bool,
        rejects: Rejects | None = None,
        source_name: str | None = None,
        progress: Callable[[int], None] | None = None,
        expected_rows: int = 0,
        pipelined: Opener | None = None,
    ) -> ImportReport:
        """Import the records ``source`` opens (an upload, a file) as one batch."""
        return bulk.import_source(
            self,
            kind,
            source,
            partial=partial,
            rejects=rejects,
            source_name=source_name,
            progress=progress,
            expected_rows=expected_rows,
            pipelined=pipelined,
        )
