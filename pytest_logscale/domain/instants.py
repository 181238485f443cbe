"""Instants as text: the one parser of an instant a user gives and the one formatter.

An instant is epoch milliseconds. It is given as an int, a text of ASCII digits,
an ISO-8601 text with a zone, or a datetime; it is written as
``2025-01-01T09:30:00.000Z``, the year always in four digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .checks import OptionError, is_whole_number_text

__all__ = [
    "ANCHOR_RANGE",
    "CLOCK_RANGE",
    "ISO_EXAMPLE",
    "InstantRange",
    "format_instant",
    "parse_instant",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(instant: datetime) -> int:
    return (instant - _EPOCH) // _MILLISECOND


@dataclass(frozen=True, slots=True)
class InstantRange:
    """The instants from ``low`` to ``high`` (epoch ms, both included)."""

    low: int
    high: int

    def __contains__(self, millis: object) -> bool:
        return isinstance(millis, int) and self.low <= millis <= self.high

    def describe(self) -> str:
        """``from <low> to <high>``, as the instants are written."""
        return f"from {format_instant(self.low)} to {format_instant(self.high)}"


#: Every instant the clock can show (and the control API and state files take): 0001 to 9999.
CLOCK_RANGE = InstantRange(
    _millis(datetime.min.replace(tzinfo=timezone.utc)),
    _millis(datetime.max.replace(tzinfo=timezone.utc)),
)
#: The range a seeding anchor (``clock=``) may take, narrower than the clock's: the seeded
#: data reaches years before the anchor and tests move the clock on after it.
ANCHOR_RANGE = InstantRange(
    _millis(datetime(1990, 1, 1, tzinfo=timezone.utc)),
    _millis(datetime(9000, 1, 1, tzinfo=timezone.utc)),
)

#: How an instant is written, in messages that show one.
ISO_EXAMPLE = "2025-01-01T09:30:00.000Z"


def format_instant(millis: int) -> str:
    """Epoch milliseconds as ``2025-01-01T09:30:00.000Z`` (year 1 as ``0001``)."""
    t = _EPOCH + millis * _MILLISECOND
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond // 1000:03d}Z"
    )


def parse_instant(
    value: object, what: str, within: InstantRange = CLOCK_RANGE, *, text_only: bool = False
) -> int:
    """Epoch milliseconds of an instant ``value`` in ``within``, else :class:`OptionError`
    (a ValueError) naming ``what``.

    Takes an int, a text of ASCII digits, an ISO-8601 text with a zone or a datetime
    (one without a zone is taken as UTC; a text without one is refused: it is too
    easily meant as local time). ``text_only``: an ISO-8601 text and nothing else
    (state files). Finer than a millisecond is refused, never cut.
    """
    millis = _millis_of(value, what, text_only)
    if millis not in within:
        raise OptionError(what, _say(what, f"must be {within.describe()}, not {value!r}"))
    return millis


def _say(what: str, problem: str) -> str:
    return f"{what} {problem}" if what else problem


def _millis_of(value: object, what: str, text_only: bool) -> int:
    if text_only:
        kind = f"must be a UTC time like {ISO_EXAMPLE!r}, not {value!r}"
    else:
        kind = (
            f"must be epoch milliseconds or an ISO-8601 instant like {ISO_EXAMPLE}, not {value!r}"
        )
    if isinstance(value, datetime) and not text_only:
        instant = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return _exact(instant, what, value)
    if isinstance(value, int) and not isinstance(value, bool) and not text_only:
        return value
    if not isinstance(value, str):
        raise OptionError(what, _say(what, kind))
    text = value.strip()
    if is_whole_number_text(text) and not text.startswith(("+", "-")):
        if text_only:
            raise OptionError(what, _say(what, kind))
        return int(text)
    text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    text = _milliseconds(text, what, value)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise OptionError(what, _say(what, kind)) from None
    if instant.tzinfo is None:
        raise OptionError(what, _say(what, f"{value!r} has no time zone: end it with Z or +hh:mm"))
    return _exact(instant, what, value)


#: A time's fraction of a second: its separator and digits.
_FRACTION = re.compile(r"(?<=\d\d:\d\d:\d\d)[.,](\d+)")


def _milliseconds(text: str, what: str, value: object) -> str:
    """``text`` with its fraction of a second as exactly three digits, the same on every Python
    (3.10's ``fromisoformat`` takes three or six, 3.11's any number, dropping those past the
    microsecond unread); OptionError when a digit past the millisecond is not zero."""
    fraction = _FRACTION.search(text)
    if fraction is None:
        return text
    digits = fraction[1]
    if digits[3:].strip("0"):
        raise OptionError(what, _say(what, f"{value!r} is finer than a millisecond"))
    return f"{text[: fraction.start()]}.{digits[:3]:0<3}{text[fraction.end() :]}"


def _exact(instant: datetime, what: str, value: object) -> int:
    if instant.microsecond % 1000:
        raise OptionError(what, _say(what, f"{value!r} is finer than a millisecond"))
    return _millis(instant)
