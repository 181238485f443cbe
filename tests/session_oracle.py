"""The sessions() rules of semantics.md written out plainly, to check the fake against.

Deliberately independent of ``pytest_logscale.domain.ordering``: one comparison
function, straight from the rule text, instead of the fake's stable passes
and binary insertion.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_logscale.domain.records import Session, SessionSettings

SORT_KEYS = ("LastActivityTime", "LoginTime", "IPAddress", "Location", "ClientInfo", "User")
ORDERS = ("ASC", "DESC")


def _fold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def sort_key(sort_by: str, session: Session, usernames: Mapping[str, str]) -> tuple[Any, ...]:
    """The levels of the key semantics.md names for ``sort_by``; None means missing."""
    if sort_by == "LastActivityTime":
        return (session.last_activity_at,)
    if sort_by == "LoginTime":
        return (session.created_at,)
    if sort_by == "IPAddress":
        address = ipaddress.ip_address(session.ip)
        return ((address.version, int(address)),)
    if sort_by == "Location":
        return (_fold(session.country), _fold(session.city))
    if sort_by == "ClientInfo":
        return (session.client_info.casefold(),)
    if sort_by == "User":
        return (usernames[session.user_id].casefold(),)
    raise ValueError(sort_by)


def expected_order(
    sessions: Iterable[Session], sort_by: str, order: str, usernames: Mapping[str, str]
) -> list[str]:
    """Session ids in the order the rules give: nulls last both ways, ties by id ascending."""
    descending = order == "DESC"

    def compare(a: Session, b: Session) -> int:
        for x, y in zip(
            sort_key(sort_by, a, usernames), sort_key(sort_by, b, usernames), strict=True
        ):
            if x == y:
                continue
            if x is None:
                return 1
            if y is None:
                return -1
            before = x > y if descending else x < y
            return -1 if before else 1
        return (a.id > b.id) - (a.id < b.id)

    return [s.id for s in sorted(sessions, key=functools.cmp_to_key(compare))]


def is_active(session: Session, now_ms: int, settings: SessionSettings) -> bool:
    """Not ended, used within maxInactivityPeriod and opened within forceReauthenticationAfter."""
    if session.ended is not None:
        return False
    if (
        session.last_activity_at is not None
        and now_ms - session.last_activity_at > settings.max_inactivity_period
    ):
        return False
    return not (
        session.created_at is not None
        and now_ms - session.created_at > settings.force_reauthentication_after
    )
