"""What an endpoint may be: URL and event checks (pure; names resolve offline)."""

from __future__ import annotations

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.webhooks.destinations import Destinations, parse_networks
from arpolicy.webhooks.service import check_events, check_text, check_url
from tests.webhooks.support import LOOPBACK, offline_resolver

DEFAULT = Destinations(resolve=offline_resolver)
"""The default rule: public addresses only."""


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/ar",
        "https://example.com:8443/x?y=1",
        "http://localhost:9000/h",
        "http://127.0.0.1/h",
        "http://[::1]:8080/h",
        "https://not-yet-in-dns.example/h",
    ],
)
def test_good_urls(url):
    assert check_url(url, LOOPBACK) == url


@pytest.mark.parametrize(
    "url,what",
    [
        ("https://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("https://[::1]/", "::1 is a loopback address"),
        ("http://localhost:9000/h", "localhost resolves to 127.0.0.1, which is a loopback address"),
        ("https://10.0.0.1/", "10.0.0.1 is a private address"),
        ("https://192.168.1.20:8443/h", "192.168.1.20 is a private address"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a cloud metadata address",
        ),
        (
            "https://metadata.google.internal/computeMetadata/v1/",
            "metadata.google.internal is a cloud metadata service",
        ),
        ("https://Metadata.Google.Internal./x", "cloud metadata service"),
        ("https://[fd00:ec2::254]/", "a cloud metadata address"),
        ("https://169.254.10.10/", "a link-local address"),
        ("https://[fe80::1]/", "a link-local address"),
        ("https://224.0.0.251/", "a multicast address"),
        ("https://0.0.0.0/", "the unspecified address"),
        ("https://100.64.0.1/", "not a publicly routable address"),
        ("https://2130706433/", "resolves to 127.0.0.1"),
        ("https://0x7f.1/", "resolves to 127.0.0.1"),
        ("https://[::ffff:10.0.0.1]/", "a private address"),
        ("https://[64:ff9b::a9fe:a9fe]/", "a cloud metadata address"),
        (
            "https://inside.example/h",
            "inside.example resolves to 10.1.2.3, which is a private address",
        ),
        ("https://mixed.example/h", "mixed.example resolves to 192.168.1.1"),
    ],
)
def test_internal_destinations_are_refused_by_default(url, what):
    with pytest.raises(ValidationError) as err:
        check_url(url, DEFAULT)
    assert what in err.value.message and err.value.where == "body.url"
    assert "ARPOLICY_WEBHOOK_ALLOW_NETWORKS" in (err.value.fix or "")


def test_an_allowed_network_is_accepted_but_metadata_never():
    inside = Destinations(parse_networks("10.0.0.0/8, 169.254.0.0/16"), resolve=offline_resolver)
    assert check_url("https://10.0.0.1/h", inside) == "https://10.0.0.1/h"
    assert check_url("https://inside.example/h", inside)
    assert check_url("https://169.254.10.10/", inside)
    with pytest.raises(ValidationError, match="cloud metadata"):
        check_url("https://169.254.169.254/", inside)
    with pytest.raises(ValidationError, match="private"):  # only the allowed networks
        check_url("https://192.168.1.1/", inside)


@pytest.mark.parametrize(
    "url,part",
    [
        ("http://example.com/h", "https only"),
        ("ftp://example.com", "absolute"),
        ("https://", "absolute"),
        ("/relative", "absolute"),
        ("https://u:p@example.com/", "credentials"),
        ("https://example.com/#x", "fragment"),
        ("https://exa mple.com", "spaces"),
        ("https://example.com/\x00", "control"),
        ("http://[::1", "not a URL"),
        ("https://example.com:99999/", "not a URL"),
        ("http://127.0.0.2/", "https only"),
    ],
)
def test_bad_urls_are_422_with_a_fix(url, part):
    with pytest.raises(ValidationError) as err:
        check_url(url, LOOPBACK)
    assert part in err.value.message and err.value.where == "body.url" and err.value.fix


def test_events_are_known_types_or_star_without_repeats():
    assert check_events(["customer.created", "*", "customer.created"]) == ["customer.created", "*"]
    with pytest.raises(ValidationError) as err:
        check_events(["customer.created", "customer.exploded"])
    assert err.value.where == "body.events.1"
    with pytest.raises(ValidationError):
        check_events([])


def test_text_refuses_control_characters_and_lone_surrogates():
    assert check_text("Line one\nline two", "d") == "Line one\nline two"
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(ValidationError):
            check_text(bad, "d")
