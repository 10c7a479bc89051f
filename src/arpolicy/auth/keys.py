"""API keys: ``arp_<prefix>_<secret>``, shown once, stored as SHA-256.

The secret has 256 bits of entropy (``secrets.token_urlsafe(32)``), so a fast hash is safe:
nobody can guess a preimage, and checking a key costs microseconds per request (argon2
would cost tens of milliseconds on every call for no gain). The prefix is unique and
indexed, so lookup is one row; the comparison of hashes is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from arpolicy.auth.permissions import PERMISSIONS, ROLE_PERMISSIONS
from arpolicy.exceptions import PermissionDeniedError, ValidationError
from arpolicy.models import ApiKey, Tenant, User
from arpolicy.tenancy.lookups import get_or_404
from arpolicy.tenancy.rls import on_postgres, scope_tenant, tenant_of_key

KEY_PREFIX = "arp"
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most once a minute per key (not a write per request)."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """(key, prefix)."""
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(6)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def check_scopes(
    scopes: list[str] | None, user: User, granter: frozenset[str] | None = None
) -> list[str] | None:
    """The scopes to store for a new key of ``user``: within the user's role and, when the
    key is minted by another key, within what that key may do (``granter``).

    ``None`` means "all of the user's role" (the key follows later role changes). A key can
    never mint a key that may do more than itself: with no scopes asked for, a minting
    key whose permissions are narrower than the user's role gives the new key its own
    permissions as explicit scopes; scopes beyond the minting key's are refused (403).
    """
    role = ROLE_PERMISSIONS[user.role]
    if scopes is None:
        if granter is None or role <= granter:
            return None
        inherited = sorted(role & granter)
        if not inherited:
            raise PermissionDeniedError(
                f"this key holds none of the permissions of {user.email} ({user.role})",
                where="scopes",
                fix="mint the key with a key that holds some of that user's permissions",
            )
        return inherited
    unknown = sorted(set(scopes) - set(PERMISSIONS))
    if unknown:
        raise ValidationError(
            f"unknown scope(s) {', '.join(unknown)}",
            where="scopes",
            fix=f"use permissions from docs/security.md, e.g. {', '.join(sorted(PERMISSIONS)[:3])}",
        )
    beyond = sorted(set(scopes) - ROLE_PERMISSIONS[user.role])
    if beyond:
        raise ValidationError(
            f"{user.email} ({user.role}) does not have {', '.join(beyond)}",
            where="scopes",
            fix="a key can only narrow its user's permissions; drop these scopes",
        )
    if granter is not None:
        above = sorted(set(scopes) - granter)
        if above:
            raise PermissionDeniedError(
                f"this key may not grant {', '.join(above)}: it does not hold them itself",
                where="scopes",
                fix="a key can only mint keys within its own scopes; drop these scopes or "
                "create the key with a key (or `arpolicy keys create`) that holds them",
            )
    return sorted(set(scopes))


def create_api_key(
    session: Session,
    user: User,
    name: str,
    *,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    granter: frozenset[str] | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``user``: (the row, the key in clear, to show once). ``granter`` is
    what the minting key may do (None for the operator's command line): the new key never
    gets more (:func:`check_scopes`)."""
    if not name.strip():
        raise ValidationError("a key needs a name", where="name", fix="e.g. 'billing sync'")
    if not user.active:
        raise ValidationError(
            f"{user.email} is deactivated", where="user", fix="reactivate the user first"
        )
    key, prefix = generate_key()
    row = ApiKey(
        tenant_id=user.tenant_id,
        user_id=user.id,
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_key(key),
        scopes=check_scopes(scopes, user, granter),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, key


@dataclass(frozen=True)
class Authenticated:
    key: ApiKey
    user: User
    tenant: Tenant


_BY_PREFIX = (
    select(ApiKey, User, Tenant)
    .join(User, (User.tenant_id == ApiKey.tenant_id) & (User.id == ApiKey.user_id))
    .join(Tenant, Tenant.id == ApiKey.tenant_id)
    .where(ApiKey.prefix == bindparam("prefix"))
)
_BY_TENANT_AND_PREFIX = _BY_PREFIX.where(ApiKey.tenant_id == bindparam("tenant"))
"""Built once: every request asks (building the statement cost more than running it)."""


def authenticate(session: Session, key: str, now: datetime) -> Authenticated | None:
    """The key's row, user and tenant, or None when the key is unknown, revoked, expired or
    its user deactivated (the caller answers 401 without saying which).

    The tenant is not known yet: the prefix is resolved to a tenant id first (on PostgreSQL
    by a SECURITY DEFINER function, since row-level security hides every row until a tenant
    is set), the transaction is scoped to that tenant, and the key, user and tenant are then
    read under row-level security like any other row."""
    parts = key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[2]:
        return None
    prefix = f"{parts[0]}_{parts[1]}"
    query = _BY_PREFIX
    params: dict[str, Any] = {"prefix": prefix}
    if on_postgres(session):
        tenant_id = tenant_of_key(session, prefix)
        if tenant_id is None:
            return None
        scope_tenant(session, tenant_id)
        query = _BY_TENANT_AND_PREFIX
        params = {"prefix": prefix, "tenant": tenant_id}
    row = session.execute(query, params).one_or_none()
    if row is None:
        return None
    api_key, user, tenant = row
    if not hmac.compare_digest(api_key.key_hash, hash_key(key)):
        return None
    if api_key.revoked_at is not None or not user.active:
        return None
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return None
    return Authenticated(api_key, user, tenant)


def stale(key: ApiKey, now: datetime) -> bool:
    """Whether ``last_used_at`` is due to be written (at most once a minute)."""
    return key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION


def touch(session: Session, key: ApiKey, now: datetime) -> None:
    if stale(key, now):
        key.last_used_at = now


def get_key(session: Session, tenant_id: int, key_id: int) -> ApiKey:
    return get_or_404(
        session, ApiKey, tenant_id, key_id, what="API key", fix="list keys with GET /v1/keys"
    )


def revoke(session: Session, key: ApiKey, now: datetime) -> bool:
    """Revoke ``key``; False when it already was (revoking twice is harmless)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = now
    return True
