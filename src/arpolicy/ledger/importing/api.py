"""The import entry points the CLI and the REST API call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import SystemClock
from arpolicy.ledger.importing import pipeline
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.importer import run_import
from arpolicy.ledger.importing.plan import known_columns
from arpolicy.ledger.importing.reader import Source, jsonl_records, mapping_records, open_csv
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.importing.rejects import Rejects
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.models import Tenant

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BYTES_PER_ROW = 120
"""A rough size of one row, to guess from a file's size whether the import is large."""


def import_rows(
    session: Session,
    tenant: Tenant,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
    actor: Actor | None = None,
) -> ImportReport:
    """Import ``rows`` (mappings shaped like JSON Lines objects: column -> value, with
    ``custom_fields`` as an object) into ``tenant``. Row numbers in the report count from 1.

    Nothing is committed: the caller's transaction decides. In the default mode a report
    with errors means nothing was written (``report.applied`` is False).

    With ``actor`` the import is recorded in the audit log like a file's (who, and the
    records created and updated). Without, the caller records each record's change itself,
    as the REST API's create and update of one record do.
    """
    spec = get_kind(kind)

    def source() -> Source:
        return None, mapping_records(rows)

    return run_import(
        session,
        tenant,
        spec,
        source,
        partial=partial,
        rejects=None,
        progress=progress,
        actor=actor,
        source_name="rows",
    )


def import_file(
    session: Session,
    tenant: Tenant,
    kind: str,
    path: str | Path,
    *,
    partial: bool = False,
    rejects_path: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    fmt: str | None = None,
    parallel: bool = False,
    actor: Actor | None = None,
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

    A kept import is recorded in the audit log as done by ``actor`` (default
    ``system:import``), with the records it created and updated.
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
        text_columns = {
            c.name for c in known_columns(Context(session, tenant), spec).values() if c.text
        }
        rejects = Rejects(target, fmt, text_columns)
    expected = path.stat().st_size // BYTES_PER_ROW
    actor = actor or Actor(tenant.id, "system:import", clock=SystemClock())
    if parallel and pipeline.usable(session, spec, expected):
        return run_import(
            session,
            tenant,
            spec,
            lambda: (None, iter(())),
            partial=partial,
            rejects=rejects,
            actor=actor,
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
        return run_import(
            session,
            tenant,
            spec,
            lambda: open_source(stream, fmt, progress),
            partial=partial,
            rejects=rejects,
            actor=actor,
            source_name=path.name,
            expected_rows=expected,
        )


def open_source(stream: IO[bytes], fmt: str, progress: Callable[[int], None] | None) -> Source:
    if fmt == "csv":
        return open_csv(stream, progress)
    return None, jsonl_records(stream, progress)


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"cannot tell the format of {path.name} from its extension",
            fix="name the file .csv or .jsonl, or give --format csv|jsonl",
        )
    return fmt
