"""The import entry points: files and rows into the ledger, through the ledger write service
(arpolicy.ledger.writing), so every import leaves the same trail and fires the same hooks
whoever calls it; and the file formats the surfaces share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import SystemClock
from arpolicy.ledger.importing.reader import Source, jsonl_records, open_csv
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.models import Tenant

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BYTES_PER_ROW = 120
"""A rough size of one row, to guess from a file's size whether the import is large."""


def system_actor(tenant: Tenant) -> Actor:
    """Who imports when the caller names nobody."""
    return Actor(tenant.id, "system:import", clock=SystemClock())


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
    with errors means nothing was written (``report.applied`` is False). A kept import is
    recorded in the audit log as done by ``actor`` (default ``system:import``) and fires its
    kind's ledger hook once (see :meth:`arpolicy.ledger.writing.LedgerWrites.import_rows`).
    """
    from arpolicy.ledger.writing import LedgerWrites

    writes = LedgerWrites(session, tenant, actor or system_actor(tenant))
    return writes.import_rows(kind, rows, partial=partial, progress=progress)


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
    """Import a CSV or JSON Lines file (see :func:`arpolicy.ledger.writing.bulk.import_file`
    for the options). A kept import is recorded in the audit log as done by ``actor``
    (default ``system:import``), with the records it created and updated, and fires its
    kind's ledger hook once."""
    from arpolicy.ledger.writing import LedgerWrites

    writes = LedgerWrites(session, tenant, actor or system_actor(tenant))
    return writes.import_file(
        kind,
        path,
        partial=partial,
        rejects_path=rejects_path,
        progress=progress,
        fmt=fmt,
        parallel=parallel,
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
