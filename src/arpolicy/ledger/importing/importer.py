"""The import pipeline: records in, every cell parsed, each row built and checked, good rows
upserted in chunks, bad rows reported, all in one savepoint of the caller's transaction.

Default mode: the first bad row stops the writing (validation goes on to report every bad
row) and the savepoint is rolled back, so nothing stored changes. ``partial``: the good rows
are kept and the bad ones reported and written to a reject file. A problem with the file as
a whole (encoding, header, CSV syntax) rolls back in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.limits import STORAGE_ERRORS, ImportFailed
from arpolicy.ledger.importing.pipeline import Opener, run_pipelined
from arpolicy.ledger.importing.plan import Field, Plan, cached_plan
from arpolicy.ledger.importing.reader import BadLine, FileProblem, Record, Source
from arpolicy.ledger.importing.rejects import Rejects
from arpolicy.ledger.importing.report import FieldError, ImportReport, RowError
from arpolicy.ledger.importing.selfref import SelfRefs, Waiting
from arpolicy.ledger.importing.specs import Kind, Values
from arpolicy.ledger.importing.trail import Trail
from arpolicy.ledger.importing.writer import Writer
from arpolicy.models import Tenant

if TYPE_CHECKING:
    from arpolicy.audit import Actor

MAX_ERRORS = 100_000
"""Bad rows listed in a report; more are counted (and all go to the reject file)."""
ROW_PROGRESS = 10_000

Problems = list[tuple[str | None, str | None, str, str]]
_NO_HEADER = object()


ANALYZE_MIN_ROWS = 10_000
"""Rows written from which an import refreshes PostgreSQL's statistics of the table."""


