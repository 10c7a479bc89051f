"""Every error as RFC 9457 problem details (``application/problem+json``).

Domain errors carry their status; a malformed request is a 422 naming each bad field by
its path; an unknown route or method is a 404 / 405; a database conflict is a 409. An
unexpected error is a 500 with the request id (and is logged) -- bad input never gets one.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from arpolicy.api.ratelimit import RateLimited
from arpolicy.exceptions import ArpolicyError

log = structlog.get_logger("arpolicy.api")
BASE = "https://arpolicy.dev/problems/"
PROBLEM = "application/problem+json"


def problem(request: Request, status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": BASE + kind,
        "title": kind.replace("-", " "),
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    body.pop("retry_after", None)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


FIXES = {
    "extra_forbidden": "remove this field: it is unknown or set by the server",
    "missing": "add this field",
    "string_pattern_mismatch": "match the pattern in the API reference (/docs)",
    "json_invalid": "send valid JSON",
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        item = {
            "where": _where(err.get("loc", ())),
            "message": err.get("msg", "invalid"),
            "fix": FIXES.get(err.get("type", ""), "correct the value (see /docs)"),
        }
        if err.get("type") == "extra_forbidden":
            item["message"] = "unknown or server-owned field"
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(ArpolicyError)
    async def _domain(request: Request, exc: ArpolicyError) -> JSONResponse:
        extra: dict[str, Any] = {"where": exc.where, "fix": exc.fix}
        if isinstance(exc, RateLimited):
            extra["retry_after"] = exc.retry_after
        errors = getattr(exc, "errors", None)
        problems = getattr(exc, "problems", None)  # a RuleError: every problem of the rule
        if problems and not errors:
            errors = [
                {"where": p.where, "message": p.what, "fix": p.fix, **p.to_json()} for p in problems
            ]
        if errors:
            extra["errors"] = errors
        return problem(request, exc.status, exc.type, exc.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"where": None, "message": "invalid request"}
        detail = f"{first['where']}: {first['message']}" + (
            f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        )
        return problem(
            request, 422, "validation-error", detail, where=first["where"], errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        return problem(request, exc.status_code, kind, detail, fix="see /docs for the routes")

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("request.conflict", error=str(exc.orig)[:300])
        return problem(
            request,
            409,
            "conflict",
            "the change conflicts with stored data (a duplicate key or a missing reference)",
            fix="read the current record and retry with a unique key and existing references",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", path=request.url.path)
        return problem(
            request,
            500,
            "internal-error",
            "the service failed on this request",
            fix="retry later; report the request_id if it persists",
        )
