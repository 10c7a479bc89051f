"""``arpolicy worker`` (deliver the outbox: webhooks, reminder emails, notifications) and
``arpolicy webhooks`` (endpoints and deliveries of a tenant, read-only: change them through
the API)."""

from __future__ import annotations

import dataclasses
import signal
import threading
from datetime import datetime, timedelta
from typing import Any

import typer
from sqlalchemy import select

from arpolicy.api.context import scope_tenant
from arpolicy.cli import common, terminal
from arpolicy.engagement.tasks import RUN as ENGAGEMENT_RUN
from arpolicy.kit.logging import configure_logging
from arpolicy.mail import open_transport
from arpolicy.models import OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.webhooks import service
from arpolicy.worker import registry, run_forever, run_once

webhooks_app = typer.Typer(
    help="Webhook endpoints and deliveries (read-only; change them through /v1/webhooks).",
    no_args_is_help=True,
)


def worker(
    once: bool = typer.Option(False, "--once", help="One pass, then exit (cron, tests)."),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Pass after pass until nothing is due, then exit."
    ),
    interval: float = typer.Option(
        5.0, "--interval", min=0.1, help="Seconds to wait when there is nothing to deliver."
    ),
    limit: int = typer.Option(
        20, "--limit", min=1, max=1000, help="Messages claimed per pass (per worker)."
    ),
    mail: str | None = typer.Option(
        None,
        "--mail",
        help="Mail URL (default $ARPOLICY_MAIL_URL): maildir://PATH, "
        "smtp://[user:password@]host[:port][?starttls=true] or smtps://...",
    ),
    lease: float | None = typer.Option(
        None,
        "--lease",
        min=1.0,
        help="Seconds a claimed batch stays hidden from other "
        "workers (default: 5 minutes or more for big batches). Shorten only for tests.",
    ),
    engage_every: float = typer.Option(
        3600.0,
        "--engage-every",
        min=0.0,
        help="Seconds between runs of every tenant's live and test engagement cycles "
        "(the first at start; 0: never, e.g. when cron runs `arpolicy engage run`).",
    ),
    now: str | None = common.NowOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Run the tenants' engagement cycles on a schedule, deliver queued webhooks (signed,
    retried with backoff), reminder emails and notifications to users (each once; see
    docs/mail.md), recompute the dashboards' stale figure snapshots (docs/web/dashboard.md),
    and purge expired Idempotency-Keys (--once: one delivery pass, no cycles). Run any number of workers on PostgreSQL; run one on SQLite. Logs go to stderr; stop with Ctrl-C or SIGTERM (the
    current pass finishes first). --now (or $ARPOLICY_NOW) fixes the clock for a
    rehearsal: it does not move, so use it with --once or --until-idle."""
    _logs_to_stderr()
    settings = common.settings()
    mail_url = mail or settings.mail_url
    transport = open_transport(mail_url)  # a bad URL is reported before any work
    engine = common.engine()
    clock = common.clock(now)
    ttl = settings.idempotency_ttl_hours
    held = timedelta(seconds=lease) if lease is not None else None
    if once:
        report = run_once(
            engine,
            clock,
            limit=limit,
            idempotency_ttl_hours=ttl,
            mail=transport,
            lease=held,
            notify_from=settings.notify_from,
        )
        data = {k: v for k, v in dataclasses.asdict(report).items() if k != "counts"}
        if as_json:
            terminal.print_json(data)
        else:
            flat = {k: v for k, v in data.items() if k not in ("mail", "notifications")}
            flat |= {f"emails {k}": v for k, v in data["mail"].items() if v}
            flat |= {f"notifications {k}": v for k, v in data["notifications"].items() if v}
            terminal.say(", ".join(f"{k} {v}" for k, v in flat.items() if v is not None))
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    every = {ENGAGEMENT_RUN: timedelta(seconds=engage_every) if engage_every else None}
    run_forever(
        engine,
        clock,
        interval=interval,
        limit=limit,
        idempotency_ttl_hours=ttl,
        stop=stop,
        mail_url=mail_url,
        lease=held,
        until_idle=until_idle,
        tasks=registry.scheduled(every),
        settings=settings,
    )


def _logs_to_stderr() -> None:
    settings = common.settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)


@webhooks_app.command("list")
@common.handle_errors
def list_endpoints(
    tenant: str | None = common.TenantOption, as_json: bool = common.JsonOption
) -> None:
    """The tenant's endpoints (secrets are never printed)."""
    with common.tenant_session(tenant) as (session, t):
        scope_tenant(session, t.id)
        rows = session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == t.id)
            .order_by(WebhookEndpoint.id)
        ).all()
        data = [
            {
                "id": e.id,
                "url": e.url,
                "events": e.events,
                "active": e.active,
                "description": e.description,
                "created_at": _iso(e.created_at),
            }
            for e in rows
        ]
    if as_json:
        terminal.print_json(data)
        return
    terminal.table(
        "Webhook endpoints",
        [(h, "left") for h in ("id", "url", "events", "active", "description")],
        [
            [e.id, e.url, ", ".join(e.events), "yes" if e.active else "no", e.description or ""]
            for e in rows
        ],
    )


@webhooks_app.command("deliveries")
@common.handle_errors
def list_deliveries(
    tenant: str | None = common.TenantOption,
    status: OutboxStatus | None = typer.Option(None, help="pending, delivered or failed."),
    endpoint: int | None = typer.Option(None, help="Only this endpoint id."),
    event: str | None = typer.Option(None, help="Only this event type."),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many of the newest."),
    as_json: bool = common.JsonOption,
) -> None:
    """The newest webhook deliveries: status, attempts, next try, last error."""
    with common.tenant_session(tenant) as (session, t):
        scope_tenant(session, t.id)
        stmt = service.deliveries(t.id, endpoint_id=endpoint, status=status, event_type=event)
        rows = session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit)).all()
        data = [_delivery(m) for m in rows]
    if as_json:
        terminal.print_json(data)
        return
    terminal.table(
        "Webhook deliveries (newest first)",
        [
            (h, "left")
            for h in ("id", "endpoint", "event", "status", "attempts", "next / done", "last error")
        ],
        [
            [
                d["id"],
                d["endpoint_id"],
                d["event_type"],
                d["status"],
                d["attempts"],
                (d["delivered_at"] or d["next_attempt_at"] or "")[:19],
                (d["last_error"] or "")[:60],
            ]
            for d in data
        ],
    )


def _delivery(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "endpoint_id": m.endpoint_id,
        "event_type": m.event_type,
        "event_id": m.event_id,
        "status": str(m.status),
        "attempts": m.attempts,
        "next_attempt_at": _iso(m.next_attempt_at) if m.status == OutboxStatus.PENDING else None,
        "delivered_at": _iso(m.delivered_at),
        "last_error": m.last_error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def register(app: typer.Typer) -> None:
    app.command("worker")(common.handle_errors(worker))
    app.add_typer(webhooks_app, name="webhooks")
