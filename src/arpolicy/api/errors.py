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
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from arpolicy.api.ratelimit import RateLimited
from arpolicy.exceptions import ArpolicyError

log = structlog.get_logger("arpolicy.api")
BASE = "https://arpolicy.dev/problems/"
PROBLEM = "application/problem+json"


def problem(
    request: Request,
    status: int,
    kind: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
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
    headers = dict(headers or {})
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    body.pop("retry_after", None)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def allowed_methods(request: Request) -> str:
    """The methods the request's path answers, for the ``Allow`` header of a 405 (RFC 9110
    15.5.6). Starlette's own 405 names only the first route of the path it tried, but GET
    and POST of one path are separate routes: ask every route whether the path is its."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root + "/") else path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex, route_methods = getattr(route, "path_regex", None), route.methods
        if regex is not None and route_methods and regex.match(path):
            methods |= route_methods
    return ", ".join(sorted(methods))


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


FIXES = {
    "extra_forbidden": "remove this field: it is unknown or set by the server",
    "missing": "add this field",
    "string_pattern_mismatch": "match the pattern in the API reference (/docs)",
    "json_invalid": "send valid JSON",
    "not_null": "leave the field out to keep its value, or give a value",
    "currency_code": "use a three-letter ISO 4217 code such as USD, EUR, GBP, JPY or KWD",
    "date_written": "write the date as YYYY-MM-DD (2026-01-31), from 1900-01-01 to 2999-12-31",
    "datetime_written": "write the instant as RFC 3339 with its offset "
    "(2026-01-31T09:30:00Z), in the years 1900 to 2999",
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
        if err.get("type") in ("literal_error", "enum"):
            item["fix"] = f"use one of {err.get('ctx', {}).get('expected', 'the listed values')}"
        out.append(item)
    return out


async def _unreadable(request: Request, error: dict[str, Any]) -> JSONResponse:
    """A 400 for a body that is not JSON, saying where (line and column) and why."""
    loc = error.get("loc", ())
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    why = str((error.get("ctx") or {}).get("error", error.get("msg", "invalid JSON")))
    where = "body"
    if position is not None:
        before = (await request.body())[:position].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = position - (before.rfind("\n") + 1) + 1
        where = f"body, line {line}, column {column}"
    return problem(
        request,
        400,
        "invalid-json",
        f"the body is not valid JSON: {why}",
        where=where,
        fix="send one JSON object (check quotes, commas and brackets near that place)",
    )


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
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:  # not a bad value: the body cannot be read at all
            return await _unreadable(request, broken)
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"where": None, "message": "invalid request"}
        detail = f"{first['where']}: {first['message']}" + (
            f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        )
        return problem(
            request,
            422,
            "validation-error",
            detail,
            where=first["where"],
            fix=first.get("fix"),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = str(exc.detail)
        headers = dict(exc.headers or {})
        fix = "see /docs for the routes"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"{request.url.path} does not answer {request.method}"
            fix = f"use one of {headers['Allow']} (see /docs)"
        return problem(request, exc.status_code, kind, detail, headers=headers, fix=fix)

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
