"""Secrets and signatures, checked with the standardwebhooks library itself."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from arpolicy.webhooks.signing import body_of, new_secret, signed_headers


def test_a_secret_is_whsec_and_base64_of_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert len({new_secret() for _ in range(50)}) == 50


def test_signed_headers_verify_with_the_library_at_the_real_time():
    secret = new_secret()
    body = body_of(
        {
            "type": "customer.created",
            "timestamp": "2026-11-23T12:00:00+00:00",
            "data": {"id": 7, "name": "Zoë"},
        }
    )
    headers = signed_headers(secret, "evt_1", datetime.now(UTC), body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"]["name"] == "Zoë"


@pytest.mark.parametrize("change", ["body", "secret", "id", "stale"])
def test_anything_changed_fails_verification(change):
    secret, body, now = new_secret(), body_of({"a": 1}), datetime.now(UTC)
    at = now - timedelta(minutes=10) if change == "stale" else now
    headers = signed_headers(secret, "evt_1", at, body)
    if change == "body":
        body = body_of({"a": 2})
    if change == "secret":
        secret = new_secret()
    if change == "id":
        headers["webhook-id"] = "evt_2"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_the_timestamp_header_is_unix_seconds_of_the_attempt():
    at = datetime(2026, 11, 23, 12, 0, 30, 999_000, tzinfo=UTC)
    headers = signed_headers(new_secret(), "evt_1", at, "{}")
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
