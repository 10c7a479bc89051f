"""What every route gets: the caller (authenticated, permission checked, rate limited) and
one transaction per request.

A route asks for ``Depends(require("ledger:write"))`` and receives an :class:`Api`. It reads
in ``api.read()`` and changes things in ``api.write()``; both open one transaction, which
on PostgreSQL first sets ``app.tenant_id`` so row-level security sees only this tenant.
POSTs answer through :meth:`Api.created`, which honours ``Idempotency-Key``.

The dependency is asynchronous: a key this process authenticated moments ago is found in
memory (arpolicy.api.keycache) and checked again by the route's first transaction, so a
request goes to the thread pool once, for the route, instead of once more to authenticate.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from arpolicy.api import idempotency
from arpolicy.api.keycache import Entry, KeyCache, state
from arpolicy.api.ratelimit import RateLimiter
from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.auth.keys import LAST_USED_RESOLUTION, Authenticated, authenticate, touch
from arpolicy.auth.permissions import permissions_of
from arpolicy.exceptions import ArpolicyError, PermissionDeniedError
from arpolicy.kit.clock import Clock
from arpolicy.kit.db import is_sqlite, transaction
from arpolicy.models import ApiKey
from arpolicy.tenancy.rls import scope_tenant as scope_tenant  # re-exported for the routes

T = TypeVar("T")


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
    _recheck: Callable[[Api, Session], None] | None = field(default=None, repr=False)
    """Check a key found in memory against the database, in the first transaction."""

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
            self._checked(session)
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with transaction(self.engine, write=True) as session:
            scope_tenant(session, self.tenant_id)
            self._checked(session)
            yield session

    async def reading(self, work: Callable[[Session], T]) -> T:
        """``work`` in a read transaction (:meth:`read`), for an ``async`` route: on SQLite
        on the event loop itself, elsewhere on the thread pool as a synchronous route runs.
        A read of SQLite (WAL) never waits for a lock, and a short one costs less than the
        hand-off to a thread and back (measured: a third of a one-customer read's CPU);
        PostgreSQL's round trips must not hold up the loop."""
        if is_sqlite(self.engine):
            return self._read(work)
        return await run_in_threadpool(self._read, work)

    def _read(self, work: Callable[[Session], T]) -> T:
        with self.read() as session:
            return work(session)

    def _checked(self, session: Session) -> None:
        check, self._recheck = self._recheck, None
        if check is not None:
            check(self, session)

    def adopt(self, found: Authenticated, permissions: frozenset[str]) -> None:
        """The caller as authenticated again (see :func:`_recheck`)."""
        self.tenant, self.tenant_slug = found.tenant, found.tenant.slug
        self.user_email, self.permissions = found.user.email, permissions

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


def require(permission: str) -> Callable[..., Any]:
    """A dependency: the authenticated caller, who must have ``permission``."""

    async def dependency(request: Request, request_hash: str = Depends(_body_hash)) -> Api:
        state_: Any = request.app.state
        token = _bearer(request)
        clock: Clock = state_.clock
        now = clock.now()
        keys: KeyCache = state_.key_cache
        entry = keys.get(token, now)
        remembered = entry is not None and permission in entry.permissions
        if entry is None or not remembered:  # a 403 is never answered from memory
            entry = await run_in_threadpool(_authenticate, state_.engine, keys, token, now)
        key, user, tenant = entry.found.key, entry.found.user, entry.found.tenant
        limiter: RateLimiter = state_.rate_limiter
        limiter.hit(key.prefix)
        if _due(entry, now):
            await run_in_threadpool(_touch, state_.engine, entry, now)
        api = Api(
            engine=state_.engine,
            clock=clock,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            user_id=user.id,
            user_email=user.email,
            key_id=key.id,
            key_prefix=key.prefix,
            permissions=entry.permissions,
            request_id=request.state.request_id,
            idempotency_key=_idempotency_key(request),
            request_hash=request_hash,
            settings=state_.settings,
            tenant=tenant,
        )
        api.require(permission)
        if remembered:
            api._recheck = _recheck(keys, token, entry, permission)
        return api

    return dependency


def _unauthorized() -> Unauthorized:
    return Unauthorized(
        "the API key is unknown, revoked or expired",
        fix="check the key, or create a new one (`arpolicy keys create`)",
    )


def _remember(session: Session, keys: KeyCache, token: str, found: Authenticated) -> Entry:
    permissions = permissions_of(found.user.role, found.key.scopes)
    seen = state(session, found.tenant.id, found.key.id)
    return keys.put(token, found, permissions, seen)


def _authenticate(engine: Engine, keys: KeyCache, token: str, now: datetime) -> Entry:
    """The key authenticated from scratch (its own transaction), remembered."""
    with transaction(engine, write=False) as session:
        found = authenticate(session, token, now)
        if found is None:
            keys.drop(token)
            raise _unauthorized()
        return _remember(session, keys, token, found)


def _due(entry: Entry, now: datetime) -> bool:
    """Whether the key's ``last_used_at`` is due to be written (at most once a minute)."""
    last = entry.last_used_at
    return last is None or now - last >= LAST_USED_RESOLUTION


def _touch(engine: Engine, entry: Entry, now: datetime) -> None:
    """Write the key's ``last_used_at`` (at most once a minute, :func:`stale`)."""
    key = entry.found.key
    with transaction(engine, write=True) as session:
        scope_tenant(session, key.tenant_id)
        row = session.get(ApiKey, key.id)
        if row is not None:
            touch(session, row, now)
    entry.last_used_at = now


def _recheck(
    keys: KeyCache, token: str, entry: Entry, permission: str
) -> Callable[[Api, Session], None]:
    """The check of a key found in memory, run first in the request's first transaction:
    one statement; when the key, its user or its tenant changed since, the key is
    authenticated again in that transaction (401 when it no longer is, 403 when its
    permissions no longer allow the route)."""

    def check(api: Api, session: Session) -> None:
        if state(session, api.tenant_id, api.key_id) == entry.state:
            return
        keys.drop(token)
        found = authenticate(session, token, api.clock.now())
        if found is None:
            raise _unauthorized()
        fresh = _remember(session, keys, token, found)
        api.adopt(found, fresh.permissions)
        api.require(permission)

    return check


def _idempotency_key(request: Request) -> str | None:
    if request.method != "POST":
        return None
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    return idempotency.check_key(key)


def new_request_id() -> str:
    return uuid.uuid4().hex
