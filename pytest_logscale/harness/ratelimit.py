"""Rate limiting per token, on the fake's clock.

Off by default. With a :class:`RateLimit` of N requests per window, a token
that already made N admitted requests within the last window gets HTTP 429
with ``Retry-After``: the whole seconds until its oldest request in the window
leaves it. Time is the fake's :class:`~pytest_logscale.Clock`, never the wall
clock, so a test frees the window with ``clock.advance(...)`` instead of sleeping.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from ..domain.checks import whole_number
from ..domain.clock import Clock

__all__ = ["RateLimit", "RateLimiter"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_TEXT = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*(ms|s|m|h)?\s*")
_MAX_REQUESTS = 1_000_000
_MAX_WINDOW_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` requests per token in any ``window_ms`` milliseconds.

    ``RateLimit.per(10, seconds=60)`` or ``RateLimit.parse("10/60s")``.
    Raises ValueError for a count below 1 or a window outside 1 ms to a day.
    """

    requests: int
    window_ms: int

    def __post_init__(self) -> None:
        for name, value, high in (
            ("requests", self.requests, _MAX_REQUESTS),
            ("window_ms", self.window_ms, _MAX_WINDOW_MS),
        ):
            whole_number(value, f"a rate limit's {name}", 1, high)

    @classmethod
    def per(cls, requests: int, window: timedelta | None = None, **units: float) -> RateLimit:
        """``requests`` per a window given as a timedelta or as units: ``per(5, minutes=1)``."""
        span = (window or timedelta()) + timedelta(**units)
        return cls(requests, round(span.total_seconds() * 1000))

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Read ``N/WINDOW``: ``100/60s``, ``5/1m``, ``1000/1h``, ``3/500ms`` (no unit: seconds)."""
        match = _TEXT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"a rate limit is written N/WINDOW, e.g. 100/60s, 5/1m or 3/500ms; not {text!r}"
            )
        count, length, unit = match.groups()
        return cls(int(count), int(length) * _UNITS[unit or "s"])

    def describe(self) -> str:
        """In words: ``10 requests in 60 seconds``."""
        plural = "s" if self.requests != 1 else ""
        return f"{self.requests} request{plural} in {self.window_ms / 1000:g} seconds"

    def __str__(self) -> str:
        window = self.window_ms
        for unit in ("h", "m", "s"):
            if window % _UNITS[unit] == 0:
                return f"{self.requests}/{window // _UNITS[unit]}{unit}"
        return f"{self.requests}/{window}ms"


class RateLimiter:
    """Counts the requests of each token in a sliding window; thread-safe.

    Only admitted requests count, so a client that keeps retrying too early
    does not push its own window further away. When the clock is set back,
    requests counted at instants now in the future are forgotten.
    """

    def __init__(self, clock: Clock, limit: RateLimit | None = None) -> None:
        self.clock = clock
        self._check(limit)
        self._base = self._limit = limit
        self._seen: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> RateLimit | None:
        """The limit in force, or None (off)."""
        return self._limit

    @limit.setter
    def limit(self, limit: RateLimit | None) -> None:
        self._check(limit)
        with self._lock:
            self._limit = limit
            self._seen.clear()

    @staticmethod
    def _check(limit: object) -> None:
        if limit is not None and not isinstance(limit, RateLimit):
            raise TypeError(f"a rate limit is a RateLimit or None, not {limit!r}")

    def reset(self) -> None:
        """Back to the limit this limiter was made with, with nothing counted."""
        with self._lock:
            self._limit = self._base
            self._seen.clear()

    def clear(self) -> None:
        """Forget every request counted so far."""
        with self._lock:
            self._seen.clear()

    def admit(self, token: str) -> int | None:
        """Count a request of ``token``; None if admitted, else the seconds for Retry-After."""
        limit = self._limit
        if limit is None:
            return None
        now = self.clock.now_ms()
        with self._lock:
            seen = self._seen.setdefault(token, deque())
            while seen and seen[0] <= now - limit.window_ms:
                seen.popleft()
            while seen and seen[-1] > now:  # counted before clock.set() moved time back
                seen.pop()
            if len(seen) < limit.requests:
                seen.append(now)
                return None
            return max(1, math.ceil((seen[0] + limit.window_ms - now) / 1000))
