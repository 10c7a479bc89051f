"""One HTTP attempt against a real local receiver (no database). The receiver is on
127.0.0.1, so every client here allows loopback explicitly."""

from __future__ import annotations

import socket

import httpx

from arpolicy.webhooks.delivery import Request, new_client, send
from arpolicy.webhooks.signing import new_secret
from tests.webhooks.support import LOOPBACK


def _request(url, secret):
    return Request(url, secret, "evt_abc", {"type": "webhook.test", "data": {"n": 1}})


def test_a_2xx_is_delivered_and_the_receiver_verifies_it(receiver, clock):
    secret = new_secret()
    url = receiver.expect("/ok", secret)
    with new_client(destinations=LOOPBACK) as client:
        outcome = send(client, _request(url, secret), clock.now())
    assert outcome.ok and outcome.status_code == 200 and outcome.error is None
    assert outcome.duration_ms >= 0 and outcome.at == clock.now()
    [got] = receiver.at("/ok")
    assert got.verified and got.payload == {"type": "webhook.test", "data": {"n": 1}}
    assert got.headers["webhook-id"] == "evt_abc"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("arpolicy-webhooks/")


def test_a_5xx_fails_with_the_status_and_the_start_of_the_body(receiver, clock):
    secret = new_secret()
    url = receiver.expect("/boom", secret, (503,))
    with new_client(destinations=LOOPBACK) as client:
        outcome = send(client, _request(url, secret), clock.now())
    assert not outcome.ok and outcome.status_code == 503
    assert outcome.error == "HTTP 503: status 503"


def test_a_wrong_secret_is_refused_by_the_receiver(receiver, clock):
    url = receiver.expect("/strict", new_secret())
    with new_client(destinations=LOOPBACK) as client:
        outcome = send(client, _request(url, new_secret()), clock.now())
    assert outcome.status_code == 401 and not receiver.at("/strict")[0].verified


def test_redirects_are_not_followed(receiver, clock):
    secret = new_secret()
    url = receiver.expect("/moved", secret, (307,), location=receiver.url("/elsewhere"))
    with new_client(destinations=LOOPBACK) as client:
        outcome = send(client, _request(url, secret), clock.now())
    assert not outcome.ok and outcome.status_code == 307
    assert "redirects are not followed" in (outcome.error or "")
    assert receiver.at("/elsewhere") == []


def test_a_refused_connection_is_an_error_without_status(clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with new_client(destinations=LOOPBACK) as client:
        outcome = send(client, _request(f"http://127.0.0.1:{port}/x", new_secret()), clock.now())
    assert not outcome.ok and outcome.status_code is None
    assert outcome.error and outcome.error.startswith("ConnectError")


def test_a_slow_receiver_times_out(receiver, clock):
    secret = new_secret()
    url = receiver.expect("/slow", secret)
    receiver.delay = 0.5
    with new_client(httpx.Timeout(0.1), destinations=LOOPBACK) as client:
        outcome = send(client, _request(url, secret), clock.now())
    assert not outcome.ok and outcome.status_code is None
    assert "Timeout" in (outcome.error or "")
