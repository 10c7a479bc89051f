"""Security headers on every page of the app (not on the API, nor on static files' caching).

- ``Content-Security-Policy``: no framing (clickjacking), forms post only here, no
  ``<base>`` or plugin tricks;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` (a reset link's
  token never leaves in a Referer), ``X-Frame-Options: DENY`` for older browsers;
- ``Cache-Control: no-store`` on pages, so a shared computer's back button shows nothing
  after signing out.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
NOT_PAGES = ("/v1", "/docs", "/redoc", "/openapi.json", "/health", "/metrics")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
