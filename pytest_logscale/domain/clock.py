"""The fake's own clock: frozen unless a test moves it, or following real time on request."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone

from .instants import CLOCK_RANGE

__all__ = ["Clock", "to_datetime", "to_millis"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def to_millis(instant: datetime | int) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC) or of an int."""
    if isinstance(instant, bool):
        raise TypeError("an instant is a datetime or epoch milliseconds, not a bool")
    if isinstance(instant, int):
        return instant
    if not isinstance(instant, datetime):
        raise TypeError(f"an instant is a datetime or epoch milliseconds, not {instant!r}")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return (instant - _EPOCH) // _MILLISECOND  # exact, where a float timestamp is not


def to_datetime(millis: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return _EPOCH + timedelta(milliseconds=millis)


_RANGE = "the clock shows instants from 0001-01-01 to 9999-12-31 (UTC) only"


def _in_range(millis: int, what: str) -> int:
    """``millis``, if the clock can show that instant; else ValueError saying ``what`` was asked."""
    if millis not in CLOCK_RANGE:
        raise ValueError(f"{_RANGE}: {what} is out of range")
    return millis


def _delta_millis(delta: timedelta | float) -> int:
    if isinstance(delta, bool):
        raise TypeError("advance by a timedelta or a number of seconds, not a bool")
    if isinstance(delta, timedelta):
        return round(delta.total_seconds() * 1000)
    if isinstance(delta, (int, float)):
        if isinstance(delta, float) and not math.isfinite(delta):
            raise ValueError(f"{_RANGE}: advancing by {delta} seconds is out of range")
        return round(delta * 1000)
    raise TypeError(f"advance by a timedelta or a number of seconds, not {delta!r}")


class Clock:
    """Time as the fake sees it, in epoch milliseconds.

    Frozen at ``start`` by default: it moves only through :meth:`advance` and
    :meth:`set`, so expiry in tests never waits on real time. With
    ``wall=True`` it runs at the speed of real time from ``start`` (the
    ``serve --wall-clock`` mode); moving it still works. :meth:`reset` puts it
    back to ``start``.
    """

    def __init__(self, start: datetime | int, *, wall: bool = False) -> None:
        self._start = _in_range(to_millis(start), f"starting at {start!r}")
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = self._start
        self._origin = time.monotonic_ns() // 1_000_000 if wall else 0

    @property
    def wall(self) -> bool:
        """Whether the clock follows real time."""
        return self._wall

    @property
    def start_ms(self) -> int:
        """The instant the clock starts from and resets to, in epoch milliseconds."""
        return self._start

    def now_ms(self) -> int:
        """The current instant in epoch milliseconds."""
        if self._wall:
            return self._offset + time.monotonic_ns() // 1_000_000 - self._origin
        return self._offset

    @property
    def now(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        return to_datetime(self.now_ms())

    def advance(self, delta: timedelta | float = 0, /, **units: float) -> datetime:
        """Move forward by a timedelta, a number of seconds, or timedelta units.

        ``clock.advance(hours=11)`` and ``clock.advance(timedelta(hours=11))``
        are the same. Moving backwards is refused: use :meth:`set` for that.
        """
        try:
            millis = _delta_millis(delta) + (_delta_millis(timedelta(**units)) if units else 0)
        except OverflowError:  # a timedelta beyond 999,999,999 days
            raise ValueError(f"{_RANGE}: advancing that far is out of range") from None
        if millis < 0:
            raise ValueError("the clock only advances; use set() to go back in time")
        with self._lock:  # checked before the move: a refused move changes nothing
            _in_range(self.now_ms() + millis, f"advancing by {millis} ms")
            self._offset += millis
        return self.now

    def set(self, instant: datetime | int) -> datetime:
        """Jump to an instant: an aware datetime or epoch milliseconds."""
        millis = _in_range(to_millis(instant), f"setting it to {instant!r}")
        with self._lock:
            self._offset = millis - (self.now_ms() - self._offset)
        return self.now

    def reset(self) -> None:
        """Go back to the start instant (and, for a wall clock, run on from there)."""
        with self._lock:
            self._offset = self._start
            if self._wall:
                self._origin = time.monotonic_ns() // 1_000_000

    def restart(self, start: datetime | int) -> None:
        """Make ``start`` the new start instant and reset to it."""
        self._start = _in_range(to_millis(start), f"starting at {start!r}")
        self.reset()
