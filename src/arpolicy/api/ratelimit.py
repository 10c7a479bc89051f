"""Per-key rate limiting: a token bucket per API key, in this process.

Each API replica keeps its own buckets, so N replicas allow up to N times the limit; put a
shared limiter (the load balancer's, or Redis) in front when that matters.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from arpolicy.exceptions import ArpolicyError


class RateLimited(ArpolicyError):
    status = 429
    type = "rate-limited"

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            f"this API key made more than {limit} requests in a minute",
            fix=f"wait {retry_after} s (Retry-After) and slow down, or use several keys",
        )
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.per_minute = per_minute
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        """Take one token for ``key`` or raise :class:`RateLimited`."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(self.capacity, now)
            b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.rate)
            b.at = now
            if b.tokens < 1:
                raise RateLimited(math.ceil((1 - b.tokens) / self.rate), self.per_minute)
            b.tokens -= 1
