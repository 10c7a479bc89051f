"""One typed Settings object, read from ``ARPOLICY_*`` environment variables."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARPOLICY_", extra="ignore")

    database_url: str = "sqlite:///./arpolicy.db"
    """SQLAlchemy URL: ``sqlite:///PATH`` or ``postgresql+psycopg://user@host:5432/db``."""
    host: str = "127.0.0.1"
    port: int = 8000
    tenant: str = "demo"
    """The tenant CLI commands act on when ``--tenant`` is not given."""
    log_level: str = "info"
    log_json: bool = False
    """One JSON object per log line (default: key=value text)."""
    rate_limit_per_minute: int = 1200
    """Requests one API key may make per minute (per API process; a burst of the same size
    is allowed). Over it the service answers 429 with Retry-After."""
    idempotency_ttl_hours: int = 48
    """How long a POST's Idempotency-Key and its response are kept (at least 24 hours)."""
    mail_url: str = "maildir://./var/mail"
    """Where reminder emails go: ``maildir://PATH`` (every email a file; the embedded
    default), ``smtp://[user:password@]host[:port][?starttls=true]`` or
    ``smtps://...`` (TLS from the start). See docs/mail.md."""
    notify_from: str = "arpolicy <arpolicy@localhost>"
    """The sender of notifications to the tenant's users (docs/notifications.md): an
    address your mail server accepts as sender, e.g. ``AR <ar-noreply@example.com>``."""
    now: str | None = None
    """Fix the clock at this aware ISO instant (``2026-12-01T09:30:00+01:00``) for the
    CLI, the worker and the API: rehearsals and support only, it never moves (the
    ``--now`` option of a command wins). Unset in production."""
    sql_echo: bool = False
    public_url: str = "http://127.0.0.1:8000"
    """Where users reach the web app: the start of the links in invitation and
    password-reset emails (``https://ar.example.com``)."""
    figures_max_age_minutes: int = Field(15, ge=1)
    """The dashboard's tenant-wide figures are a snapshot (ADR 0008): one older than this,
    or of another day, is recomputed by the worker (``ledger.figure_snapshots``)."""
    session_hours: int = Field(12, ge=1, le=24 * 30)
    """A web app session ends this long after sign-in, whatever happens (docs/web.md)."""
    session_idle_minutes: int = Field(120, ge=1)
    """... and earlier after this long without a request."""
    sign_in_attempts: int = Field(5, ge=1, le=100)
    """Wrong passwords in a row before the account is locked for ``lockout_minutes``."""
    lockout_minutes: int = Field(15, ge=1)
    webhook_allow_networks: str = ""
    """Comma-separated networks (``10.20.0.0/16,fd00:1::/64``) webhooks may be sent to
    although they are private, loopback or link-local: a self-hosted receiver. Empty (the
    default): public addresses only. Cloud metadata addresses are never allowed. See
    docs/security.md, "Webhook destinations"."""

    @field_validator("webhook_allow_networks")
    @classmethod
    def _allow_networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not a network: give CIDRs separated by commas, "
                    "e.g. 10.20.0.0/16,fd00:1::/64"
                ) from None
        return value
