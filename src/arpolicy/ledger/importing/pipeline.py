"""Large files on SQLite in two processes: a forked child reads, parses, validates and builds
the rows (the same :class:`~arpolicy.ledger.importing.importer.Run` as in one process) and
sends them, already made statement parameters, to the parent, which writes them in its
transaction while the child parses the next chunk. A million invoices: parsing and writing
each take about one core for half the import, so the two overlap on two cores.

Safety:

* The child never touches the database. It was forked inside the caller's transaction, and
  an SQLite connection must not be used across a ``fork``; the few queries of a
  :class:`Context` (reference maps, FX rates, custom field definitions) are asked of the
  parent, which answers through its own session (so the child sees what an import in one
  process would see). The child's stand-in session refuses anything else.
* The parent keeps every decision of an import in one process: the savepoint, the indexes
  set aside, the row counts, the rollback when a row was rejected (default mode).
* The child's outcome comes back as its report; an exception in the child is raised again
  in the parent (its own type when it can be pickled, with the child's traceback as a note);
  a child that dies is an error, and the child is never left running.
* Only for kinds whose rows never wait for other rows of the file (no self references, no
  ``after`` step), decided before the child starts.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.reader import FileProblem, Progress, Source
from arpolicy.ledger.importing.rejects import Rejects
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.ledger.importing.specs import Kind, Row
from arpolicy.ledger.importing.writer import CHUNK, Statement, Writer

MIN_ROWS = 100_000
"""Expected rows from which a file is worth a second process (starting it costs little, but
below this a one-process import takes a few seconds at most)."""
JOIN_SECONDS = 10

Opener = Callable[[Progress | None], Source]
"""Opens the file in the child: progress callback -> (header, records)."""


class ParseProcessError(RuntimeError):
    """The parse process failed with an error that could not be sent as it was, or died."""


def usable(session: Session, kind: Kind, expected_rows: int) -> bool:
    """Whether an import of ``kind`` with about ``expected_rows`` rows may run pipelined:
    SQLite file database, Linux, a large file, rows that never wait for other rows."""
    bind = session.get_bind()
    database = bind.engine.url.database
    return (
        expected_rows >= MIN_ROWS
        and bind.dialect.name == "sqlite"
        and bool(database)
        and database != ":memory:"
        and kind.self_ref is None
        and kind.after is None
        and sys.platform == "linux"  # fork is safe enough there (not on macOS)
    )


@dataclass(frozen=True)
class _Job:
    kind: Kind
    partial: bool
    upsert: bool
    dialect: Any
    tenant_id: int
    base: str
    rejects: Rejects | None
    opener: Opener


def run_pipelined(
    ctx: Context,
    kind: Kind,
    report: ImportReport,
    writer: Writer,
    rejects: Rejects | None,
    opener: Opener,
    progress: Progress | None,
) -> None:
    """Fill ``report`` and write the rows, like ``Run.consume`` + ``Run.finish``; raises
    :class:`FileProblem` for a problem with the file as a whole."""
    job = _Job(
        kind,
        report.partial,
        writer.upsert,
        ctx.session.get_bind().dialect,
        ctx.tenant_id,
        ctx.base,
        rejects,
        opener,
    )
    mp = multiprocessing.get_context("fork")
    inbox, outbox = mp.Pipe(duplex=False)
    answers_in, answers_out = mp.Pipe(duplex=False)
    child = mp.Process(
        target=_child, args=(job, outbox, answers_in), name="arpolicy-import-parse", daemon=True
    )
    gc.freeze()  # the child never collects (finalizes) the parent's objects
    try:
        child.start()
    finally:
        gc.unfreeze()
    outbox.close()
    answers_in.close()
    done = False
    try:
        outcome = _serve(ctx, writer, inbox, answers_out, progress, child)
        done = True
    finally:
        inbox.close()
        answers_out.close()
        if not done:
            child.terminate()
        child.join(JOIN_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()
    if outcome[0] == "error":
        raise outcome[1]
    _, child_report, problem, rejected_count = outcome
    report.rows = child_report.rows
    report.rejected = child_report.rejected
    report.errors = child_report.errors
    report.errors_omitted = child_report.errors_omitted
    report.columns = child_report.columns
    if rejects is not None:
        rejects.count = rejected_count
    if problem is not None:
        raise FileProblem.of(problem)
    if not report.rejected or report.partial:
        writer.close()


def _serve(
    ctx: Context,
    writer: Writer,
    inbox: Any,
    answers: Any,
    progress: Progress | None,
    child: Any,
) -> tuple[Any, ...]:
    """Write what the child sends and answer its questions until it is done."""
    write = writer.write_params
    while True:
        try:
            message = inbox.recv()
        except EOFError:
            child.join(JOIN_SECONDS)
            raise ParseProcessError(
                f"the import's parse process ended unexpectedly (exit code {child.exitcode})"
            ) from None
        tag = message[0]
        if tag == "rows":
            write(*message[1:])
        elif tag == "progress":
            if progress is not None:
                progress(message[1])
        elif tag == "ask":
            answers.send(_answer(ctx, *message[1:]))
        else:
            return tuple(message)


def _answer(ctx: Context, what: str, name: str) -> Any:
    if what == "map":
        return ctx.refs(name)
    if what == "rates":
        return ctx.load_rates()
    return ctx.load_fields()


class _NoDatabase:
    """The child's stand-in for the session: it knows the dialect, and refuses any query."""

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect

    def get_bind(self) -> _NoDatabase:
        return self

    def __getattr__(self, name: str) -> Any:
        raise ParseProcessError(f"the import's parse process may not use the database ({name})")


