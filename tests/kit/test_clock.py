from datetime import UTC, date, datetime, timedelta

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import FixedClock, local_today, zone


def test_today_is_the_tenants_local_date():
    clock = FixedClock(datetime(2026, 11, 23, 3, 30, tzinfo=UTC))
    assert local_today(clock, "UTC") == date(2026, 11, 23)
    assert local_today(clock, "America/New_York") == date(2026, 11, 22)
    assert local_today(clock, "Asia/Tokyo") == date(2026, 11, 23)
    clock.advance(timedelta(hours=20))
    assert local_today(clock, "Asia/Tokyo") == date(2026, 11, 24)


def test_naive_instants_and_unknown_zones_are_refused():
    with pytest.raises(ValidationError, match="no time zone"):
        FixedClock(datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="IANA"):
        zone("Mars/Olympus")