class Run:
    """One pass over the records of one import."""

    def __init__(
        self,
        ctx: Context,
        kind: Kind,
        report: ImportReport,
        writer: Writer,
        rejects: Rejects | None,
        header_is_file: bool,
    ) -> None:
        self.ctx, self.kind, self.report, self.writer = ctx, kind, report, writer
        self.rejects = rejects
        self.header_is_file = header_is_file
        self.plans: dict[tuple[str, ...], Plan] = {}
        self.seen: dict[Any, int] = {}
        self.key_of = kind.file_key or itemgetter(*kind.key)
        self.key_column = kind.key[0] if kind.file_key is None else _key_column(kind)
        self.selfrefs = SelfRefs(ctx, kind) if kind.self_ref else None
        self.written_keys: set[Any] | None = set() if kind.after else None
        self.key_getter = itemgetter(*kind.key)

    def plan(self, header: tuple[str, ...], line: int) -> Plan:
        plan = self.plans.get(header)
        if plan is None:
            plan = self.plans[header] = cached_plan(
                self.ctx, self.kind, header, 1 if self.header_is_file else line
            )
            if plan.problems and self.header_is_file:
                raise FileProblem.of(plan.problems)
        return plan

    def consume(self, records: Iterable[Record], progress: Callable[[int], None] | None) -> None:
        """The hot loop: one pass, the common path inline, every detour in a method."""
        ctx, seen, key_of, build = self.ctx, self.seen, self.key_of, self.kind.build
        add = self.writer.add
        plain = self.selfrefs is None and self.written_keys is None
        plan: Any = None
        last_header: Any = _NO_HEADER
        count = 0
        for line, header, cells, raw in records:
            count += 1
            if progress is not None and count % ROW_PROGRESS == 0:
                progress(ROW_PROGRESS)
            if header is not last_header:
                if header is None:
                    self.bad_line(line, cells, raw)
                    continue
                plan, last_header = self.plan(header, line), header
                fast, width, custom, update = plan.fast, plan.width, plan.custom, plan.update
            if plan.problems or len(cells) != width:
                self.bad_shape(line, plan, cells, raw)
                continue
            try:
                values = fast(cells)
            except FieldError:
                self.bad_cells(line, plan, cells, raw)
                continue
            if custom:
                values["custom_fields"] = {name[3:]: values.pop(name) for name in custom}
            key = key_of(values)
            first = seen.setdefault(key, line)
            if first != line:
                self.duplicate(line, plan, cells, raw, key, first)
                continue
            try:
                row = build(ctx, values)
            except FieldError as exc:
                self.bad_row(line, plan, cells, raw, values, exc)
                continue
            if plain:
                add(row, update)
            else:
                self.place(line, plan, cells, raw, key, values, row)
        self.report.rows += count

    def columns(self) -> set[str]:
        """Every column a header of the records named."""
        return {name for header in self.plans for name in header}

    def bad_line(self, line: int, bad: BadLine, raw: Any) -> None:
        self.reject(
            line, bad.header, bad.cells, raw, [(bad.column, bad.value, bad.reason, bad.fix)]
        )

    def bad_shape(self, line: int, plan: Plan, cells: list[str], raw: Any) -> None:
        if plan.problems:
            problems: Problems = [(e.column, e.value, e.reason, e.fix) for e in plan.problems]
        else:
            problems = [
                (
                    None,
                    None,
                    f"has {len(cells)} cells but the header has {plan.width} columns",
                    "quote values that contain commas, and give every row the header's columns",
                )
            ]
        self.reject(line, plan.header, cells, raw, problems)

    def bad_cells(self, line: int, plan: Plan, cells: list[str], raw: Any) -> None:
        _, problems = parse_cells(plan.fields, cells)
        self.reject(line, plan.header, cells, raw, problems or [])

    def duplicate(
        self, line: int, plan: Plan, cells: list[str], raw: Any, key: Any, first: int
    ) -> None:
        shown = " ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        self.reject(
            line,
            plan.header,
            cells,
            raw,
            [
                (
                    self.key_column,
                    shown,
                    f"repeats the key of line {first}",
                    f"keep one row for {shown}",
                )
            ],
        )

    def bad_row(
        self, line: int, plan: Plan, cells: list[str], raw: Any, values: Values, exc: FieldError
    ) -> None:
        shown = _shown(values, exc.column, plan, cells)
        self.reject(line, plan.header, cells, raw, [(exc.column, shown, exc.reason, exc.fix)])

    def place(
        self,
        line: int,
        plan: Plan,
        cells: list[str],
        raw: Any,
        key: Any,
        values: Values,
        row: dict[str, Any],
    ) -> None:
        """Rows with a reference to their own kind, or whose keys are kept for ``after``."""
        refs = self.selfrefs
        try:
            if refs is not None and not refs.place(key, values, row):
                refs.wait(
                    Waiting(
                        line, (plan.header, cells, raw), key, values[refs.column], row, plan.update
                    )
                )
                return
        except FieldError as exc:
            self.bad_row(line, plan, cells, raw, values, exc)
            return
        self.write(row, plan.update)

    def write(self, row: dict[str, Any], update: tuple[str, ...]) -> None:
        if self.written_keys is not None:
            self.written_keys.add(
                self.key_getter(row) if len(self.kind.key) > 1 else (row[self.kind.key[0]],)
            )
        self.writer.add(row, update)

    def reject(
        self, line: int, header: tuple[str, ...] | None, cells: Any, raw: Any, problems: Problems
    ) -> None:
        report = self.report
        report.rejected += 1
        errors = [
            RowError(line, column, value, reason, fix) for column, value, reason, fix in problems
        ]
        if len(report.errors) < MAX_ERRORS:
            report.errors.extend(errors)
        else:
            report.errors_omitted += 1
        if self.rejects is not None:
            self.rejects.write(header, cells, raw, errors)
        if not report.partial:
            self.writer.discard()

    def finish(self) -> None:
        if self.selfrefs is not None:
            ready, failed = self.selfrefs.resolve()
            for item in ready:
                self.write(item.row, item.update)
            for item, exc in failed:
                header, cells, raw = item.record
                self.reject(
                    item.line,
                    header,
                    cells,
                    raw,
                    [(exc.column, str(item.parent), exc.reason, exc.fix)],
                )
        if not self.writer.enabled:
            return
        self.writer.close()
        if self.selfrefs is not None:
            self.selfrefs.write_links()
        if self.kind.after is not None and self.written_keys:
            self.kind.after(self.ctx, self.written_keys)


def parse_cells(fields: list[Field], cells: list[str]) -> tuple[Values, Problems | None]:
    """Every cell of the row through its column's parser (the hot loop of an import)."""
    values: Values = {}
    problems: Problems | None = None
    for index, name, parse, required, description in fields:
        cell = cells[index].strip()
        if cell:
            try:
                values[name] = parse(cell)
            except FieldError as exc:
                problems = (problems or []) + [(exc.column or name, cell, exc.reason, exc.fix)]
        elif required:
            problems = (problems or []) + [(name, "", "is empty", f"fill in {name}: {description}")]
        else:
            values[name] = None
    return values, problems


