"""Reading an instant a user gives (an option, a flag, an ini line): epoch ms or ISO-8601."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["EARLIEST", "LATEST", "format_instant", "parse_instant"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(instant: datetime) -> int:
    return (instant - _EPOCH) // _MILLISECOND


#: The range an anchor may take: seeded data reaches years before it, tests move the clock after.
EARLIEST = _millis(datetime(1990, 1, 1, tzinfo=timezone.utc))
LATEST = _millis(datetime(9000, 1, 1, tzinfo=timezone.utc))


def format_instant(millis: int) -> str:
    """Epoch milliseconds as ``2025-01-01T09:30:00.000Z``."""
    instant = _EPOCH + millis * _MILLISECOND
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def parse_instant(value: object, what: str) -> int:
    """Epoch milliseconds of an int, a string of digits, an ISO-8601 text with a zone, a datetime.

    A datetime without a zone is taken as UTC; a text without one is refused
    (it is too easily meant as local time). Raises ValueError naming ``what``.
    """
    kind = f"{what} must be epoch milliseconds or an ISO-8601 instant like 2026-01-01T09:00:00Z"
    if isinstance(value, datetime):
        instant = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        millis = _exact(instant, what, value)
    elif isinstance(value, int) and not isinstance(value, bool):
        millis = value
    elif isinstance(value, str) and value.strip().isdigit():
        millis = int(value.strip())
    elif isinstance(value, str):
        text = value.strip()
        text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{kind}, not {value!r}") from None
        if instant.tzinfo is None:
            raise ValueError(f"{what} {value!r} has no time zone: end it with Z or +hh:mm")
        millis = _exact(instant, what, value)
    else:
        raise ValueError(f"{kind}, not {value!r}")
    if not EARLIEST <= millis <= LATEST:
        raise ValueError(
            f"{what} must be from {format_instant(EARLIEST)[:-5]}Z to "
            f"{format_instant(LATEST)[:-5]}Z, not {value!r}"
        )
    return millis


def _exact(instant: datetime, what: str, value: object) -> int:
    if instant.microsecond % 1000:
        raise ValueError(f"{what} {value!r} is finer than a millisecond")
    try:
        return _millis(instant)
    except OverflowError:  # pragma: no cover - datetimes near year 1 or 9999 with offsets
        raise ValueError(f"{what} {value!r} is out of range") from None
