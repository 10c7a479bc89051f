"""Bulk import by upload: the same validation and report as ``arpolicy import``.

``POST /v1/imports/{kind}`` with a multipart ``file`` (CSV with a header row, or JSON Lines),
optional ``format`` (csv or jsonl; default from the file name) and ``partial``. By default
one bad row rejects the whole file: nothing is stored and the answer is a 422 problem whose
``errors`` list every bad row (line, column, value, reason, fix). With ``partial=true`` the
good rows are stored and the bad ones listed in the report (200). Columns that set a
customer's owners or credit exemption need owners:write / credit:write; importing users
needs users:manage. After customers are imported the live owner-assignment policies run
over every customer in the same transaction (the report's ``assignment``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import IO, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from arpolicy.api.context import Api, Forbidden, require
from arpolicy.api.ledger import writes
from arpolicy.api.schemas import Output
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.importing.api import FORMATS, open_source
from arpolicy.ledger.importing.reader import Record, Source
from arpolicy.ledger.importing.report import ImportReport
from arpolicy.ledger.writing import RowsInvalid

router = APIRouter(prefix="/imports", tags=["imports"])


class ImportKind(enum.StrEnum):
    """What can be imported (``arpolicy import --help`` describes the columns)."""

    USERS = "users"
    CUSTOM_FIELDS = "custom-fields"
    FX_RATES = "fx-rates"
    CUSTOMERS = "customers"
    CONTACTS = "contacts"
    PAYMENT_SOURCES = "payment-sources"
    SUBSCRIPTIONS = "subscriptions"
    DOCUMENTS = "documents"
    INVOICES = "invoices"
    DEBIT_NOTES = "debit-notes"
    CREDIT_NOTES = "credit-notes"
    ORDERS = "orders"
    PAYMENTS = "payments"
    ALLOCATIONS = "allocations"
    PAYMENT_ATTEMPTS = "payment-attempts"
    PROMISES = "promises"
    DISPUTES = "disputes"


GATED_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "finance_owner": "owners:write",
        "sales_owner": "owners:write",
        "credit_check_exempt": "credit:write",
    },
}
KIND_PERMISSIONS = {"users": "users:manage"}
CONTENT_TYPES = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}


class RowErrorRead(Output):
    line: int
    column: str | None
    value: str | None
    reason: str
    fix: str


class ImportReportRead(Output):
    """What ``arpolicy import --json`` prints: counts, and every bad row."""

    kind: str
    partial: bool
    rows: int
    inserted: int
    updated: int
    rejected: int
    errors: list[RowErrorRead]
    errors_omitted: int
    file_error: RowErrorRead | None
    rejects_path: str | None
    applied: bool
    ok: bool
    assignment: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Customers only: what each live owner-assignment policy did after the "
        "import (role, changed, kept, locked, gaps_total, policy_version).",
    )


def upload_format(upload: UploadFile, given: str | None) -> str:
    if given:
        return given
    name = (upload.filename or "").lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    found = CONTENT_TYPES.get((upload.content_type or "").split(";")[0].strip())
    if found is None:
        raise ValidationError(
            "cannot tell whether the file is CSV or JSON Lines",
            where="body.format",
            fix="name the file .csv or .jsonl, or send format=csv|jsonl",
        )
    return found


class Guard:
    """Refuses columns the caller may not set, before any row is written."""

    def __init__(self, api: Api, kind: str) -> None:
        self.gated = {
            column: permission
            for column, permission in GATED_COLUMNS.get(kind, {}).items()
            if not api.can(permission)
        }
        self.checked: set[tuple[str, ...]] = set()

    def header(self, header: tuple[str, ...] | None) -> None:
        if header is None or not self.gated or header in self.checked:
            return
        for column in header:
            permission = self.gated.get(column)
            if permission is not None:
                raise Forbidden(
                    f"the file sets {column}, which needs the {permission} permission",
                    where=f"file column {column}",
                    fix=f"remove the {column} column, or use a key whose role has {permission}",
                )
        self.checked.add(header)

    def source(self, source: Source) -> Source:
        header, records = source
        self.header(header)
        return header, records if header is not None else self.records(records)

    def records(self, records: Iterator[Record]) -> Iterator[Record]:
        for record in records:
            self.header(record[1])
            yield record


def _rejected(report: ImportReport) -> RowsInvalid:
    errors = [
        {
            "where": f"line {e.line}" + (f", column {e.column}" if e.column else ""),
            "line": e.line,
            "column": e.column,
            "value": e.value,
            "reason": e.reason,
            "fix": e.fix,
        }
        for e in report.errors
    ]
    if report.file_error is not None:
        message = f"the file was rejected: {report.file_error.reason}"
    else:
        message = f"the file was rejected: {report.rejected} bad row(s); nothing was imported"
    first = errors[0] if errors else {"where": "body.file", "fix": "check the file"}
    return RowsInvalid(
        message,
        errors,
        where=first["where"],
        fix="correct every listed row and upload the file again, or send partial=true to "
        "import the good rows",
    )


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "CSV (header row first) or JSON Lines, UTF-8.",
                    },
                    "format": {
                        "type": "string",
                        "enum": ["csv", "jsonl"],
                        "description": "Default: from the file name (.csv, .jsonl, .ndjson).",
                    },
                    "partial": {
                        "type": "boolean",
                        "default": False,
                        "description": "Store the good rows and report the bad ones.",
                    },
                },
            }
        }
    },
}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(
            f"{name} must be a plain form field",
            where=f"body.{name}",
            fix=f"send {name} as a text field, not a file",
        )
    return value.strip() or None


async def _read_form(request: Request) -> tuple[UploadFile, str | None, bool]:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (HTTPException, MultiPartException, AssertionError):
        form = None
    file = form.get("file") if form is not None else None
    if form is None or not isinstance(file, UploadFile):
        raise ValidationError(
            "the request has no file",
            where="body.file",
            fix="send multipart/form-data with the file in the field 'file'",
        )
    fmt, partial = _field(form, "format"), _field(form, "partial")
    if fmt is not None and fmt not in ("csv", "jsonl"):
        raise ValidationError(
            f"format {fmt!r} is unknown",
            where="body.format",
            fix="send csv or jsonl, or leave format out",
        )
    flag = BOOLEANS.get((partial or "false").lower())
    if flag is None:
        raise ValidationError(
            "partial is not a boolean", where="body.partial", fix="send true or false"
        )
    return file, fmt, flag


@router.post("/{kind}", response_model=ImportReportRead, openapi_extra={"requestBody": UPLOAD_BODY})
async def upload(
    kind: ImportKind, request: Request, api: Api = Depends(require("ledger:write"))
) -> Any:
    """Import a file of ``kind``; the report is the one ``arpolicy import`` prints.

    The form is read here rather than declared with ``File``/``Form`` parameters: FastAPI
    would consume the body before the Idempotency-Key hash (a dependency) could read it."""
    if kind.value in KIND_PERMISSIONS:
        api.require(KIND_PERMISSIONS[kind.value])
    file, given, partial = await _read_form(request)
    try:
        return await run_in_threadpool(_upload, api, kind.value, file, given, partial)
    finally:
        await file.close()


def import_upload(
    session: Session,
    api: Api,
    kind: str,
    data: IO[bytes],
    fmt: str,
    partial: bool,
    source_name: str | None,
    guard: Guard | None = None,
    progress: Callable[[int], None] | None = None,
    read: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import an uploaded file as ``api``'s caller (the API and the app's Imports screen).

    Values no database can store are row errors; a database error nobody foresaw is an
    ImportFailed problem (nothing stored, no row data in it). The write service records the
    import (audit events, the import.completed webhook) and fires the kind's ledger hook
    once (customers: the owner assignment, whose summary it notes). The caller checks
    ``KIND_PERMISSIONS``; ``guard`` refuses the columns the caller may not set.
    ``progress`` hears of rows imported, ``read`` of bytes read (both as increments)."""
    checked = guard or Guard(api, kind)
    return writes(session, api).import_source(
        kind,
        lambda: checked.source(open_source(data, fmt, read)),
        partial=partial,
        source_name=source_name,
        progress=progress,
    )


def _upload(api: Api, kind: str, file: UploadFile, given: str | None, partial: bool) -> Any:
    fmt = upload_format(file, given)
    guard = Guard(api, kind)

    def work(session: Session) -> Any:
        report = import_upload(session, api, kind, file.file, fmt, partial, file.filename, guard)
        if not report.applied:
            raise _rejected(report)
        assigned = report.notes.get("assignment", [])
        return ImportReportRead.model_validate(report.to_dict() | {"assignment": assigned})

    return api.created(work, status=200)
