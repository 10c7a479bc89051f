"""What every route gets: the caller (authenticated, permission checked, rate limited) and
one transaction per request.

A route asks for ``Depends(require("ledger:write"))`` and receives an :class:`Api`. It reads
in ``api.read()`` and changes things in ``api.write()``; both open one transaction, which
on PostgreSQL first sets ``app.tenant_id`` so row-level security sees only this tenant.
POSTs answer through :meth:`Api.created`, which honours ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from arpolicy.api import idempotency
from arpolicy.api.ratelimit import RateLimiter
from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.auth.keys import authenticate, stale, touch
from arpolicy.auth.permissions import permissions_of
from arpolicy.exceptions import ArpolicyError, PermissionDeniedError
from arpolicy.kit.clock import Clock
from arpolicy.kit.db import transaction
from arpolicy.tenancy.rls import scope_tenant as scope_tenant  # re-exported for the routes


class Unauthorized(ArpolicyError):
    status = 401
    type = "unauthorized"


class Forbidden(PermissionDeniedError):
    pass


@dataclass
class Api:
    """The caller and the way to the database, for one request."""

    engine: Engine
    clock: Clock
    tenant_id: int
    tenant_slug: str
    user_id: int
    user_email: str
    key_id: int
    key_prefix: str
    permissions: frozenset[str]
    request_id: str
    idempotency_key: str | None = None
    request_hash: str = ""
    settings: Any = None
    tenant: Any = None
    """The ``Tenant`` row as authentication read it (detached: to read its settings, not
    to change them; a write reads it in its own session)."""
    _session: Session | None = field(default=None, repr=False)

    @property
    def principal(self) -> str:
        """Who is calling, for what only they may get back (idempotent replays)."""
        return f"key:{self.key_id}"

    @property
    def actor(self) -> Actor:
        return Actor(
            tenant_id=self.tenant_id,
            label=f"key:{self.key_prefix} ({self.user_email})",
            user_id=self.user_id,
            request_id=self.request_id,
            clock=self.clock,
        )

    def now(self) -> datetime:
        return self.clock.now()

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(
                f"this key may not {permission}",
                fix="ask an admin for a key of a user whose role has this permission "
                "(docs/security.md)",
            )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with transaction(self.engine, write=False) as session:
            scope_tenant(session, self.tenant_id)
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with transaction(self.engine, write=True) as session:
            scope_tenant(session, self.tenant_id)
            yield session

    def audit(self, session: Session, action: str, entity: str, entity_id: Any, **kw: Any) -> None:
        audit_record(session, self.actor, action, entity, entity_id, at=self.now(), **kw)

    def created(
        self,
        work: Callable[[Session], Any],
        *,
        status: int = 201,
        headers: dict[str, str] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> JSONResponse:
        """Run ``work`` in one write transaction and answer with its result. With an
        ``Idempotency-Key`` the first response is stored in the same transaction, and a
        repeat by the same caller (even a concurrent one) gets that response back instead
        of running again. ``secrets`` names the fields shown once: they are never stored,
        so a replay carries ``null`` there (docs/api.md, "Idempotent requests")."""
        with self.write() as session:
            if self.idempotency_key:
                replay = idempotency.claim(session, self, secrets)
                if replay is not None:
                    return replay
            body = jsonable_encoder(work(session))
            if self.idempotency_key:
                idempotency.store(session, self, status, body, secrets)
        return JSONResponse(body, status_code=status, headers=headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    raise Unauthorized(
        "no API key",
        fix="send 'Authorization: Bearer <key>' (create one with `arpolicy keys create`)",
    )


async def _body_hash(request: Request) -> str:
    body = await request.body()
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.url.path.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def require(permission: str) -> Callable[..., Api]:
    """A dependency: the authenticated caller, who must have ``permission``."""

    def dependency(request: Request, request_hash: str = Depends(_body_hash)) -> Api:
        state = request.app.state
        token = _bearer(request)
        clock: Clock = state.clock
        now = clock.now()
        with transaction(state.engine, write=False) as session:
            found = authenticate(session, token, now)
            if found is None:
                raise Unauthorized(
                    "the API key is unknown, revoked or expired",
                    fix="check the key, or create a new one (`arpolicy keys create`)",
                )
            key, user, tenant = found.key, found.user, found.tenant
            is_stale = stale(key, now)
        limiter: RateLimiter = state.rate_limiter
        limiter.hit(key.prefix)
        if is_stale:
            with transaction(state.engine, write=True) as session:
                scope_tenant(session, tenant.id)
                row = session.merge(key, load=True)
                touch(session, row, now)
        api = Api(
            engine=state.engine,
            clock=clock,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            user_id=user.id,
            user_email=user.email,
            key_id=key.id,
            key_prefix=key.prefix,
            permissions=permissions_of(user.role, key.scopes),
            request_id=request.state.request_id,
            idempotency_key=_idempotency_key(request),
            request_hash=request_hash,
            settings=state.settings,
            tenant=tenant,
        )
        api.require(permission)
        return api

    return dependency


def _idempotency_key(request: Request) -> str | None:
    if request.method != "POST":
        return None
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    return idempotency.check_key(key)


def new_request_id() -> str:
    return uuid.uuid4().hex
