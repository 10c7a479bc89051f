"""The retry schedule: pure functions, no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arpolicy.models import OutboxStatus
from arpolicy.webhooks.schedule import (
    JITTER,
    MAX_ATTEMPTS,
    SCHEDULE,
    after_attempt,
    retry_delay,
    total_span,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_schedule_is_standard_webhooks_recommendation():
    assert [d.total_seconds() for d in SCHEDULE] == [
        5,
        5 * 60,
        30 * 60,
        2 * 3600,
        5 * 3600,
        10 * 3600,
        10 * 3600,
    ]
    assert MAX_ATTEMPTS == 8


def test_without_jitter_each_wait_is_the_scheduled_one():
    assert [retry_delay(n) for n in range(1, 8)] == list(SCHEDULE)
    assert retry_delay(8) is None and retry_delay(20) is None


def test_jitter_spreads_a_wait_by_at_most_ten_percent():
    assert retry_delay(2, 0.0) == timedelta(minutes=5) * (1 - JITTER)
    assert retry_delay(2, 0.75) == timedelta(minutes=5) * 1.05


@given(st.integers(1, len(SCHEDULE)), st.floats(0, 1, exclude_max=True))
def test_a_jittered_wait_stays_within_its_band(n, u):
    delay = retry_delay(n, u)
    assert delay is not None
    assert SCHEDULE[n - 1] * (1 - JITTER) <= delay <= SCHEDULE[n - 1] * (1 + JITTER)


@pytest.mark.parametrize("attempts,u", [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_nonsense_is_refused(attempts, u):
    with pytest.raises(ValueError):
        retry_delay(attempts, u)


def test_after_a_success_the_message_is_delivered():
    step = after_attempt(3, True, NOW)
    assert step.status == OutboxStatus.DELIVERED and step.next_attempt_at == NOW


def test_after_a_failure_it_waits_then_gives_up_after_the_eighth_attempt():
    waits = []
    for attempts in range(1, MAX_ATTEMPTS):
        step = after_attempt(attempts, False, NOW)
        assert step.status == OutboxStatus.PENDING
        waits.append(step.next_attempt_at - NOW)
    assert waits == list(SCHEDULE)
    last = after_attempt(MAX_ATTEMPTS, False, NOW)
    assert last.status == OutboxStatus.FAILED and last.next_attempt_at == NOW


def test_the_whole_schedule_spans_about_28_hours():
    assert total_span() == timedelta(hours=27, minutes=35, seconds=5)
