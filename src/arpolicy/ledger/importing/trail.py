"""The audit trail of an import: who imported what, and which records it created and
updated, written in the import's own transaction (docs/security.md, "Imports").

* One ``import.completed`` event per import (entity ``import``, id the kind): the actor, the
  file, the counts and, for up to :data:`IDS_PER_EVENT` records, the records themselves as
  ``{"created": [[id, key], ...], "updated": [[id, key], ...]}``.
* A larger import lists its records in ``import.ids`` events of :data:`IDS_PER_EVENT` each
  that name the summary event (a million rows: a thousand events of about 30 kB, not one
  30 MB row that every reader of the log would have to load).
* Users (their role and activity grant access) also get one ``user.created`` or
  ``user.updated`` event each with the changed fields before and after, like a change
  through the API, so ``arpolicy audit --entity user --id N`` shows who made N an admin.
* The ``import.completed`` webhook is queued with the counts.

"Updated" is every stored record the file matched: the file's values were written over it,
whether or not they differed (only users are compared field by field).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Integer, String, func, select, type_coerce

from arpolicy.audit import Actor, record, record_many
from arpolicy.audit import Entry as AuditEntry
from arpolicy.audit.service import changed
from arpolicy.kit.clock import SystemClock
from arpolicy.kit.gcpause import paused_gc
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.ledger.importing.specs import Kind
from arpolicy.webhooks.events import emit

IDS_PER_EVENT = 1000
"""Records listed in one audit event."""
PROBE_BATCH = 500
FULL_SCAN_FROM = 20_000
"""Updated records from which their ids are read in one pass over the tenant's table
instead of by key, :data:`PROBE_BATCH` keys a query."""
ENTITIES = {"users": "user"}
"""Kinds whose every created or changed record gets its own event, before and after."""

Entry = tuple[int, Any]
"""(id, key) of a record: the values of its upsert key (external id, e-mail, document
type and number...; a tuple for a key of several columns)."""


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _converter(column: Any) -> Callable[[Any], Any] | None:
    """How a value of the key column becomes what both sides compare (None: as it is). The
    writer's parameters hold enum members and, on SQLite, ISO text for dates; the stored
    values are read as text (an enum's value) and, on PostgreSQL, dates."""
    kind = column.type
    if isinstance(kind, SAEnum):
        return str if issubclass(kind.enum_class or object, str) else _plain
    return None if isinstance(kind, String | Integer) else _plain


def _normalizer(columns: list[Any], read: bool) -> Callable[[list[Any]], list[Any]] | None:
    """``keys -> keys`` as compared (None when every column compares as it is), as one
    generated comprehension (a million keys through a loop of converters cost seconds).
    ``read``: keys as :meth:`Trail._rows` reads them (enums already text). Only our own
    column positions go into the code, never input."""
    convert = [None if read and isinstance(c.type, SAEnum) else _converter(c) for c in columns]
    if not any(convert):
        return None
    env = {f"c{i}": f for i, f in enumerate(convert) if f is not None}
    names = [f"a{i}" for i in range(len(convert))]
    items = [f"c{i}({n})" if convert[i] else n for i, n in enumerate(names)]
    if len(names) == 1:
        code = f"def norm(keys):\n    return [{items[0]} for a0 in keys]\n"
    else:
        code = (
            f"def norm(keys):\n    return [({', '.join(items)},) for {', '.join(names)} in keys]\n"
        )
    exec(code, env)
    norm: Callable[[list[Any]], list[Any]] = env["norm"]
    return norm


def _watched(kind: Kind) -> list[str]:
    """The table columns an import of ``kind`` can set (what its per-record events show)."""
    table = kind.model.__table__
    names = [name for c in kind.columns for name in (c.writes or (c.name,))]
    return [name for name in dict.fromkeys(names) if name in table.c]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Trail:
    """Started before the first row is written, finished before the import is kept."""

    def __init__(self, ctx: Context, kind: Kind, actor: Actor, source: str | None) -> None:
        self.session, self.tenant_id = ctx.session, ctx.tenant_id
        self.kind, self.actor, self.source = kind, actor, source
        self.model, self.table = kind.model, kind.model.__table__
        self.key_columns = [self.table.c[name] for name in kind.key]
        self.norm = _normalizer(self.key_columns, read=False)
        self.norm_read = _normalizer(self.key_columns, read=True)
        self.alone = self.session.get_bind().dialect.name == "sqlite"
        """Whether no other transaction can write while the import runs (SQLite); on
        PostgreSQL a row another transaction inserted meanwhile may be among the new ids,
        so they are matched with the keys written."""
        self.probe = next(
            (i for i, c in enumerate(self.key_columns) if _converter(c) is None), None
        )
        self.entity = ENTITIES.get(kind.name)
        self.watched = _watched(kind) if self.entity else []
        self.max_id = 0
        self.before: dict[int, dict[str, Any]] = {}

    def start(self) -> None:
        # Every row the import inserts gets a larger id than any stored now.
        self.max_id = self.session.scalar(select(func.max(self.model.id))) or 0
        if self.entity:
            self.before = self._states()

    @paused_gc()  # a million (id, key) pairs: the cyclic collector would rescan the heap
    def finish(self, report: ImportReport, keys: list[Any]) -> tuple[list[int], list[int]]:
        """Record the import: ``keys`` of the rows written (see ``Writer.keys``). The ids of
        the records created and of those updated."""
        created, updated = self._changes(keys)
        at = (self.actor.clock or SystemClock()).now()
        name = self.kind.name
        summary = {
            "kind": name,
            "file": self.source,
            "partial": report.partial,
            "rows": report.rows,
            "inserted": report.inserted,
            "updated": report.updated,
            "rejected": report.rejected,
        }
        listed = _json(created) + _json(updated)
        made = len(created)
        parts = (len(listed) + IDS_PER_EVENT - 1) // IDS_PER_EVENT
        after: dict[str, Any] = dict(summary)
        if parts <= 1:
            after["ids"] = {"created": listed[:made], "updated": listed[made:]}
        else:
            after["ids_in_events"] = parts
        per_record = self._per_record(created, updated) if self.entity else []
        if self.entity:
            after["changed"] = len(per_record)
            after["unchanged"] = len(listed) - len(per_record)
        event = self._record("import.completed", "import", name, at, after=after)
        self.session.flush()  # the id the other events and the webhook refer to
        if parts > 1:
            self._parts(event.id, listed, made, parts, at)
        reason = f"import of {name} from {self.source or 'rows'}, event {event.id}"
        for action, entity_id, old, new in per_record:
            self._record(
                action, str(self.entity), entity_id, at, before=old, after=new, reason=reason
            )
        emit(
            self.session,
            self.tenant_id,
            "import.completed",
            summary,
            key=f"import.completed:{event.id}",
            at=at,
        )
        return [i for i, _ in created], [i for i, _ in updated]

    def _parts(self, event_id: int, listed: list[Any], made: int, parts: int, at: datetime) -> None:
        """The ``import.ids`` events, inserted in one statement. Their lists are plain JSON
        already: :func:`arpolicy.audit.record` walks every value to make it so, which took
        longer than finding the ids."""
        rows = []
        for n, start in enumerate(range(0, len(listed), IDS_PER_EVENT), 1):
            end = start + IDS_PER_EVENT
            ids = {
                "created": listed[start : min(end, made)],
                "updated": listed[max(start, made) : end],
            }
            after = {
                "import_event": event_id,
                "kind": self.kind.name,
                "part": n,
                "parts": parts,
                "ids": ids,
            }
            rows.append(AuditEntry("import.ids", "import", self.kind.name, after=after))
        record_many(self.session, self.actor, rows, at=at)

    def _record(self, action: str, entity: str, entity_id: Any, at: datetime, **kw: Any) -> Any:
        return record(self.session, self.actor, action, entity, entity_id, at=at, **kw)

    def _changes(self, keys: list[Any]) -> tuple[list[Entry], list[Entry]]:
        """(created, updated): ``keys`` written, the new ones told apart by their ids."""
        written = keys if self.norm is None else self.norm(keys)
        if self.alone and self._all_new(len(keys)):
            first = self.max_id + 1
            return list(zip(range(first, first + len(keys)), written, strict=True)), []
        fresh = self._rows(self.table.c.id > self.max_id)
        wanted = set(written)
        created = [e for e in fresh if e[1] in wanted]
        made = {key for _, key in created}
        stored = [key for key in written if key not in made]
        return created, self._ids_of(stored)

    def _all_new(self, written: int) -> bool:
        """Whether every row written was inserted, with the ids after :attr:`max_id` in the
        order written (SQLite gives a new row the largest id plus one, and no other
        transaction writes meanwhile): then no row needs reading back."""
        table = self.table
        low, high, count = self.session.execute(
            select(func.min(table.c.id), func.max(table.c.id), func.count()).where(
                table.c.tenant_id == self.tenant_id, table.c.id > self.max_id
            )
        ).one()
        return count == written and (
            not count or (low, high) == (self.max_id + 1, self.max_id + count)
        )

    def _ids_of(self, keys: list[Any]) -> list[Entry]:
        if not keys:
            return []
        wanted = set(keys)
        if len(keys) >= FULL_SCAN_FROM or self.probe is None:
            return [e for e in self._rows() if e[1] in wanted]
        single = len(self.key_columns) == 1
        probe = self.key_columns[self.probe]
        values = sorted({k if single else k[self.probe] for k in keys})
        found: list[Entry] = []
        for batch in _chunks(values, PROBE_BATCH):
            found += [e for e in self._rows(probe.in_(batch)) if e[1] in wanted]
        return sorted(found)

    def _rows(self, *where: Any) -> list[Entry]:
        """(id, key) of the tenant's records matching ``where``, by id; Core rows, the key
        columns as stored (the ORM's result processing cost more than the rest)."""
        table = self.table
        read = [c if _converter(c) is None else type_coerce(c, String) for c in self.key_columns]
        stmt = (
            select(table.c.id, *read)
            .where(table.c.tenant_id == self.tenant_id, *where)
            .order_by(table.c.id)
        )
        rows = self.session.connection().execute(stmt).all()
        if not rows:
            return []
        ids, *columns = zip(*rows, strict=True)  # by column, without a loop in Python
        keys = list(columns[0] if len(columns) == 1 else zip(*columns, strict=True))
        return list(zip(ids, keys if self.norm_read is None else self.norm_read(keys), strict=True))

    def _states(self) -> dict[int, dict[str, Any]]:
        columns = [self.model.__table__.c[name] for name in self.watched]
        stmt = select(self.model.id, *columns).where(self.model.tenant_id == self.tenant_id)
        return {
            row[0]: {name: _plain(v) for name, v in zip(self.watched, row[1:], strict=True)}
            for row in self.session.execute(stmt)
        }

    def _per_record(
        self, created: list[Entry], updated: list[Entry]
    ) -> list[tuple[str, int, dict[str, Any] | None, dict[str, Any]]]:
        """(action, id, before, after) of each created record and each changed one."""
        now = self._states()
        out: list[tuple[str, int, dict[str, Any] | None, dict[str, Any]]] = [
            (f"{self.entity}.created", i, None, now[i]) for i, _ in created
        ]
        for i, _ in updated:
            old, new = changed(self.before.get(i, {}), now[i])
            if new:
                out.append((f"{self.entity}.updated", i, old, new))
        return out


def _json(entries: list[Entry]) -> list[list[Any]]:
    """``[[id, key], ...]`` with a key of several columns as a list."""
    if entries and isinstance(entries[0][1], tuple):
        return [[i, list(key)] for i, key in entries]
    return [[i, key] for i, key in entries]
