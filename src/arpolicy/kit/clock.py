"""Injected time. Domain code never reads the wall clock; it asks a :class:`Clock`.

"Today" is always a tenant's local date (:func:`local_today`), computed from an aware UTC
instant and the tenant's IANA time zone, never from the host's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

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


FIXED_NOTE = (
    "the clock is fixed: every decision, due time and lease uses this instant and it does "
    "not move (rehearsals and support only; unset it for real work)"
)


def parse_instant(text: str, *, where: str) -> datetime:
    """An aware ISO 8601 instant (``2026-12-01T09:30:00+01:00`` or ``...Z``), in UTC. A date
    or a time without an offset is refused: the same text would mean another instant on a
    host or tenant in another zone."""
    example = "e.g. 2026-12-01T09:30:00+01:00 or 2026-12-01T08:30:00Z"
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{text!r} is not an ISO 8601 instant", where=where, fix=f"give one, {example}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{text!r} has no UTC offset, so it names no single instant",
            where=where,
            fix=f"add the offset, {example}",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            f"{text!r} is outside the range of instants", where=where, fix=example
        ) from None


def clock_at(fixed: str | None, *, where: str) -> Clock:
    """A :class:`FixedClock` at ``fixed`` (an aware ISO instant, from ``where``: an option or
    a setting), or the system clock when it is empty."""
    if not fixed:
        return SystemClock()
    return FixedClock(parse_instant(fixed, where=where))


def settings_clock(fixed: str | None) -> Clock:
    """The clock of a long-running process from the ``now`` setting (``ARPOLICY_NOW``): a
    fixed one is logged as a warning at start, so nobody serves on a frozen clock unaware."""
    clock = clock_at(fixed, where="ARPOLICY_NOW")
    if isinstance(clock, FixedClock):
        structlog.get_logger("arpolicy.clock").warning(
            "clock.fixed", now=clock.now().isoformat(), note=FIXED_NOTE
        )
    return clock
