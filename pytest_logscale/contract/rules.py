"""The rules the checks hold answers to, written from docs/behaviour.md, not from the fake's code.

Everything here works on sessions as a client sees them: the JSON objects of
``sessions { results { ... } }``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

__all__ = [
    "SEARCHED_FIELDS",
    "SORT_KEYS",
    "duplicates",
    "first_out_of_order",
    "matches_search",
    "sort_key",
]

Result = dict[str, Any]
Part = Callable[[Result], Any]


def _ip_number(text: str | None) -> tuple[int, int] | None:
    # the address as a number, IPv4 (version 4) before IPv6 (version 6)
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    return (address.version, int(address))


def _folded(text: str | None) -> str | None:
    return None if text is None else text.casefold()


#: Each sortBy value and the levels of its key, most significant first.
SORT_KEYS: dict[str, tuple[Part, ...]] = {
    "LastActivityTime": (lambda r: r["lastActivityAt"],),
    "LoginTime": (lambda r: r["createdAt"],),
    "IPAddress": (lambda r: _ip_number(r["ip"]),),
    "Location": (lambda r: _folded(r["country"]), lambda r: _folded(r["city"])),
    "ClientInfo": (lambda r: _folded(r["clientInfo"]),),
    "User": (lambda r: _folded(r["user"]["username"]),),
}


def sort_key(sort_by: str, result: Result) -> list[Any]:
    """The key values of one result, for failure messages."""
    return [part(result) for part in SORT_KEYS[sort_by]]


def _compare(a: Result, b: Result, parts: Sequence[Part], descending: bool) -> int:
    """Negative when ``a`` must come first: per level nulls last, then by id ascending."""
    for part in parts:
        va, vb = part(a), part(b)
        if va == vb:
            continue
        if va is None:
            return 1
        if vb is None:
            return -1
        before = va > vb if descending else va < vb
        return -1 if before else 1
    return -1 if a["id"] < b["id"] else (1 if a["id"] > b["id"] else 0)


def first_out_of_order(
    results: Sequence[Result], sort_by: str, order_by: str, *, ties_by_id: bool = True
) -> str | None:
    """A description of the first neighbouring pair in the wrong order, or None if all is well.

    With ``ties_by_id`` false, equal keys may come in any order.
    """
    parts = SORT_KEYS[sort_by]
    descending = order_by == "DESC"
    for index, (a, b) in enumerate(pairwise(results)):
        if not ties_by_id and all(part(a) == part(b) for part in parts):
            continue
        if _compare(a, b, parts, descending) > 0:
            return (
                f"sortBy {sort_by} orderBy {order_by}: result {index} "
                f"(id {a['id']}, key {sort_key(sort_by, a)}) comes before result {index + 1} "
                f"(id {b['id']}, key {sort_key(sort_by, b)})"
            )
    return None


def duplicates(results: Iterable[Result]) -> list[str]:
    """The ids that occur more than once, each once."""
    seen: set[str] = set()
    repeated: list[str] = []
    for result in results:
        if result["id"] in seen and result["id"] not in repeated:
            repeated.append(result["id"])
        seen.add(result["id"])
    return repeated


#: Where searchFilter looks: the user's username, displayName and email, and
#: the session's ip, clientInfo, city and country.
SEARCHED_FIELDS: tuple[tuple[str, ...], ...] = (
    ("user", "username"),
    ("user", "displayName"),
    ("user", "email"),
    ("ip",),
    ("clientInfo",),
    ("city",),
    ("country",),
)


def _field(result: Result, path: tuple[str, ...]) -> Any:
    value: Any = result
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def matches_search(result: Result, needle: str) -> bool:
    """Whether the needle occurs, ignoring case, in one of the searched fields."""
    folded = needle.strip().casefold()
    return any(
        isinstance(value, str) and folded in value.casefold()
        for value in (_field(result, path) for path in SEARCHED_FIELDS)
    )
