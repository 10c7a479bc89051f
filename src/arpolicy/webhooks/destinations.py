"""Where a webhook may go: one check, used when an endpoint is registered or changed and
again at every delivery, after the name is resolved.

A destination is refused when its host, or *any* address it resolves to, is loopback,
private, link-local, multicast, unspecified, otherwise not publicly routable, or a cloud
metadata service -- unless the operator allows the address's network for a self-hosted
receiver (``ARPOLICY_WEBHOOK_ALLOW_NETWORKS``; metadata addresses stay refused).

At delivery the name is resolved once, every address is checked, and the connection goes
to a checked address (:class:`GuardedTransport`): the Host header and, over https, the TLS
server name (SNI and certificate check) stay the URL's host. So a name that resolves to a
public address when checked and to ``127.0.0.1`` a moment later (DNS rebinding) cannot
reach ``127.0.0.1``: nothing is resolved again between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""``(host, port) -> addresses``, as text; raises OSError when the name does not resolve."""

ALLOW_SETTING = "ARPOLICY_WEBHOOK_ALLOW_NETWORKS"
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.253",
        "fd00:ec2::254",
        "fd00:ec2::253",
        "100.100.100.200",
        "168.63.129.16",
    )
)
"""AWS, ECS, GCP, Azure (168.63.129.16 is public, yet the platform's), Alibaba."""
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
REFUSED = "loopback, private, link-local, multicast or cloud metadata addresses"


class DestinationBlocked(Exception):
    """The destination is refused; ``str()`` says which address and why."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """The networks of a comma-separated list (``10.0.0.0/8, ::1``); ValueError names a bad one."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{ALLOW_SETTING}: {item!r} is not a network (CIDR)") from None
    return tuple(networks)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's order, without repeats."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))


@dataclass(frozen=True)
class Destinations:
    """The rule: which addresses webhooks may reach, and how names are resolved."""

    allow: tuple[Network, ...] = ()
    resolve: Resolver | None = None
    """None: :func:`system_resolver` (looked up at each call)."""

    @classmethod
    def from_settings(cls, settings: Any = None) -> Destinations:
        """The operator's rule (``Settings().webhook_allow_networks`` when not given)."""
        if settings is None:
            from arpolicy.config import Settings

            settings = Settings()
        return cls(parse_networks(getattr(settings, "webhook_allow_networks", "") or ""))

    def refusal(self, address: IP) -> str | None:
        """Why ``address`` may not be reached, or None when it may."""
        inner = _embedded(address)
        if address in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if any(a in n for n in self.allow for a in (address, inner) if a is not None):
            return None
        return _kind(inner) if inner is not None else _kind(address)

    def addresses(self, host: str, port: int) -> list[IP]:
        """Resolve ``host`` and check every address: the addresses, all allowed. Raises
        DestinationBlocked, or OSError when the name does not resolve."""
        name = host.rstrip(".").lower()
        if name in METADATA_NAMES:
            raise DestinationBlocked(f"{host} is a cloud metadata service")
        resolve = self.resolve if self.resolve is not None else system_resolver
        found = [ipaddress.ip_address(a) for a in resolve(host, port)]
        if not found:
            raise OSError(f"{host} resolves to no address")
        for address in found:
            why = self.refusal(address)
            if why is not None:
                shown = (
                    host if _literal(host) == address else f"{host} resolves to {address}, which"
                )
                raise DestinationBlocked(
                    f"{shown} is {why}; webhooks are not sent to {REFUSED} "
                    f"(an operator can allow a self-hosted receiver's network with {ALLOW_SETTING})"
                )
        return found

    def check_url(self, url: str) -> None:
        """Registration: refuse ``url`` when its host is, or now resolves to, an address
        that may not be reached. A name that does not resolve yet is accepted: every
        delivery checks again."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ValueError(str(exc)) from None
        if not parsed.host:
            raise ValueError("the URL has no host")
        try:
            self.addresses(parsed.host, _port(parsed))
        except OSError:
            name = parsed.host.rstrip(".").lower()
            if name == "localhost" or name.endswith(".localhost"):
                # RFC 6761: always loopback, whatever a resolver says
                self.addresses("127.0.0.1", _port(parsed))


def _literal(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded(address: IP) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in n for n in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: IP) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a publicly routable address"
    return None


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


class GuardedTransport(httpx.BaseTransport):
    """Sends each request to an address its host was resolved to and checked against
    ``destinations`` (DestinationBlocked otherwise), keeping the Host header and the TLS
    server name. Connections are pooled per host name, so a connection made (and its
    certificate checked) for one name never carries another name's requests."""

    POOLS = 64

    def __init__(self, destinations: Destinations, **options: Any) -> None:
        self.destinations = destinations
        self.options = options
        self.pools: OrderedDict[tuple[str, str, int], httpx.HTTPTransport] = OrderedDict()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = _port(url)
        try:
            address = self.destinations.addresses(url.host, port)[0]
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {url.host}: {exc}", request=request) from exc
        request.url = url.copy_with(host=str(address))
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return self._pool(url.scheme, url.host, port).handle_request(request)

    def _pool(self, scheme: str, host: str, port: int) -> httpx.HTTPTransport:
        key = (scheme, host, port)
        pool = self.pools.pop(key, None) or httpx.HTTPTransport(**self.options)
        self.pools[key] = pool
        while len(self.pools) > self.POOLS:
            self.pools.popitem(last=False)[1].close()
        return pool

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
