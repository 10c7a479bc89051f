"""Imports started from the app's Imports screen (docs/web/imports.md).

An uploaded file is kept in a private temporary directory and imported in a thread through
the API's own :func:`arpolicy.api.routes.imports.import_upload` (same checks, same audit
events and webhook), so the page can show how far a large file has got (rows imported,
share of the file read) while it runs. A rejected file is kept until the user imports its
good rows or none of it.

A job's state is a small JSON file beside the upload, so any server process on the host
(``arpolicy serve --workers N``) can show it and act on it. It is the user's view of an
import, not its record (the audit log is): files older than a day are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog

from arpolicy.api.routes.imports import import_upload
from arpolicy.exceptions import ArpolicyError, NotFoundError
from arpolicy.web.context import Caller

CHUNK = 1 << 20
KEEP_SECONDS = 24 * 3600
SAVE_EVERY = 0.5
"""Seconds between two writes of a running job's progress."""
log = structlog.get_logger("arpolicy.web")


def directory() -> Path:
    """Where uploads and job states live (private to the server's OS user)."""
    path = Path(tempfile.gettempdir()) / f"arpolicy-imports-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@dataclass
class Job:
    """One import of one file by one user; ``report`` is ``ImportReport.to_dict()`` and
    ``error`` the message, fix and status of a refused import."""

    id: str
    tenant_id: int
    user_id: int
    kind: str
    fmt: str
    name: str
    size: int
    partial: bool
    file: str
    """The upload's file name in :func:`directory` (a retry of the good rows shares it)."""
    rows: int = 0
    read: int = 0
    done: bool = False
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    saved: float = field(default=0.0, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return directory() / self.file

    @property
    def percent(self) -> int:
        return min(100, self.read * 100 // self.size) if self.size else 100

    @property
    def rejected_all(self) -> bool:
        """Finished with bad rows and nothing stored: the user chooses good rows or none."""
        return self.report is not None and not self.report["applied"]

    @property
    def good_rows(self) -> int:
        report = self.report
        if report is None or report["file_error"] is not None:
            return 0
        return max(0, int(report["rows"]) - int(report["rejected"]))

    @property
    def status(self) -> int:
        """The HTTP status of the finished job's page."""
        if self.error is not None:
            return int(self.error["status"])
        return 422 if self.rejected_all else 200


class _Rejected(Exception):
    """Rolls the import's transaction back when the file was rejected as a whole."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report


def _state(job_id: str) -> Path:
    return directory() / f"{job_id}.json"


def save(job: Job) -> None:
    """Write the job's state (atomically: a reader never sees half of it)."""
    data = {k: v for k, v in asdict(job).items() if k != "saved"}
    temporary = _state(job.id).with_suffix(".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, _state(job.id))
    job.saved = time.monotonic()


def load(me: Caller, job_id: str) -> Job:
    """The job ``job_id`` of ``me`` (anyone else's is not found, like another tenant's)."""
    path = _state(job_id) if job_id.replace("-", "").replace("_", "").isalnum() else None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
    except (FileNotFoundError, ValueError):
        data = None
    if data is None or data["tenant_id"] != me.tenant_id or data["user_id"] != me.user_id:
        raise NotFoundError(
            "there is no such import (a finished one is kept for a day)",
            where="path.job_id",
            fix="upload the file again at /imports",
        )
    return Job(**data)


def remove(job: Job, *, keep_file: bool = False) -> None:
    """Drop the job's state, and its upload unless another job imports it."""
    with contextlib.suppress(FileNotFoundError):
        _state(job.id).unlink()
    if not keep_file:
        discard_file(job)


def discard_file(job: Job) -> None:
    with contextlib.suppress(FileNotFoundError):
        job.path.unlink()


def sweep(now: float | None = None) -> None:
    """Remove the uploads and states older than a day (jobs nobody came back to)."""
    limit = (now if now is not None else time.time()) - KEEP_SECONDS
    for path in directory().iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()


def save_upload(data: IO[bytes]) -> tuple[str, int]:
    """Copy the uploaded bytes into a private file: its name in :func:`directory`, size."""
    handle, name = tempfile.mkstemp(prefix="upload-", dir=directory())
    size = 0
    with open(handle, "wb") as out:
        while chunk := data.read(CHUNK):
            out.write(chunk)
            size += len(chunk)
    return Path(name).name, size


def new_job(me: Caller, kind: str, fmt: str, name: str, file: str, size: int, partial: bool) -> Job:
    return Job(
        id=secrets.token_urlsafe(12),
        tenant_id=me.tenant_id,
        user_id=me.user_id,
        kind=kind,
        fmt=fmt,
        name=name,
        size=size,
        partial=partial,
        file=file,
    )


def start(me: Caller, job: Job, wait: float) -> Job:
    """Run ``job`` in a thread; wait up to ``wait`` seconds for it (small files finish)."""
    sweep()
    save(job)
    finished = threading.Event()
    thread = threading.Thread(
        target=run, args=(me, job, finished), daemon=True, name=f"import-{job.id}"
    )
    thread.start()
    finished.wait(wait)
    return job


def run(me: Caller, job: Job, finished: threading.Event) -> None:
    """Import the job's file as ``me``: one transaction, rolled back when rejected."""

    def progress() -> None:
        if time.monotonic() - job.saved >= SAVE_EVERY:
            save(job)

    def rows(count: int) -> None:
        job.rows += count
        progress()

    def read(count: int) -> None:
        job.read += count
        progress()

    try:
        with job.path.open("rb") as data, me.write() as session:
            report = import_upload(
                session, me, job.kind, data, job.fmt, job.partial, job.name, None, rows, read
            )
            if not report.applied:
                raise _Rejected(report.to_dict())
        job.report = report.to_dict()
        discard_file(job)
    except _Rejected as rejected:
        job.report = rejected.report  # the file stays, for its good rows
    except ArpolicyError as exc:
        job.error = {"message": exc.message, "fix": exc.fix, "status": exc.status}
        discard_file(job)
    except Exception:  # the page must end; the server log has the cause
        log.exception("web.import.failed", kind=job.kind, job=job.id)
        job.error = {
            "message": "the import failed unexpectedly; nothing was imported",
            "fix": "try again; if it fails again, tell your administrator when it happened",
            "status": 500,
        }
        discard_file(job)
    finally:
        if job.report is not None:
            job.read = job.size
        job.done = True
        save(job)
        finished.set()
