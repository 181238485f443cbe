"""Count the requests the app is handling, so a test can wait for one to be taken in."""

from __future__ import annotations

import threading
from typing import final

__all__ = ["InFlight"]


@final
class InFlight:
    """How many requests the app has taken in and not yet answered; thread-safe.

    A request counts from the moment the app is called (its head was read; its
    body may still be on the way) until the app returns its answer. A test that
    holds a request on purpose (a slow body, a delay fault) waits for it with
    :meth:`wait_for` instead of sleeping.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._count = 0
        self._waiting = 0  # threads in wait_for: only they need a notification

    @property
    def count(self) -> int:
        """The requests being handled now."""
        return self._count

    def enter(self) -> None:
        """A request was taken in."""
        with self._lock:
            self._count += 1
            if self._waiting:
                self._changed.notify_all()

    def leave(self) -> None:
        """A request was answered (or dropped)."""
        with self._lock:
            self._count -= 1
            if self._waiting:
                self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until exactly ``count`` requests are in flight; False if ``timeout`` s passed."""
        with self._changed:
            self._waiting += 1
            try:
                return self._changed.wait_for(lambda: self._count == count, timeout)
            finally:
                self._waiting -= 1
