"""How sessions are ordered: the six sort keys, nulls last both ways, ties by id ascending.

Two ways to apply one order: :func:`order` sorts a whole list in stable passes
(fast for many sessions), and a binary search finds where one session goes in
an ordered list (fast for a few changed sessions). Both follow the same rule;
tests check that they agree. :func:`places` says where sessions would go in an
ordered list without changing it, by either way; :func:`seats` where sessions
already in it are; and :func:`key_fields` names the fields a key reads (a
session that changed none of them keeps its place).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import compress, repeat
from operator import attrgetter, is_, is_not
from typing import Any

from .records import Session, SortBy, User

__all__ = [
    "Part",
    "bisections_pay",
    "ip_key",
    "key_fields",
    "order",
    "parts_for",
    "places",
    "seats",
]

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


#: The session fields each key reads (beside the id that breaks ties): see :func:`parts_for`.
_KEY_FIELDS = {
    SortBy.LAST_ACTIVITY_TIME: ("last_activity_at",),
    SortBy.LOGIN_TIME: ("created_at",),
    SortBy.IP_ADDRESS: ("ip",),
    SortBy.LOCATION: ("country", "city"),
    SortBy.CLIENT_INFO: ("client_info",),
    SortBy.USER: ("user_id",),
}


def key_fields(sort_by: SortBy) -> tuple[str, ...]:
    """The fields of a session :func:`parts_for` reads for this key: sessions equal in
    them and in their id are in the same place."""
    return _KEY_FIELDS[sort_by]


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


def _before(
    values: list[Any], session_id: str, b: Session, parts: tuple[Part, ...], descending: bool
) -> bool:
    """Whether a session with these key values and id precedes ``b``."""
    for va, part in zip(values, parts, strict=True):
        vb = part(b)
        if va == vb:
            continue
        if va is None:
            return False
        if vb is None:
            return True
        return bool(va > vb) if descending else bool(va < vb)
    return session_id < b.id


def _place(
    ordered: Sequence[Session], session: Session, parts: tuple[Part, ...], descending: bool
) -> int:
    """How many of ``ordered`` (already in this order) come before ``session``, by bisection."""
    values = [part(session) for part in parts]
    session_id = session.id
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if _before(values, session_id, ordered[mid], parts, descending):
            hi = mid
        else:
            lo = mid + 1
    return lo


def bisections_pay(count: int, size: int) -> bool:
    """Whether ``count`` bisections into ``size`` ordered sessions cost less than one
    :func:`order` of them all (measured at 100,000 sessions: one sort costs about as
    much as ``size / 8`` bisections, whichever the key)."""
    return count * max(1, size.bit_length()) <= 2 * size


def seats(
    ordered: Sequence[Session],
    sessions: Sequence[Session],
    parts: tuple[Part, ...],
    descending: bool,
) -> list[int]:
    """The index in ``ordered`` (already in this order) of each of ``sessions``, which are in
    it, by bisection: for a few (see :func:`bisections_pay`); many read an index by id."""
    return [_place(ordered, s, parts, descending) - 1 for s in sessions]


def places(
    ordered: Sequence[Session],
    sessions: Sequence[Session],
    parts: tuple[Part, ...],
    descending: bool,
) -> list[int]:
    """For each of ``sessions``, how many of ``ordered`` (already in this order) precede it.

    A few are placed by bisection; many by one :func:`order` of both lists together, which
    costs about a sort of ``ordered`` but beats as many bisections. ``sessions`` must be
    other objects than those in ``ordered`` (a session as changed is a new record).
    """
    if bisections_pay(len(sessions), len(ordered) + len(sessions)):
        return [_place(ordered, s, parts, descending) for s in sessions]
    wanted = {id(s): i for i, s in enumerate(sessions)}
    found = [0] * len(sessions)
    before = 0
    for session in order([*ordered, *sessions], parts, descending):
        index = wanted.get(id(session))
        if index is None:
            before += 1
        else:
            found[index] = before
    return found
