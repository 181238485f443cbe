"""The clock refuses an instant it cannot show, and then has not moved at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.clock import Clock

LAST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
FIRST = datetime(1, 1, 1, tzinfo=timezone.utc)
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
LAST_MS = 253402300799999
FIRST_MS = -62135596800000


@pytest.mark.parametrize(
    "move",
    [
        lambda clock: clock.set(LAST_MS + 1),
        lambda clock: clock.set(FIRST_MS - 1),
        lambda clock: clock.set(10**30),
        lambda clock: clock.set(-(10**30)),
        lambda clock: clock.advance(days=3_000_000),
        lambda clock: clock.advance(10**20),
        lambda clock: clock.advance(timedelta(days=999_999_999)),
        lambda clock: clock.advance(float("inf")),
        lambda clock: clock.advance(float("nan")),
    ],
)
@pytest.mark.parametrize("wall", [False, True])
def test_a_move_out_of_range_raises_value_error_and_changes_nothing(
    move: Callable[[Clock], object], wall: bool
) -> None:
    clock = Clock(START, wall=wall)
    clock.set(START)
    before = clock.now_ms()
    with pytest.raises(ValueError, match="0001-01-01 to 9999-12-31"):
        move(clock)
    assert 0 <= clock.now_ms() - before < 60_000  # a wall clock runs on, nothing more
    assert isinstance(clock.now, datetime)


def test_the_last_and_first_instants_can_be_set() -> None:
    clock = Clock(START)
    assert clock.set(LAST) == LAST
    with pytest.raises(ValueError):
        clock.advance(milliseconds=1)
    assert clock.now == LAST
    assert clock.set(FIRST) == FIRST
    assert clock.advance(milliseconds=1) == FIRST + timedelta(milliseconds=1)


def test_a_clock_cannot_start_out_of_range() -> None:
    with pytest.raises(ValueError, match="9999-12-31"):
        Clock(10**30)


def test_a_refused_move_leaves_the_served_clock_answering(logscale_server: FakeLogScale) -> None:
    before = logscale_server.clock.now
    with pytest.raises(ValueError):
        logscale_server.clock.advance(days=10**7)
    with pytest.raises(ValueError):
        logscale_server.clock.set(LAST_MS + 1)
    assert logscale_server.clock.now == before
    answer = logscale_server.execute("{ sessions(limit: 1) { results { lastActivityAt } } }")
    assert "errors" not in answer, answer
