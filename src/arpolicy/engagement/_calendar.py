"""Part of the policy room (pure): dates. Reminder steps (calendar or business days, with
the customer's country holidays) and the send window in the customer's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_lib

from arpolicy.engagement.config import WEEKDAYS, SendWindow
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import zone


def day_bounds(tz: str, day: date) -> tuple[datetime, datetime]:
    """The instants ``day`` starts and ends in the zone ``tz`` (aware UTC)."""
    zi = zone(tz)
    start = datetime.combine(day, time(0), tzinfo=zi).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zi).astimezone(UTC)


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays_lib.country_holidays(country, years=year))
    except (NotImplementedError, KeyError):  # a country the library does not know
        return frozenset()


def is_business_day(day: date, country: str | None) -> bool:
    if day.weekday() >= 5:
        return False
    return not country or day not in _holidays(country.upper(), day.year)


def next_business_day(day: date, country: str | None) -> date:
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


def add_days(start: date, days: int, *, business: bool, country: str | None) -> date:
    """``start`` + ``days`` (negative: before); in business days when ``business``, and then
    a result on a non-business day moves to the next business day."""
    if not business:
        return start + timedelta(days=days)
    step = 1 if days >= 0 else -1
    day, left = start, abs(days)
    while left:
        day += timedelta(days=step)
        if is_business_day(day, country):
            left -= 1
    return next_business_day(day, country)


def step_dates(
    anchor: date | None,
    offset: int,
    every: int | None,
    times: int,
    *,
    business: bool,
    country: str | None,
    chained: bool = False,
) -> tuple[date, ...]:
    """The dates of a reminder's occurrences (``times`` of them, ``every`` days apart).
    ``chained``: the anchor is the previous email (only the next occurrence is known)."""
    if anchor is None:
        return ()
    return _step_dates(anchor, offset, None if chained else every, times, business, country)


@lru_cache(maxsize=65_536)
def _step_dates(
    anchor: date, offset: int, every: int | None, times: int, business: bool, country: str | None
) -> tuple[date, ...]:
    """Cached: a tenant's invoices share a few hundred due dates."""
    first = add_days(anchor, offset, business=business, country=country)
    if every is None:
        return (first,) if times else ()
    return tuple(
        add_days(first, every * k, business=business, country=country) for k in range(times)
    )


def window_opening(
    window: SendWindow, tz: str, not_before: datetime, day: date
) -> tuple[datetime, bool]:
    """The first instant at or after ``not_before`` (and not before ``day`` in ``tz``) that
    lies in the send window, as (aware UTC instant, True when it is on ``day``).

    The search starts on the later of ``day`` and the date of ``not_before`` in ``tz``: a
    day already past (a run as of an earlier day, catching up) gets the next opening after
    ``not_before``, however long ago the day was."""
    zi = zone(tz)
    allowed = {WEEKDAYS.index(d) for d in window.days} if window.start < window.end else set()
    local_now = not_before.astimezone(zi)
    first = max(day, local_now.date())
    for n in range(8 if allowed else 0):  # the first day (its window may be over), a week
        d = first + timedelta(days=n)
        if d.weekday() not in allowed:
            continue
        start = datetime.combine(d, window.start, tzinfo=zi)
        end = datetime.combine(d, window.end, tzinfo=zi)
        if local_now >= end:
            continue
        return max(start, local_now).astimezone(UTC), d == day
    raise ValidationError(
        f"the send window {window.start:%H:%M}-{window.end:%H:%M} on "
        f"{', '.join(window.days) or 'no day'} never opens",
        where="send_window",
        fix="give at least one day and a start before the end, e.g. 09:00-17:00 mon-fri, "
        "and save the cycle again",
    )
