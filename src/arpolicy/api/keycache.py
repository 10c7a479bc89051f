"""API keys this process authenticated in the last few seconds, checked again against the
database in the request's own transaction.

Authenticating a key from scratch reads the key, its user and its tenant in a transaction of
its own on a worker thread: about a third of a one-customer read (docs/benchmarks.md). A
request whose key this process authenticated less than :data:`TTL_SECONDS` ago skips that:
the dependency finds the caller in memory without leaving the event loop, and the first
transaction the route opens (``Api.read``, ``Api.write``, ``Api.created``) reads the key's,
its user's and its tenant's current state with one indexed statement (:func:`state`) before
anything else. When that state is not the one remembered (the key revoked, its expiry or
scopes changed, the user deactivated or given another role, the tenant's settings changed),
the key is authenticated again in that transaction, so the request is refused or served
exactly as a fresh one would be. docs/security.md, "API keys".

Only a key that authenticated is remembered, by the SHA-256 of its text (never the key
itself), at most :data:`MAX_KEYS` of them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from arpolicy.auth.keys import Authenticated, hash_key
from arpolicy.models import Tenant

TTL_SECONDS = 10.0
"""How long an authenticated key is remembered (then it is authenticated from scratch)."""
MAX_KEYS = 10_000


def _state_sql() -> Any:
    """The columns whose change makes a remembered key authenticate again, as the database
    gives them (plain SQL: no result processing, and the cheapest statement to run; they
    are only compared)."""
    tenant = ", ".join(f't."{c.name}"' for c in Tenant.__table__.columns if c.key != "created_at")
    return text(
        "SELECT k.revoked_at, k.expires_at, k.scopes, k.key_hash, u.active, u.role, u.email, "
        f"{tenant} FROM api_keys AS k "
        "JOIN users AS u ON u.tenant_id = k.tenant_id AND u.id = k.user_id "
        "JOIN tenants AS t ON t.id = k.tenant_id "
        "WHERE k.tenant_id = :tenant AND k.id = :id"
    )


_STATE = _state_sql()


def state(session: Session, tenant_id: int, key_id: int) -> tuple[Any, ...] | None:
    """The key's current state (see :func:`_state_sql`), None when the row is gone."""
    row = session.connection().execute(_STATE, {"tenant": tenant_id, "id": key_id}).first()
    return None if row is None else tuple(row)


@dataclass
class Entry:
    """A key as it authenticated: the rows (detached: read, never changed), the permissions
    they give, and the state :func:`state` read with them."""

    found: Authenticated
    permissions: frozenset[str]
    state: tuple[Any, ...] | None
    last_used_at: datetime | None
    until: float
    """``time.monotonic()`` after which the entry is not used."""


class KeyCache:
    """Key hash -> :class:`Entry`, shared by the requests of one process."""

    def __init__(self, ttl: float = TTL_SECONDS, size: int = MAX_KEYS) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def get(self, token: str, now: datetime) -> Entry | None:
        """The remembered entry of ``token``, None when there is none, it is older than the
        TTL or the key has expired since (it is then authenticated again, and refused)."""
        entry = self._entries.get(hash_key(token))
        if entry is None or entry.until < time.monotonic():
            return None
        expires = entry.found.key.expires_at
        if expires is not None and expires <= now:
            return None
        return entry

    def put(
        self, token: str, found: Authenticated, permissions: frozenset[str], seen: Any
    ) -> Entry:
        entry = Entry(found, permissions, seen, found.key.last_used_at, time.monotonic() + self.ttl)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[hash_key(token)] = entry
        return entry

    def drop(self, token: str) -> None:
        with self._lock:
            self._entries.pop(hash_key(token), None)