def _key_column(kind: Kind) -> str:
    names = {c.name for c in kind.columns}
    for candidate in ("number", "document_number", "external_id"):
        if candidate in names:
            return candidate
    return kind.columns[0].name


def _shown(values: Values, column: str | None, plan: Plan, cells: list[str]) -> str | None:
    if column is None:
        return None
    if column in plan.header:
        return cells[plan.header.index(column)].strip()
    value = values.get(column)
    return None if value is None else str(value)


def no_rows() -> FileProblem:
    return FileProblem(1, "there are no data rows", "add rows below the header")


def count_rows(session: Session, kind: Kind, tenant_id: int) -> int:
    model = kind.model
    return (
        session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant_id))
        or 0
    )


def run_import(
    session: Session,
    tenant: Tenant,
    kind: Kind,
    source: Callable[[], Source],
    *,
    partial: bool,
    rejects: Rejects | None,
    actor: Actor | None,
    source_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    expected_rows: int = 0,
    pipelined: Opener | None = None,
    ctx: Context | None = None,
    counted: bool = True,
) -> ImportReport:
    """Import the records of ``source`` inside a savepoint; roll it back unless the import
    is kept. ``source`` is called inside, so that a problem opening the file is reported
    like any other. With ``pipelined`` (see pipeline.py) a second process opens the file
    with it and parses, and ``progress`` is what it reports.

    A kept import is recorded in the audit log as done by ``actor``, with the records it
    created and updated (see trail.py), and announced by the ``import.completed`` webhook;
    ``source_name`` is the file's name there. ``actor`` None is only for a caller that
    records each record's change itself (the ledger write service's create and update of one
    record, see arpolicy.ledger.writing).

    ``counted`` False: the caller knows which rows are new (the write service looked each
    key up under its lock), so the tenant's table is not counted before and after; the
    report then counts every row written as updated, for the caller to correct. ``ctx``: a
    context the caller already holds (its reference lookups and custom fields are reused).
    """
    report = ImportReport(kind.name, partial=partial)
    ctx = ctx or Context(session, tenant)
    trail = Trail(ctx, kind, actor, source_name) if actor is not None else None
    keep = trail is not None
    savepoint = session.begin_nested()
    try:
        before = count_rows(session, kind, tenant.id) if counted else None
        if trail is not None:
            trail.start()
        if pipelined is not None:
            with Writer(
                ctx,
                kind,
                expected_rows=expected_rows,
                first_load=before == 0,
                keep_keys=keep,
                bulk=counted,
            ) as writer:
                run_pipelined(ctx, kind, report, writer, rejects, pipelined, progress)
                columns = report.columns
        else:
            header, records = source()
            with Writer(
                ctx,
                kind,
                expected_rows=expected_rows,
                first_load=before == 0,
                keep_keys=keep,
                bulk=counted,
            ) as writer:
                run = Run(ctx, kind, report, writer, rejects, header is not None)
                if header is not None:
                    run.plan(header, 1)
                run.consume(records, progress)
                if report.rows == 0:
                    raise no_rows()
                run.finish()
                columns = run.columns()
    except FileProblem as exc:
        savepoint.rollback()
        report.file_error = exc.errors[0]
        report.errors[:0] = exc.errors
        return report
    except STORAGE_ERRORS as exc:  # a write the checks did not foresee: no SQL, no row data
        savepoint.rollback()
        raise ImportFailed.of(exc) from None
    except BaseException:
        savepoint.rollback()
        raise
    finally:
        if rejects is not None:
            rejects.close()
            report.rejects_path = str(rejects.path) if rejects.count else None
    report.errors.sort(key=lambda e: e.line)
    if report.rejected and not partial:
        savepoint.rollback()
        return report
    written = writer.written
    report.columns = columns
    report.inserted = 0 if before is None else count_rows(session, kind, tenant.id) - before
    report.updated = written - report.inserted
    if trail is not None:
        try:
            report.created_ids, report.updated_ids = trail.finish(report, writer.keys or [])
        except BaseException:
            savepoint.rollback()
            raise
    savepoint.commit()
    report.applied = True
    if written >= ANALYZE_MIN_ROWS and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the planner: without them PostgreSQL plans the bulk rule
        # queries right after a large load for a near-empty table (measured: 4x slower).
        session.execute(text(f"ANALYZE {kind.model.__tablename__}"))
    return report
