"""Imports (docs/web/imports.md): upload a file of any kind ``POST /v1/imports/{kind}``
accepts, see every rejected row (line, column, value, reason, fix), import the good rows or
none; a large file shows how far it has got while it runs.

The import itself is the API's (:func:`arpolicy.api.routes.imports.import_upload`), run by
:mod:`arpolicy.web.uploads`: the same permissions (ledger:write; users:manage for users;
owners:write / credit:write for the columns that need them), the same audit events and the
same ``import.completed`` webhook.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from arpolicy.api.routes.imports import KIND_PERMISSIONS, ImportKind, upload_format
from arpolicy.exceptions import ValidationError
from arpolicy.web import uploads
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import is_htmx, page

router = APIRouter(include_in_schema=False)
PERMISSION = "ledger:write"
WAIT = 2.0
"""Seconds the upload waits for its import before showing the progress page instead."""
KINDS = [kind.value for kind in ImportKind]
MODES = {"none": False, "good": True}
SHOWN = 1000
"""Rejected rows listed on the page (the rest are counted: correct these and upload again)."""


def _form_page(
    request: Request,
    me: Caller,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        me,
        "imports/index.html",
        status=status,
        kinds=KINDS,
        errors=errors or {},
        values=values or {"kind": "customers", "mode": "none"},
        flash=flash,
        job=None,
    )


def _job_page(request: Request, me: Caller, job: uploads.Job, status: int = 200) -> HTMLResponse:
    return page(
        request,
        me,
        "imports/index.html",
        status=status,
        fragment="job",
        kinds=KINDS,
        errors={},
        values={"kind": job.kind, "mode": "good" if job.partial else "none"},
        job=job,
        shown=SHOWN,
    )


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    return _form_page(request, me)


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    form = await request.form()
    kind, mode, file = form.get("kind"), form.get("mode"), form.get("file")
    values = {
        "kind": kind if isinstance(kind, str) else "",
        "mode": mode if isinstance(mode, str) else "none",
    }
    errors: dict[str, str] = {}
    if values["kind"] not in KINDS:
        errors["kind"] = "Choose what the file holds from the list."
    if values["mode"] not in MODES:
        errors["mode"] = "Choose what to do when a row is bad."
    if not isinstance(file, UploadFile) or not file.filename:
        errors["file"] = "Choose the file to import (CSV with a header row, or JSON Lines)."
    if errors or not isinstance(file, UploadFile):
        return _form_page(request, me, status=422, errors=errors, values=values)
    if values["kind"] in KIND_PERMISSIONS:
        me.require(KIND_PERMISSIONS[values["kind"]])
    try:
        fmt = upload_format(file, None)
    except ValidationError as exc:
        errors["file"] = f"{exc.message}: {exc.fix}"
        return _form_page(request, me, status=422, errors=errors, values=values)
    stored, size = await run_in_threadpool(uploads.save_upload, file.file)
    name = file.filename or "upload"
    job = uploads.new_job(me, values["kind"], fmt, name, stored, size, MODES[values["mode"]])
    return await run_in_threadpool(_started, request, me, job)


def _started(request: Request, me: Caller, job: uploads.Job) -> Response:
    uploads.start(me, job, WAIT)
    if not job.done:
        return RedirectResponse(f"/imports/{job.id}", status_code=303)
    return _job_page(request, me, job, status=job.status)


@router.get("/imports/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, job_id: str, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    job = uploads.load(me, job_id)
    status = 200 if is_htmx(request) or not job.done else job.status
    return _job_page(request, me, job, status=status)


@router.post("/imports/{job_id}/good-rows", response_class=HTMLResponse)
def import_good_rows(
    request: Request, job_id: str, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    """Import the rejected file again, keeping its good rows (``partial=true``)."""
    old = uploads.load(me, job_id)
    if not old.rejected_all or old.good_rows == 0:
        raise ValidationError(
            "this import has no good rows waiting",
            where="path.job_id",
            fix="upload the file again at /imports",
        )
    if old.kind in KIND_PERMISSIONS:
        me.require(KIND_PERMISSIONS[old.kind])
    job = uploads.new_job(me, old.kind, old.fmt, old.name, old.file, old.size, True)
    uploads.remove(old, keep_file=True)  # the new job owns the file now
    return _started(request, me, job)


@router.post("/imports/{job_id}/none", response_class=HTMLResponse)
def import_none(
    request: Request, job_id: str, me: Caller = Depends(signed_in(PERMISSION))
) -> Response:
    """Drop a rejected file: nothing of it is imported."""
    job = uploads.load(me, job_id)
    uploads.remove(job)
    flash = f"Nothing from {job.name} was imported. Correct the rows and upload it again."
    return _form_page(request, me, values={"kind": job.kind, "mode": "none"}, flash=flash)
