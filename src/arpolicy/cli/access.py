"""``arpolicy keys`` and ``arpolicy audit``: API keys and the audit log from the terminal."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

import typer
from sqlalchemy import select

from arpolicy.audit import Actor, describe, list_events, snapshot
from arpolicy.audit import record as audit_record
from arpolicy.auth import keys as key_service
from arpolicy.cli import common, terminal
from arpolicy.exceptions import NotFoundError
from arpolicy.models import ApiKey, AuditEvent, User, UserRole

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
ADMIN_EMAIL = "admin@arpolicy.local"


def _actor(tenant_id: int) -> Actor:
    return Actor(tenant_id=tenant_id, label=f"cli:{getpass.getuser()}")


@keys_app.command("create")
@common.handle_errors
def create(
    tenant: str | None = common.TenantOption,
    user: str | None = typer.Option(
        None,
        "--user",
        "-u",
        help="E-mail of the key's user (default: the first active admin, "
        f"created as {ADMIN_EMAIL} when the tenant has none).",
    ),
    name: str = typer.Option("cli", "--name", help="What the key is for."),
    scope: list[str] = typer.Option(
        [], "--scope", help="Narrow the key to this permission (repeatable; docs/security.md)."
    ),
    as_json: bool = common.JsonOption,
) -> None:
    """Create an API key and print it. It is shown only now: only its hash is stored."""
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        if user:
            owner = session.scalar(
                select(User).where(User.tenant_id == t.id, User.email == user.lower())
            )
            if owner is None:
                raise NotFoundError(f"no user {user} in {t.slug}", fix="check the e-mail")
        else:
            owner = session.scalar(
                select(User)
                .where(User.tenant_id == t.id, User.role == UserRole.ADMIN, User.active)
                .order_by(User.id)
            )
            if owner is None:
                owner = User(
                    tenant_id=t.id,
                    email=ADMIN_EMAIL,
                    name="Administrator",
                    role=UserRole.ADMIN,
                    active=True,
                )
                session.add(owner)
                session.flush()
                audit_record(
                    session,
                    _actor(t.id),
                    "user.created",
                    "user",
                    owner.id,
                    after=snapshot(owner),
                    at=now,
                )
        row, key = key_service.create_api_key(session, owner, name, scopes=scope or None)
        audit_record(
            session, _actor(t.id), "api_key.created", "api_key", row.id, after=snapshot(row), at=now
        )
        info = {
            "key": key,
            "id": row.id,
            "prefix": row.prefix,
            "user": owner.email,
            "role": str(owner.role),
            "tenant": t.slug,
            "scopes": row.scopes,
        }
    if as_json:
        terminal.print_json(info)
        return
    print(key)
    terminal.note(
        f"API key {info['prefix']} for {info['user']} ({info['role']}) in tenant {info['tenant']}. "
        "It is shown only now; send it as 'Authorization: Bearer <key>'."
    )


@keys_app.command("list")
@common.handle_errors
def list_keys(tenant: str | None = common.TenantOption, as_json: bool = common.JsonOption) -> None:
    """Every key of the tenant (prefixes only; keys themselves are never stored)."""
    with common.tenant_session(tenant) as (session, t):
        rows = session.execute(
            select(ApiKey, User.email)
            .join(User, (User.tenant_id == ApiKey.tenant_id) & (User.id == ApiKey.user_id))
            .where(ApiKey.tenant_id == t.id)
            .order_by(ApiKey.id)
        ).all()
        data = [
            {
                "id": k.id,
                "prefix": k.prefix,
                "name": k.name,
                "user": email,
                "scopes": k.scopes,
                "created_at": _iso(k.created_at),
                "last_used_at": _iso(k.last_used_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k, email in rows
        ]
    if as_json:
        terminal.print_json(data)
        return
    terminal.table(
        "API keys",
        [(h, "left") for h in ("id", "prefix", "name", "user", "last used", "revoked")],
        [
            [
                d["id"],
                d["prefix"],
                d["name"],
                d["user"],
                d["last_used_at"] or "",
                d["revoked_at"] or "",
            ]
            for d in data
        ],
    )


@keys_app.command("revoke")
@common.handle_errors
def revoke(prefix: str, tenant: str | None = common.TenantOption) -> None:
    """Revoke the key with this prefix (arp_...) at once."""
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        row = session.scalar(
            select(ApiKey).where(ApiKey.tenant_id == t.id, ApiKey.prefix == prefix)
        )
        if row is None:
            raise NotFoundError(f"no key {prefix} in {t.slug}", fix="see `arpolicy keys list`")
        before = snapshot(row)
        if key_service.revoke(session, row, now):
            audit_record(
                session,
                _actor(t.id),
                "api_key.revoked",
                "api_key",
                row.id,
                before=before,
                after=snapshot(row),
                at=now,
            )
            terminal.note(f"revoked {prefix}")
        else:
            terminal.note(f"{prefix} was already revoked")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def audit(
    tenant: str | None = common.TenantOption,
    entity: str | None = typer.Option(None, help="Only events about this entity (customer...)."),
    entity_id: str | None = typer.Option(None, "--id", help="Only this entity id."),
    action: str | None = typer.Option(None, help="Only this action (api_key.created...)."),
    actor: str | None = typer.Option(
        None, help="Only events whose actor contains this (an e-mail, key prefix, cli:NAME)."
    ),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many of the newest events."),
    as_json: bool = common.JsonOption,
) -> None:
    """The newest audit events: who did what, when, before and after, and why."""
    with common.tenant_session(tenant) as (session, t):
        stmt = list_events(t.id, entity=entity, entity_id=entity_id, action=action, actor=actor)
        rows = session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)).all()
        changes = [describe(e) for e in rows]
        data: list[dict[str, Any]] = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "before": e.before,
                "after": e.after,
                "reason": e.reason,
                "request_id": e.request_id,
            }
            for e in rows
        ]
    if as_json:
        terminal.print_json(data)
        return
    terminal.table(
        "Audit log (newest first)",
        [(h, "left") for h in ("id", "at", "actor", "action", "entity", "change")],
        [
            [
                d["id"],
                d["at"][:19],
                d["actor"],
                d["action"],
                f"{d['entity']} {d['entity_id'] or ''}",
                change,
            ]
            for d, change in zip(data, changes, strict=True)
        ],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command("audit")(common.handle_errors(audit))
