"""Imports through the write service: many records of one kind as one batch.

Every import, whatever its surface (``arpolicy import``, ``POST /v1/imports/{kind}``, rows
a job gives), runs the import pipeline (arpolicy.ledger.importing) with the service's actor
and so leaves the same trail: the ``import.completed`` audit event listing the records
created and updated, and the ``import.completed`` webhook. A kept import then fires its
kind's ledger hook once, with every record it wrote (not once per record): a policy reacts
to a million-row file in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arpolicy.exceptions import ValidationError
from arpolicy.ledger import hooks
from arpolicy.ledger.importing import pipeline
from arpolicy.ledger.importing.api import BYTES_PER_ROW, file_format, open_source
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.importer import run_import
from arpolicy.ledger.importing.plan import known_columns
from arpolicy.ledger.importing.reader import Source, mapping_records
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.importing.rejects import Rejects
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.ledger.writing.resources import TOPICS

if TYPE_CHECKING:
    from arpolicy.ledger.importing.pipeline import Opener
    from arpolicy.ledger.writing.service import LedgerWrites


def import_source(
    writes: LedgerWrites,
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
    """Import what ``source`` opens, record the trail, then fire the kind's hook once."""
    report = run_import(
        writes.session,
        writes.tenant,
        get_kind(kind),
        source,
        partial=partial,
        rejects=rejects,
        actor=writes.actor,
        source_name=source_name,
        progress=progress,
        expected_rows=expected_rows,
        pipelined=pipelined,
    )
    if report.applied:
        fire_batch(writes, kind, report)
    return report


def fire_batch(writes: LedgerWrites, kind: str, report: ImportReport) -> None:
    """The kind's ledger hook, once for every record the import created or updated;
    subscribers' notes land in ``report.notes``."""
    topic = TOPICS.get(kind)
    if topic is None:
        return
    hooks.fire(
        hooks.Written(
            topic,
            writes.session,
            writes.tenant,
            writes.actor,
            [*report.created_ids, *report.updated_ids],
            report.created_ids,
            writes.as_of,
            writes.now(),
            kind=kind,
            fields=frozenset(report.columns),
            batch=True,
            notes=report.notes,
        )
    )


def import_rows(
    writes: LedgerWrites,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``rows`` (mappings shaped like JSON Lines objects: column -> value, with
    ``custom_fields`` as an object). Row numbers in the report count from 1; the trail names
    the source ``rows``."""
    get_kind(kind)
    return import_source(
        writes,
        kind,
        lambda: (None, mapping_records(rows)),
        partial=partial,
        source_name="rows",
        progress=progress,
    )


def import_file(
    writes: LedgerWrites,
    kind: str,
    path: str | Path,
    *,
    partial: bool = False,
    rejects_path: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    fmt: str | None = None,
    parallel: bool = False,
) -> ImportReport:
    """Import a CSV or JSON Lines file (``fmt`` "csv"/"jsonl", default from the extension).

    ``progress`` is called with the number of bytes read since its last call. Bad rows go
    to ``rejects_path`` when given; with ``partial`` they go to ``<file>.rejects.csv``
    (``.rejects.jsonl`` for JSON Lines) unless another path is given.

    ``parallel``: a large file (about :data:`pipeline.MIN_ROWS` rows or more) on an SQLite
    file database is parsed in a forked second process while this one writes (about 30%
    faster on two cores); same rows, same report. Off by default: it forks the calling
    process (a caller with threads, or one that cannot have a child process, should not opt
    in) and a crash of the child ends the import with an error. Kinds whose rows refer to
    rows of the same file always run in one process.
    """
    spec = get_kind(kind)
    path = Path(path)
    fmt = fmt or file_format(path)
    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file", fix="check the path")
    rejects = None
    if rejects_path is not None or partial:
        target = (
            Path(rejects_path) if rejects_path else path.with_name(f"{path.name}.rejects.{fmt}")
        )
        ctx = Context(writes.session, writes.tenant)
        text_columns = {c.name for c in known_columns(ctx, spec).values() if c.text}
        rejects = Rejects(target, fmt, text_columns)
    expected = path.stat().st_size // BYTES_PER_ROW
    if parallel and pipeline.usable(writes.session, spec, expected):
        return import_source(
            writes,
            kind,
            lambda: (None, iter(())),
            partial=partial,
            rejects=rejects,
            source_name=path.name,
            progress=progress,
            expected_rows=expected,
            pipelined=lambda child_progress: open_source(
                path.open("rb"),  # read to the end by the parse process, closed when it exits
                fmt,
                child_progress,
            ),
        )
    with path.open("rb") as stream:
        return import_source(
            writes,
            kind,
            lambda: open_source(stream, fmt, progress),
            partial=partial,
            rejects=rejects,
            source_name=path.name,
            expected_rows=expected,
        )