class _ChildContext(Context):
    """A :class:`Context` whose queries are asked of the parent process."""

    def __init__(self, job: _Job, ask: Callable[[str, str], Any]) -> None:
        tenant: Any = SimpleNamespace(id=job.tenant_id, base_currency=job.base)
        session: Any = _NoDatabase(job.dialect)
        super().__init__(session, tenant)
        self._ask = ask

    def load_map(self, name: str) -> dict[Any, Any]:
        result: dict[Any, Any] = self._ask("map", name)
        return result

    def load_rates(self) -> Any:
        return self._ask("rates", "")

    def load_fields(self) -> Any:
        return self._ask("fields", "")


class _Sender(Writer):
    """The child's writer: a chunk of rows becomes one message of ready parameters."""

    def __init__(self, ctx: Context, kind: Kind, upsert: bool, send: Callable[[Any], None]):
        self.ctx, self.kind, self.upsert, self.chunk = ctx, kind, upsert, CHUNK
        self.enabled = True
        self.written = 0
        self._buffers: dict[tuple[str, ...], list[Row]] = {}
        self._statements: dict[tuple[str, ...], Statement] = {}
        self._columns: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._pending = 0
        self._send = send

    def statement(self, update: tuple[str, ...], columns: tuple[str, ...]) -> Statement:
        self._columns[update] = columns
        return super().statement(update, columns)

    def flush(self) -> None:
        for update, params in self._buffers.items():
            if params:
                self._send(("rows", update, self._columns[update], params))
                self.written += len(params)
                params.clear()
        self._pending = 0

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _child(job: _Job, outbox: Any, answers: Any) -> None:
    from arpolicy.ledger.importing.importer import Run, no_rows

    send = outbox.send

    def ask(what: str, name: str) -> Any:
        send(("ask", what, name))
        return answers.recv()

    report = ImportReport(job.kind.name, partial=job.partial)
    outcome: tuple[Any, ...]
    try:
        ctx = _ChildContext(job, ask)
        writer = _Sender(ctx, job.kind, job.upsert, send)
        header, records = job.opener(lambda n: send(("progress", n)))
        run = Run(ctx, job.kind, report, writer, job.rejects, header is not None)
        if header is not None:
            run.plan(header, 1)
        run.consume(records, None)
        if report.rows == 0:
            raise no_rows()
        run.finish()
        report.columns = run.columns()
        outcome = ("done", report, None)
    except FileProblem as exc:
        outcome = ("done", report, exc.errors)
    except BaseException as exc:
        outcome = ("error", _portable(exc))
    finally:
        if job.rejects is not None:
            job.rejects.close()
    if outcome[0] == "done":
        outcome = (*outcome, job.rejects.count if job.rejects is not None else 0)
    with contextlib.suppress(OSError):  # the parent stopped listening: it has its own error
        send(outcome)
    outbox.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` with the child's traceback as a note, or a :class:`ParseProcessError` saying
    what it was when it cannot cross to the parent."""
    where = "in the import's parse process:\n" + "".join(traceback.format_exception(exc))
    try:
        exc.add_note(where)
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc):
            return exc
    except Exception:
        pass
    return ParseProcessError(f"{type(exc).__name__}: {exc}\n{where}")
