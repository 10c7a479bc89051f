"""When to try a webhook again: pure functions, no clock, no database.

The schedule follows the Standard Webhooks recommendation: the first attempt at once, then
retries 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours after the
previous failure -- eight attempts over about 28 hours -- and then the message is failed.
Each wait is spread by up to +/-10 % (jitter) so that an endpoint which was down for a while
is not hit by all its backlog in the same second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from arpolicy.models import OutboxStatus

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""The wait after the 1st, 2nd, ... failed attempt."""
MAX_ATTEMPTS = 1 + len(SCHEDULE)
JITTER = 0.1
"""A wait is scaled by a factor in [1 - JITTER, 1 + JITTER)."""


def retry_delay(failed_attempts: int, u: float = 0.5) -> timedelta | None:
    """The wait before the next attempt after ``failed_attempts`` attempts have failed, or
    None when there is no next attempt. ``u`` in [0, 1) picks the jitter (0.5: none); the
    caller draws it at random."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts attempts made, from 1")
    if failed_attempts > len(SCHEDULE):
        return None
    if not 0.0 <= u < 1.0:
        raise ValueError("u must be in [0, 1)")
    base = SCHEDULE[failed_attempts - 1]
    return base * (1 + JITTER * (2 * u - 1))


@dataclass(frozen=True)
class Next:
    """What becomes of a message after an attempt."""

    status: OutboxStatus
    next_attempt_at: datetime
    """For a pending message, when to try again; otherwise the attempt's time."""


def after_attempt(attempts: int, ok: bool, now: datetime, u: float = 0.5) -> Next:
    """The message's next state, given how many attempts it has had (this one included)
    and whether this one succeeded."""
    if ok:
        return Next(OutboxStatus.DELIVERED, now)
    delay = retry_delay(attempts, u)
    if delay is None:
        return Next(OutboxStatus.FAILED, now)
    return Next(OutboxStatus.PENDING, now + delay)


def total_span(u: float = 0.5) -> timedelta:
    """From the first attempt to the last (about 27.6 hours without jitter)."""
    total = timedelta()
    for n in range(1, len(SCHEDULE) + 1):
        delay = retry_delay(n, u)
        assert delay is not None
        total += delay
    return total
