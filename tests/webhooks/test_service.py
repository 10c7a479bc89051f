"""What an endpoint may be: URL and event checks (pure)."""

from __future__ import annotations

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.webhooks.service import check_events, check_text, check_url


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/ar", "https://example.com:8443/x?y=1", "http://localhost:9000/h",
     "http://127.0.0.1/h", "http://[::1]:8080/h"],
)  # fmt: skip
def test_good_urls(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url,part",
    [("http://example.com/h", "https only"), ("ftp://example.com", "absolute"),
     ("https://", "absolute"), ("/relative", "absolute"), ("https://u:p@example.com/", "credentials"),
     ("https://example.com/#x", "fragment"), ("https://exa mple.com", "spaces"),
     ("https://example.com/\x00", "control"), ("http://[::1", "not a URL"),
     ("https://example.com:99999/", "not a URL"), ("http://127.0.0.2/", "https only")],
)  # fmt: skip
def test_bad_urls_are_422_with_a_fix(url, part):
    with pytest.raises(ValidationError) as err:
        check_url(url)
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
