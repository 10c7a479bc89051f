"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from arpolicy import __version__
from arpolicy.config import Settings
from arpolicy.exceptions import ArpolicyError
from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import is_current


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app = FastAPI(
        title="arpolicy",
        version=__version__,
        description="Accounts-receivable policies as rules.",
    )
    app.state.settings = settings
    app.state.engine = engine

    @app.exception_handler(ArpolicyError)
    async def _domain_error(_request: Request, exc: ArpolicyError) -> JSONResponse:
        return JSONResponse(
            exc.to_problem(), status_code=exc.status, media_type="application/problem+json"
        )

    @app.get("/health", tags=["ops"])
    def health() -> JSONResponse:
        """Readiness: the database answers and its schema is current (503 otherwise)."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = is_current(engine)
        body: dict[str, Any] = {
            "status": "ok" if current else "unavailable",
            "version": __version__,
            "database": engine.dialect.name,
            "schema_current": current,
        }
        if not current:
            body["fix"] = "run `arpolicy init` to create or migrate the database"
        return JSONResponse(body, status_code=200 if current else 503)

    return app
