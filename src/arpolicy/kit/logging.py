"""structlog set up once per process: events with key-values, one line each.

Exceptions are rendered as plain text tracebacks (never rich's, which draws locals and can
take seconds per error while holding the event loop). ``ARPOLICY_LOG_JSON=true`` writes one
JSON object per line for log shippers.
"""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False
"""Set by the first call. Not ``structlog.is_configured()``: that is also true after a
temporary configuration (``structlog.testing.capture_logs``) left structlog's defaults,
which print to stdout, in place."""


def configure_logging(level: str = "info", *, json_lines: bool = False) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "event"], sort_keys=False
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # sys.stderr looked up on each use, not once: it may be replaced (tests, redirects)
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
