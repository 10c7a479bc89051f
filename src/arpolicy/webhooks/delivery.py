"""One HTTP attempt: POST the signed body to the endpoint and say what happened.

No redirects are followed (a 3xx is a failed attempt, so a receiver cannot bounce signed
events elsewhere); every attempt has a timeout; only a 2xx counts as delivered. The client
connects only to checked addresses (:mod:`arpolicy.webhooks.destinations`): a refused
destination is a failed attempt that is not retried. Nothing here touches the database:
the worker records the :class:`Outcome`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from arpolicy import __version__
from arpolicy.webhooks.destinations import DestinationBlocked, Destinations, GuardedTransport
from arpolicy.webhooks.signing import body_of, signed_headers

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = f"arpolicy-webhooks/{__version__}"
MAX_ERROR = 500
"""Characters of an error (or of a failing response's body) kept with the attempt."""


@dataclass(frozen=True)
class Request:
    """What to send: taken from the outbox message and its endpoint before sending, so no
    database session is open while waiting on the network."""

    url: str
    secret: str
    msg_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    permanent: bool = False
    """A failure that trying again cannot mend (the destination is refused)."""


def new_client(
    timeout: httpx.Timeout = TIMEOUT, *, destinations: Destinations | None = None
) -> httpx.Client:
    """The client the worker sends with: no redirects, a timeout, no cookies, no proxy,
    and connections only to addresses ``destinations`` allows (by default the operator's
    rule, ``ARPOLICY_WEBHOOK_ALLOW_NETWORKS``: public addresses only unless set)."""
    rule = destinations if destinations is not None else Destinations.from_settings()
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
        trust_env=False,
        transport=GuardedTransport(rule),
    )


def send(client: httpx.Client, request: Request, at: datetime) -> Outcome:
    """POST ``request`` signed as of ``at``; any exception becomes a failed outcome.
    ``client`` comes from :func:`new_client` (anything else could reach any address)."""
    if not isinstance(getattr(client, "_transport", None), GuardedTransport):
        raise TypeError("webhooks are sent only with new_client(), which checks destinations")
    body = body_of(request.payload)
    headers = {
        "content-type": "application/json",
        **signed_headers(request.secret, request.msg_id, at, body),
    }
    started = time.perf_counter()
    try:
        with client.stream("POST", request.url, content=body.encode(), headers=headers) as resp:
            code = resp.status_code
            location = resp.headers.get("location")
            text = "" if 200 <= code < 300 else _head(resp)
    except DestinationBlocked as exc:
        return Outcome(at, False, None, _clip(f"blocked: {exc}"), _ms(started), permanent=True)
    except Exception as exc:  # any failure is this attempt's failure, never the worker's
        return Outcome(at, False, None, _clip(f"{type(exc).__name__}: {exc}"), _ms(started))
    duration = _ms(started)
    if 200 <= code < 300:
        return Outcome(at, True, code, None, duration)
    detail = f"HTTP {code}"
    if 300 <= code < 400 and location:
        detail += f" redirect to {location} (redirects are not followed)"
    if text:
        detail += f": {text}"
    return Outcome(at, False, code, _clip(detail), duration)


def _head(response: httpx.Response) -> str:
    """The start of a failing response's body (read no further: it may be large)."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= MAX_ERROR * 4:
            break
    return data[: MAX_ERROR * 4].decode("utf-8", errors="replace").strip()


def _ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
