"""Injected time. Domain code never reads the wall clock; it asks a :class:`Clock`.

"Today" is always a tenant's local date (:func:`local_today`), computed from an aware UTC
instant and the tenant's IANA time zone, never from the host's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arpolicy.exceptions import ValidationError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (tests, dry runs, backtests)."""

    def __init__(self, instant: datetime) -> None:
        self._now = ensure_aware(instant)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = ensure_aware(instant)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def ensure_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationError(
            f"{instant.isoformat()} has no time zone",
            fix="give instants with an offset, e.g. 2026-11-23T09:00:00+00:00",
        )
    return instant.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{name!r} is not an IANA time zone",
            fix="use a name such as Europe/Berlin, America/New_York or UTC",
        ) from None


def local_today(clock: Clock, tz: str) -> date:
    """The date it is now in time zone ``tz``."""
    return clock.now().astimezone(zone(tz)).date()
