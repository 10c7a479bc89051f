"""Where a webhook may go, checked at delivery after resolution: a name that resolves to a
refused address gets no connection at all; an allowed one is reached at the address that
was checked, with its Host header and TLS server name kept (no database)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from arpolicy.config import Settings
from arpolicy.webhooks import destinations
from arpolicy.webhooks.delivery import Request, new_client, send
from arpolicy.webhooks.destinations import Destinations, GuardedTransport, parse_networks
from arpolicy.webhooks.signing import new_secret
from tests.webhooks.support import offline_resolver


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    it = Listener()
    yield it
    it.close()


def _request(url: str, secret: str | None = None) -> Request:
    return Request(url, secret or new_secret(), "evt_dest", {"type": "webhook.test", "data": {}})


def _resolver(table: dict[str, list[str]], calls: list[str]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    return resolve


def test_a_name_resolving_to_127_0_0_1_is_not_delivered_to(monkeypatch, listener, clock):
    """The worker's own client (the operator's default rule) with the resolver patched:
    no connection reaches the listener, and the failure is final and says why."""
    monkeypatch.delenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", raising=False)
    calls: list[str] = []
    monkeypatch.setattr(
        destinations, "system_resolver", _resolver({"sneaky.example": ["127.0.0.1"]}, calls)
    )
    with new_client() as client:
        outcome = send(client, _request(f"https://sneaky.example:{listener.port}/h"), clock.now())
    assert calls == ["sneaky.example"] and listener.accepted == 0
    assert not outcome.ok and outcome.permanent and outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith(
        "blocked: sneaky.example resolves to 127.0.0.1, which is a loopback address"
    )
    assert "ARPOLICY_WEBHOOK_ALLOW_NETWORKS" in outcome.error


def test_every_resolved_address_is_checked(listener, clock):
    calls: list[str] = []
    rule = Destinations(resolve=_resolver({"two.example": ["93.184.215.14", "127.0.0.1"]}, calls))
    with new_client(destinations=rule) as client:
        outcome = send(client, _request(f"https://two.example:{listener.port}/"), clock.now())
    assert outcome.permanent and "127.0.0.1, which is a loopback address" in (outcome.error or "")
    assert listener.accepted == 0


def test_an_allowed_name_is_reached_at_the_checked_address_with_its_host_header(receiver, clock):
    """The name exists only in the test resolver, asked once: the connection goes to the
    address it answered (httpx resolves nothing itself), Host is still the name."""
    secret = new_secret()
    path_url = receiver.expect("/pinned", secret)
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])  # rebinding after the first answer

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    rule = Destinations(parse_networks("127.0.0.0/8"), resolve=rebinding)
    url = path_url.replace("127.0.0.1", "pinned.example")
    with new_client(destinations=rule) as client:
        outcome = send(client, _request(url, secret), clock.now())
    assert outcome.ok, outcome.error
    assert calls == ["pinned.example"]
    [got] = receiver.at("/pinned")
    assert got.verified and got.headers["host"] == f"pinned.example:{receiver.port}"


def test_a_name_that_does_not_resolve_is_a_retryable_failure(clock):
    rule = Destinations(resolve=offline_resolver)
    with new_client(destinations=rule) as client:
        outcome = send(client, _request("https://nowhere.example/h"), clock.now())
    assert not outcome.ok and not outcome.permanent
    assert (outcome.error or "").startswith("ConnectError: cannot resolve nowhere.example")


def test_only_the_guarded_client_may_send(clock):
    with httpx.Client() as plain, pytest.raises(TypeError, match="new_client"):
        send(plain, _request("https://hooks.example.com/"), clock.now())


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path):
    """An https server on 127.0.0.1 with a certificate for secure.example; records the
    server names (SNI) clients ask for."""
    cert, key = _certificate(tmp_path, "secure.example")
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield server.server_address[1], cert, names
    server.shutdown()
    server.server_close()


def _tls_client(cert: Path, table: dict[str, list[str]]) -> httpx.Client:
    rule = Destinations(parse_networks("127.0.0.0/8"), resolve=_resolver(table, []))
    trust = ssl.create_default_context(cafile=str(cert))
    return httpx.Client(transport=GuardedTransport(rule, verify=trust), trust_env=False)


def test_https_keeps_the_server_name_for_sni_and_the_certificate_check(tls_server, clock):
    port, cert, names = tls_server
    with _tls_client(cert, {"secure.example": ["127.0.0.1"]}) as client:
        outcome = send(client, _request(f"https://secure.example:{port}/h"), clock.now())
    assert outcome.ok, outcome.error
    assert names == ["secure.example"]
    with _tls_client(cert, {"other.example": ["127.0.0.1"]}) as client:  # same address, wrong name
        outcome = send(client, _request(f"https://other.example:{port}/h"), clock.now())
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in (outcome.error or "")


def test_the_allow_setting_is_empty_by_default_and_checked(monkeypatch):
    monkeypatch.delenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", raising=False)
    assert Settings().webhook_allow_networks == ""
    assert Destinations.from_settings(Settings()).allow == ()
    monkeypatch.setenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", "10.20.0.0/16, fd00:1::/64")
    assert [str(n) for n in Destinations.from_settings().allow] == ["10.20.0.0/16", "fd00:1::/64"]
    monkeypatch.setenv("ARPOLICY_WEBHOOK_ALLOW_NETWORKS", "10.20.0.0/16,intranet")
    with pytest.raises(pydantic.ValidationError, match="'intranet' is not a network"):
        Settings()
