"""Seeded sessions built without the frozen dataclass's per-field ``object.__setattr__``.

``Session(...)`` sets its eleven fields through ``object.__setattr__`` (frozen), about
1 µs a session: a sixth of seeding at a million. A :class:`SessionDraft` has the same
slots and no ``__setattr__`` of its own, so the seeding loop fills it with plain
attribute stores (the interpreter's fastest) and then assigns ``Session`` as its
class: it *is* then the session ``Session(...)`` would have made, since Session's
``__init__`` only stores its arguments (no ``__post_init__``: tests/test_seeding.py
holds both ways equal). Python refuses the class assignment should the two classes'
slots ever differ.
"""

from __future__ import annotations

from ..domain.records import Ending, Session

__all__ = ["SessionDraft"]


class SessionDraft:
    """A :class:`~pytest_logscale.domain.records.Session` being filled in (same slots)."""

    __slots__ = Session.__slots__

    id: str
    user_id: str
    organization_id: str
    token: str
    client_info: str
    ip: str
    city: str | None
    country: str | None
    created_at: int | None
    last_activity_at: int | None
    ended: Ending | None
