"""``Idempotency-Key`` on POST: a repeat gets the first response back.

The key is claimed by inserting its row in the same transaction as the work, and the
response is stored in that transaction too. So the work and its stored response commit
together or not at all (an error stores nothing, and a retry runs again). Concurrent
repeats serialize on the unique key: on SQLite writers queue at ``BEGIN IMMEDIATE``; on
PostgreSQL the second INSERT waits for the first transaction and then fails the unique
check, and the repeat answers with the stored response. Keys are kept for
``Settings.idempotency_ttl_hours`` (48 h by default, at least 24).

A stored response goes back only to the principal that sent the first request (the same API
key; the same user in the app): another principal repeating the key gets a 422, so a
response meant for one caller (a new API key, a webhook secret) never reaches another. A
secret shown once is not stored at all: the replay carries ``null`` in its place and the
header ``Idempotent-Secret-Withheld`` names the field. Every replay is written to the audit
log (``request.replayed``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from arpolicy import idempotency as stored
from arpolicy.exceptions import ValidationError
from arpolicy.models import IdempotencyRecord

if TYPE_CHECKING:
    from arpolicy.api.context import Api

MAX_KEY = 255
REPLAYED = "Idempotent-Replayed"
WITHHELD = "Idempotent-Secret-Withheld"


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationError(
            "the Idempotency-Key header must be 1 to 255 printable characters",
            where="header Idempotency-Key",
            fix="send a fresh UUID per intended operation",
        )
    return key


def _ttl(api: Api) -> timedelta:
    hours = getattr(api.settings, "idempotency_ttl_hours", 48)
    return timedelta(hours=max(24, int(hours)))


def _key(api: Api) -> str:
    if api.idempotency_key is None:  # pragma: no cover - callers check the header first
        raise RuntimeError("no Idempotency-Key on this request")
    return api.idempotency_key


def _find(session: Session, api: Api) -> IdempotencyRecord | None:
    return stored.find(session, api.tenant_id, _key(api))


def _replay(
    session: Session, found: IdempotencyRecord, api: Api, secrets: tuple[str, ...]
) -> JSONResponse:
    if found.principal is None or found.principal != api.principal:
        raise ValidationError(
            "this Idempotency-Key was already used by another API key or user of the tenant; "
            "a stored response goes back only to whoever sent the first request",
            where="header Idempotency-Key",
            fix="let each client make its own keys: a fresh UUID per intended operation",
        )
    if found.request_hash != api.request_hash:
        raise ValidationError(
            "this Idempotency-Key was already used with a different request",
            where="header Idempotency-Key",
            fix="send a new key for a new request; repeat a request only byte for byte",
        )
    headers = {REPLAYED: "true"}
    withheld = [n for n in secrets if isinstance(found.response, dict) and n in found.response]
    if withheld:
        headers[WITHHELD] = ", ".join(withheld)
    api.audit(
        session,
        "request.replayed",
        "idempotency_key",
        found.id,
        after={
            "key": found.key,
            "status": found.status_code,
            "secrets_withheld": withheld,
        },
        reason="a repeated request with the same Idempotency-Key got the stored response",
    )
    return JSONResponse(found.response, status_code=found.status_code or 200, headers=headers)


def withhold(body: Any, secrets: tuple[str, ...]) -> Any:
    """The response as stored for replays: each secret field (shown once) set to None."""
    if not secrets or not isinstance(body, dict):
        return body
    return {k: (None if k in secrets else v) for k, v in body.items()}


def claim(session: Session, api: Api, secrets: tuple[str, ...] = ()) -> JSONResponse | None:
    """The stored response of an earlier request with this key, or None after claiming
    the key for this request."""
    found = _find(session, api)
    now = api.now()
    if found is not None and found.created_at is not None and _expired(found.created_at, now, api):
        session.delete(found)
        session.flush()
        found = None
    if found is not None:
        return _replay(session, found, api, secrets)
    if stored.insert(session, api.tenant_id, _key(api), api.request_hash, api.principal, now):
        return None
    # A concurrent request with the same key committed first (PostgreSQL).
    found = _find(session, api)
    if found is None:  # pragma: no cover - it committed, so it is visible now
        raise RuntimeError("an Idempotency-Key conflict left no stored row")
    return _replay(session, found, api, secrets)


def _expired(created: datetime, now: datetime, api: Api) -> bool:
    return now - created > _ttl(api)


def store(
    session: Session, api: Api, status: int, body: Any, secrets: tuple[str, ...] = ()
) -> None:
    found = _find(session, api)
    assert found is not None
    found.status_code = status
    found.response = withhold(body, secrets)
