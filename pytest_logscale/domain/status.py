"""Whether a session is active: the one rule, and the status that says why not.

A session is active while it is not ended, was used within its organization's
``maxInactivityPeriod`` and was opened within its ``forceReauthenticationAfter``.
A missing time passes its limit. :func:`_deadlines` states the two limits once;
:func:`status_at` and :func:`active_until` both read them, and every filter
(the store's per-session matcher, the dataset's columns) calls one of the two.
"""

from __future__ import annotations

import enum

from .records import Ending, Session, SessionSettings

__all__ = ["SessionStatus", "active_until", "status_at"]

_INFINITY = float("inf")


class SessionStatus(str, enum.Enum):
    """A session's status at an instant: active, or why it is not."""

    ACTIVE = "active"
    LOGGED_OUT = "logged_out"
    REVOKED = "revoked"
    INACTIVE = "inactive"
    REAUTHENTICATION_DUE = "reauthentication_due"


_ENDED = {Ending.LOGGED_OUT: SessionStatus.LOGGED_OUT, Ending.REVOKED: SessionStatus.REVOKED}


def _deadlines(session: Session, settings: SessionSettings) -> tuple[float, float]:
    """The last active instant under each limit: inactivity first, then reauthentication."""
    last, created = session.last_activity_at, session.created_at
    return (
        _INFINITY if last is None else last + settings.max_inactivity_period,
        _INFINITY if created is None else created + settings.force_reauthentication_after,
    )


def status_at(session: Session, now: int, settings: SessionSettings) -> SessionStatus:
    """The session's status at ``now`` (epoch ms) under these limits."""
    if session.ended is not None:
        return _ENDED[session.ended]
    idle, reauthentication = _deadlines(session, settings)
    if now > idle:
        return SessionStatus.INACTIVE
    if now > reauthentication:
        return SessionStatus.REAUTHENTICATION_DUE
    return SessionStatus.ACTIVE


def active_until(session: Session, settings: SessionSettings) -> float:
    """The last instant the session is active under these limits.

    Infinity when no limit applies (both times missing), minus infinity for an
    ended session. ``active_until(s, settings) >= now`` is the same as
    ``status_at(s, now, settings) is SessionStatus.ACTIVE``.
    """
    if session.ended is not None:
        return -_INFINITY
    idle, reauthentication = _deadlines(session, settings)
    return idle if idle < reauthentication else reauthentication
