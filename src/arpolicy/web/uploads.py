"""Imports started from the app's Imports screen (docs/web/imports.md).

An uploaded file is kept in a temporary file and imported in a thread through the API's own
:func:`arpolicy.api.routes.imports.import_upload` (same checks, same audit events and
webhook), so the page can show how far a large file has got (rows read and imported) while
it runs. A rejected file is kept until the user imports its good rows or none of it.

The jobs live in the process that serves the upload (``app.state``): a job is the user's
view of an import, not its record (the audit log is); the page of a finished job is lost
when the server restarts, the import itself is not.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import structlog

from arpolicy.api.routes.imports import import_upload
from arpolicy.exceptions import ArpolicyError, NotFoundError
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.web.context import Caller

KEEP = 50
"""Jobs kept per process (the oldest finished one goes, with its file, beyond this)."""
CHUNK = 1 << 20
log = structlog.get_logger("arpolicy.web")


@dataclass
class Job:
    """One import of one file by one user."""

    id: str
    tenant_id: int
    user_id: int
    kind: str
    fmt: str
    name: str
    path: Path
    size: int
    partial: bool
    started_at: datetime
    rows: int = 0
    read: int = 0
    report: ImportReport | None = None
    error: ArpolicyError | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    @property
    def percent(self) -> int:
        return min(100, self.read * 100 // self.size) if self.size else 100

    @property
    def rejected_all(self) -> bool:
        """Finished with bad rows and nothing stored: the user chooses good rows or none."""
        return self.report is not None and not self.report.applied

    @property
    def good_rows(self) -> int:
        report = self.report
        if report is None or report.file_error is not None:
            return 0
        return max(0, report.rows - report.rejected)


class _Rejected(Exception):
    """Rolls the import's transaction back when the file was rejected as a whole."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report


class Jobs:
    """The jobs of this process, by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                oldest = next((j for j in self._jobs.values() if j.done), None)
                if oldest is None:
                    break
                del self._jobs[oldest.id]
                discard_file(oldest)

    def get(self, me: Caller, job_id: str) -> Job:
        """The job ``job_id`` of ``me`` (anyone else's is not found, like another tenant's)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.tenant_id != me.tenant_id or job.user_id != me.user_id:
            raise NotFoundError(
                "there is no such import (or the server has restarted since)",
                where="path.job_id",
                fix="upload the file again at /imports",
            )
        return job

    def forget(self, job: Job) -> None:
        """Drop the job, keeping its file (another job imports it)."""
        with self._lock:
            self._jobs.pop(job.id, None)

    def remove(self, job: Job) -> None:
        """Drop the job and its file."""
        self.forget(job)
        discard_file(job)


def jobs_of(app_state: Any) -> Jobs:
    found: Jobs | None = getattr(app_state, "web_imports", None)
    if found is None:
        found = Jobs()
        app_state.web_imports = found
    return found


def save_upload(data: IO[bytes]) -> tuple[Path, int]:
    """Copy the uploaded bytes into a private temporary file: its path and size."""
    handle, name = tempfile.mkstemp(prefix="arpolicy-import-")
    size = 0
    with open(handle, "wb") as out:
        while chunk := data.read(CHUNK):
            out.write(chunk)
            size += len(chunk)
    return Path(name), size


def discard_file(job: Job) -> None:
    with contextlib.suppress(FileNotFoundError):
        job.path.unlink()


def new_job(
    me: Caller, kind: str, fmt: str, name: str, path: Path, size: int, partial: bool
) -> Job:
    return Job(
        id=secrets.token_urlsafe(12),
        tenant_id=me.tenant_id,
        user_id=me.user_id,
        kind=kind,
        fmt=fmt,
        name=name,
        path=path,
        size=size,
        partial=partial,
        started_at=me.now(),
    )


def start(me: Caller, job: Job, jobs: Jobs, wait: float) -> Job:
    """Run ``job`` in a thread; wait up to ``wait`` seconds for it (small files finish)."""
    jobs.add(job)
    thread = threading.Thread(target=run, args=(me, job), daemon=True, name=f"import-{job.id}")
    thread.start()
    job.finished.wait(wait)
    return job


def run(me: Caller, job: Job) -> None:
    """Import the job's file as ``me``: one transaction, rolled back when rejected."""

    def rows(count: int) -> None:
        job.rows += count

    def read(count: int) -> None:
        job.read += count

    try:
        with job.path.open("rb") as data, me.write() as session:
            report = import_upload(
                session, me, job.kind, data, job.fmt, job.partial, job.name, None, rows, read
            )
            if not report.applied:
                raise _Rejected(report)
        job.report = report
        discard_file(job)
    except _Rejected as rejected:
        job.report = rejected.report
    except ArpolicyError as exc:
        job.error = exc
        discard_file(job)
    except Exception:  # the page must end; the server log has the cause
        log.exception("web.import.failed", kind=job.kind, job=job.id)
        job.error = ArpolicyError(
            "the import failed unexpectedly; nothing was imported",
            fix="try again; if it fails again, tell your administrator the time it happened",
        )
        discard_file(job)
    finally:
        job.read = job.size if job.report is not None else job.read
        job.finished.set()
