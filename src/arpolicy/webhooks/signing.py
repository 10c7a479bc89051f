"""Signing per the Standard Webhooks spec (https://www.standardwebhooks.com).

Each request carries ``webhook-id`` (the message's stable id, the same on every retry, to
deduplicate on), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``). The body that is
signed is exactly the body that is sent.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
"""Random bytes in a secret (the spec asks for 24 to 64)."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def body_of(payload: dict[str, Any]) -> str:
    """The JSON text sent (and signed) for a payload: compact, UTF-8, keys in stored order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` at ``at``."""
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at.astimezone(UTC), data=body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
