"""Ageing buckets: labels, the due-date ranges they cover as of a date, and the pure
twin used by tests and single-record code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta


def bucket_labels(bounds: Sequence[int]) -> list[str]:
    """[30, 60] -> ["current", "1-30", "31-60", "over 60"]."""
    labels, low = ["current"], 1
    for b in bounds:
        labels.append(f"{low}-{b}")
        low = b + 1
    labels.append(f"over {bounds[-1]}")
    return labels


def bucket_ranges(as_of: date, bounds: Sequence[int]) -> list[tuple[date | None, date | None]]:
    """Per bucket, the due dates it holds as ``lower <= due_date < upper`` (None = open)."""
    ranges: list[tuple[date | None, date | None]] = [(as_of, None)]
    upper = as_of
    for b in bounds:
        lower = as_of - timedelta(days=b)
        ranges.append((lower, upper))
        upper = lower
    ranges.append((None, upper))
    return ranges


def bucket_of(days_past_due: int, bounds: Sequence[int]) -> int:
    """Index of the bucket holding ``days_past_due`` (pure twin of the SQL, for tests)."""
    if days_past_due <= 0:
        return 0
    for i, b in enumerate(bounds, start=1):
        if days_past_due <= b:
            return i
    return len(bounds) + 1
