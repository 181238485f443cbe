"""How sessions are ordered: the six sort keys, nulls last both ways, ties by id ascending.

Two ways to apply one order: :func:`order` sorts a whole list in stable passes
(fast for many sessions), :func:`insert` places one more session into an
ordered list by binary search (fast for a few changed sessions). Both follow
the same rule; tests check that they agree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from itertools import compress, repeat
from operator import attrgetter, is_, is_not
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
    number = _dotted(ip)
    return (4, number) if number is not None else _parsed(ip)


def _ip_number(ip: str) -> int | None:
    """:func:`ip_key` as one int in the same order (IPv6 above every IPv4): cheaper to sort."""
    number = _dotted(ip)
    if number is not None:
        return number
    key = _parsed(ip)
    if key is None:
        return None
    version, number = key
    return number if version == 4 else (1 << 32) + number


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED = re.compile(r"\.".join([_OCTET] * 4))


def _dotted(ip: str) -> int | None:
    """Plain dotted IPv4 text as its number; None for anything else."""
    found = _DOTTED.fullmatch(ip)
    if found is None:
        return None
    a, b, c, d = found.groups()
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


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
        return (lambda s: _ip_number(s.ip),)
    if sort_by is SortBy.LOCATION:
        return (lambda s: _folded(s.country), lambda s: _folded(s.city))
    if sort_by is SortBy.CLIENT_INFO:
        return (lambda s: s.client_info.casefold(),)
    return (lambda s: users[s.user_id].username.casefold(),)


def order(sessions: list[Session], parts: tuple[Part, ...], descending: bool) -> list[Session]:
    """A new list in the given order, by stable sorts from the least significant level up.

    Each level reads every session's value once into a list and sorts positions
    by it (a C-level key), present values first, missing ones after in the
    order so far; ``reverse=True`` keeps ties in that order too.
    """
    ids = list(map(_ID, sessions))
    positions = sorted(range(len(sessions)), key=ids.__getitem__)
    for part in reversed(parts):
        values = list(map(part, sessions))
        in_order = list(map(values.__getitem__, positions))
        kept = list(compress(positions, map(is_not, in_order, repeat(None))))
        missing = []
        if len(kept) < len(positions):
            missing = list(compress(positions, map(is_, in_order, repeat(None))))
        kept.sort(key=values.__getitem__, reverse=descending)
        positions = kept + missing
    return list(map(sessions.__getitem__, positions))


_ID = attrgetter("id")


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
