"""The web app (docs/web.md): server-rendered pages at ``/`` beside the API at ``/v1``.

:func:`mount` adds the screens (``web/views``), the vendored static files (``web/static``,
their versions and licences in ``web/static/vendor/README.md``) and the error pages: a
request for a page gets HTML (a visitor who is not signed in is sent to the sign-in page);
a request under ``/v1`` keeps getting problem+json from the API's handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from arpolicy.exceptions import ArpolicyError
from arpolicy.web.context import NotSignedIn, caller_of, sign_in_url
from arpolicy.web.headers import SecurityHeaders
from arpolicy.web.render import is_htmx, page
from arpolicy.web.views import routers

STATIC = Path(__file__).parent / "static"
API_PATHS = ("/v1", "/docs", "/redoc", "/openapi.json", "/health", "/metrics")
TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed here", 410: "Gone"}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PATHS)


def mount(app: FastAPI) -> None:
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routers():
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=303)

    _error_pages(app)


def _error_pages(app: FastAPI) -> None:
    api_domain = app.exception_handlers[ArpolicyError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def domain(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(api_domain, request, exc)
        assert isinstance(exc, ArpolicyError)
        if isinstance(exc, NotSignedIn):
            target = sign_in_url(request)
            if is_htmx(request):
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        title = TITLES.get(exc.status, "Something is wrong")
        return _error(request, exc.status, title, exc.message, exc.fix)

    async def http(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(api_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        message = "There is no such page." if status == 404 else str(exc.detail)
        return _error(request, status, TITLES.get(status, "Something is wrong"), message, None)

    app.add_exception_handler(ArpolicyError, domain)
    app.add_exception_handler(StarletteHTTPException, http)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call the API's own handler (they are all ``async``)."""
    response: Response = await handler(request, exc)
    return response


def _error(request: Request, status: int, title: str, message: str, fix: str | None) -> Response:
    found = getattr(request.state, "signed_in", None)
    caller = caller_of(request, found) if found is not None else None
    return page(request, caller, "error.html", status=status, title=title, message=message, fix=fix)
