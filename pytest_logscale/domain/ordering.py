"""How sessions are ordered: the six sort keys, nulls last both ways, ties by id ascending.

Two ways to apply one order: :func:`order` sorts a whole list in stable passes
(fast for many sessions), :func:`insert` places one more session into an
ordered list by binary search (fast for a few changed sessions). Both follow
the same rule; tests check that they agree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .records import Session, SortBy, User

__all__ = ["Part", "insert", "ip_key", "order", "parts_for"]

#: One level of a sort key: a session's value at that level, or None when missing.
Part = Callable[[Session], Any]


def ip_key(ip: str) -> tuple[int, int] | None:
    """An address as a number, IPv4 before IPv6; None for text that is no address.

    :func:`ipaddress.ip_address` decides; plain dotted IPv4 text (four decimal
    parts, no leading zeros, each at most 255) is read directly, since parsing
    a million addresses through ``ipaddress`` is most of a first sort by IP.
    """
    parts = ip.split(".")
    if len(parts) == 4 and all(_octet(part) for part in parts):
        a, b, c, d = (int(part) for part in parts)
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:
            return (4, (a << 24) | (b << 16) | (c << 8) | d)
    return _parsed(ip)


def _octet(part: str) -> bool:
    return (
        0 < len(part) <= 3 and part.isascii() and part.isdigit() and (part[0] != "0" or part == "0")
    )


@lru_cache(maxsize=65536)
def _parsed(ip: str) -> tuple[int, int] | None:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return (address.version, int(address))


def _folded(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def parts_for(sort_by: SortBy, users: Mapping[str, User]) -> tuple[Part, ...]:
    """The levels of the sort key, most significant first."""
    if sort_by is SortBy.LAST_ACTIVITY_TIME:
        return (lambda s: s.last_activity_at,)
    if sort_by is SortBy.LOGIN_TIME:
        return (lambda s: s.created_at,)
    if sort_by is SortBy.IP_ADDRESS:
        return (lambda s: ip_key(s.ip),)
    if sort_by is SortBy.LOCATION:
        return (lambda s: _folded(s.country), lambda s: _folded(s.city))
    if sort_by is SortBy.CLIENT_INFO:
        return (lambda s: s.client_info.casefold(),)
    return (lambda s: users[s.user_id].username.casefold(),)


def order(sessions: list[Session], parts: tuple[Part, ...], descending: bool) -> list[Session]:
    """A new list in the given order, by stable sorts from the least significant level up."""
    result = sorted(sessions, key=lambda s: s.id)
    for part in reversed(parts):
        # each session's value is read once (a parsed IP address at a million sessions counts)
        if descending:
            # Under reverse=True present values (True) come first, largest first; stability
            # keeps the id order inside ties, as Python's reverse sort is stable.
            result.sort(key=lambda s, p=part: ((v := p(s)) is not None, v), reverse=True)  # type: ignore[misc]
        else:
            result.sort(key=lambda s, p=part: ((v := p(s)) is None, v))  # type: ignore[misc]
    return result


def _precedes(a: Session, b: Session, parts: tuple[Part, ...], descending: bool) -> bool:
    for part in parts:
        va, vb = part(a), part(b)
        if va == vb:
            continue
        if va is None:
            return False
        if vb is None:
            return True
        return bool(va > vb) if descending else bool(va < vb)
    return a.id < b.id


def insert(
    ordered: list[Session], session: Session, parts: tuple[Part, ...], descending: bool
) -> None:
    """Put ``session`` into ``ordered`` (already in this order) where it belongs."""
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if _precedes(session, ordered[mid], parts, descending):
            hi = mid
        else:
            lo = mid + 1
    ordered.insert(lo, session)
