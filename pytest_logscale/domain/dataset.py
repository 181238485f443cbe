"""A frozen snapshot of organizations, users and sessions, with the indexes queries need.

The store never changes a dataset: it lays its changes over one, so going back
to the seeded state is dropping the changes. Orders are computed on
first use and kept, since the snapshot never changes under them; so are the
columns filters read (see :class:`Columns`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import repeat
from operator import attrgetter, contains, ge, or_
from typing import TypeVar

from . import ordering
from .bulk import bulk
from .ids import token_digest, token_digests
from .masks import Mask
from .records import Credential, Organization, Session, SessionSettings, SortBy, User
from .status import active_until

__all__ = ["Columns", "Dataset", "SearchColumns", "containing", "same_search_text", "search_text"]


#: The fields searchFilter looks in, user's first, in the order :func:`search_text` joins them.
_USER_FIELDS = ("username", "display_name", "email")
_SESSION_FIELDS = ("ip", "client_info", "city", "country")


def search_text(session: Session, user: User) -> str:
    """The folded text searchFilter looks in: user name, display name, e-mail, IP, client, place.

    The fields that are set, joined by newlines, case-folded.
    """
    fields = [getattr(user, name) for name in _USER_FIELDS]
    fields += [getattr(session, name) for name in _SESSION_FIELDS]
    return "\n".join(field for field in fields if field).casefold()


def same_search_text(session: Session, other: Session) -> bool:
    """Whether two sessions of one user have the same :func:`search_text`."""
    return _SEARCHED(session) == _SEARCHED(other)


_SEARCHED = attrgetter(*_SESSION_FIELDS)


def containing(sessions: list[Session], users: Mapping[str, User], needle: str) -> list[bool]:
    """``needle in search_text(session, its user)`` for each session (``needle`` folded)."""
    return SearchColumns(sessions, users).containing(needle)


class SearchColumns:
    """What searchFilter reads of each session, laid out once for many searches.

    Case folding goes code point by code point and :func:`search_text` joins
    fields with newlines, so a needle without a newline is in the text exactly
    when it is in one field's folded text. A field with few distinct values (a
    user's fields, the client, the place) is searched once per distinct value
    and looked up per session; a field with many (the address) is kept folded
    and searched per session at C speed. No text per session is built; a
    needle with a newline reads the texts.
    """

    __slots__ = ("_few", "_many", "_sessions", "_user_ids", "_users")

    def __init__(self, sessions: list[Session], users: Mapping[str, User]) -> None:
        self._sessions = sessions
        self._users = users
        self._user_ids = list(map(_USER, sessions))
        self._few: list[tuple[list[str | None], set[str | None]]] = []
        self._many: list[list[str]] = []
        for name in _SESSION_FIELDS:
            column: list[str | None] = list(map(attrgetter(name), sessions))
            distinct = set(column)
            if len(distinct) * 4 <= len(column):
                self._few.append((column, distinct))
            else:
                self._many.append([_folded(value) for value in column])

    def containing(self, needle: str) -> list[bool]:
        """Whether each session's search text contains ``needle`` (already folded)."""
        users = self._users
        if not needle or "\n" in needle:
            return [needle in search_text(s, users[s.user_id]) for s in self._sessions]
        found: set[str | None] = set()
        for user_id in set(self._user_ids):
            user = users[user_id]
            if any(_holds(getattr(user, name), needle) for name in _USER_FIELDS):
                found.add(user_id)
        matches = list(map(found.__contains__, self._user_ids))
        for column, distinct in self._few:
            found = {value for value in distinct if _holds(value, needle)}
            if found:
                matches = list(map(or_, matches, map(found.__contains__, column)))
        for folded in self._many:
            matches = list(map(or_, matches, map(contains, folded, repeat(needle))))
        return matches


def _holds(field: str | None, needle: str) -> bool:
    return field is not None and needle in field.casefold()


def _folded(value: str | None) -> str:
    if not value:
        return ""
    folded = value.casefold()
    return value if folded == value else folded


class Columns:
    """Seeded sessions in one order and, index for index, what the filters read of each.

    The seeded data never changes, so a filter's answer for every session (a mask, see
    :mod:`~pytest_logscale.domain.masks`) depends only on its own inputs: the search text,
    or the clock and the organization's limits. The last few are kept, and a query in a
    frozen clock pays for each filter once. Whether a session is active is
    :func:`~pytest_logscale.domain.status.active_until`'s answer, kept per limits; this
    class only keeps it. What a search reads (:class:`SearchColumns`) and positions are
    laid out on first use.
    """

    __slots__ = (
        "_active",
        "_containing",
        "_deadlines",
        "_positions",
        "_search",
        "_users",
        "sessions",
    )

    def __init__(self, sessions: list[Session], users: Mapping[str, User]) -> None:
        self.sessions = sessions
        self._users = users
        self._positions: dict[str, int] | None = None
        self._search: SearchColumns | None = None
        self._deadlines: dict[SessionSettings, list[float]] = {}
        self._active: dict[tuple[int, SessionSettings], Mask] = {}
        self._containing: dict[str, Mask] = {}

    @property
    def positions(self) -> dict[str, int]:
        """Each session's index in :attr:`sessions`, by id."""
        found = self._positions
        if found is None:
            with bulk():
                ids = map(_ID, self.sessions)
                found = self._positions = dict(zip(ids, range(len(self.sessions)), strict=True))
        return found

    def active(self, now: int, settings: SessionSettings) -> Mask:
        """Which sessions are active at ``now`` under these limits.

        Each session's last active instant is kept per limits, so a moved
        clock costs one comparison per session.
        """
        key = (now, settings)
        found = self._active.get(key)
        if found is None:
            deadlines = self._deadlines.get(settings)
            if deadlines is None:
                with bulk():
                    deadlines = list(map(active_until, self.sessions, repeat(settings)))
                _keep(self._deadlines, settings, deadlines, 4)
            found = bytes(map(ge, deadlines, repeat(now)))
            _keep(self._active, key, found, 4)
        return found

    def containing(self, needle: str) -> Mask:
        """Which sessions' search texts contain ``needle`` (already folded)."""
        found = self._containing.get(needle)
        if found is None:
            with bulk():
                search = self._search
                if search is None:
                    search = self._search = SearchColumns(self.sessions, self._users)
                found = bytes(search.containing(needle))
            _keep(self._containing, needle, found, 16)
        return found


_K = TypeVar("_K")
_V = TypeVar("_V")


def _keep(kept: dict[_K, _V], key: _K, value: _V, most: int) -> None:
    if len(kept) >= most:
        kept.clear()
    kept[key] = value


def _by_id(sessions: list[Session]) -> dict[str, Session]:
    """Sessions by id; ValueError naming an id used twice."""
    ids = list(map(_ID, sessions))
    found = dict(zip(ids, sessions, strict=True))
    if len(found) != len(sessions):
        raise ValueError(f"session id {_repeated(ids)} is used twice")
    return found


def _by_token(sessions: list[Session]) -> dict[bytes, Credential | Session]:
    """Sessions by their token's digest; ValueError naming a session that reuses a token."""
    digests = token_digests(map(_TOKEN, sessions))
    found: dict[bytes, Credential | Session] = dict(zip(digests, sessions, strict=True))
    if len(found) != len(sessions):
        again = _repeated(digests)
        session = next(
            s for s, d in zip(reversed(sessions), reversed(digests), strict=True) if d == again
        )
        raise ValueError(f"session {session.id} reuses a token")
    return found


def _check_owners(sessions: list[Session], users: Mapping[str, User]) -> None:
    """ValueError naming a session whose user is unknown or of another organization."""
    user_ids = list(map(_USER, sessions))
    distinct = set(user_ids)
    known = {user_id: users[user_id].organization_id for user_id in distinct if user_id in users}
    if len(known) == len(distinct):
        owners = list(map(known.__getitem__, user_ids))
        if owners == list(map(_ORGANIZATION, sessions)):
            return
    for session in sessions:
        if known.get(session.user_id) != session.organization_id:
            raise ValueError(f"session {session.id} names unknown user {session.user_id}")


def _repeated(values: list[_K]) -> _K:
    seen: set[_K] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    raise AssertionError("no value repeats")


_ID = attrgetter("id")
_TOKEN = attrgetter("token")
_USER = attrgetter("user_id")
_ORGANIZATION = attrgetter("organization_id")


class Dataset:
    """Organizations, users and sessions as seeded or loaded, indexed for queries.

    ``start_ms`` is the instant the clock starts at for this data; ``seed`` the
    number new ids and tokens derive from, and ``instance`` the server's number
    among those with the same data, which new tokens derive from too.
    """

    def __init__(
        self,
        organizations: Iterable[Organization],
        users: Iterable[User],
        sessions: Iterable[Session],
        *,
        start_ms: int,
        seed: int,
        instance: int = 0,
        api_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.start_ms = start_ms
        self.seed = seed
        self.instance = instance
        self.organizations: dict[str, Organization] = {o.id: o for o in organizations}
        self.users: dict[str, User] = {}
        self.org_users: dict[str, list[User]] = {org_id: [] for org_id in self.organizations}
        for user in users:
            if user.organization_id not in self.organizations:
                raise ValueError(
                    f"user {user.id} names unknown organization {user.organization_id}"
                )
            if user.id in self.users:
                raise ValueError(f"user id {user.id} is used twice")
            self.users[user.id] = user
            self.org_users[user.organization_id].append(user)
        every = list(sessions)
        self.sessions: dict[str, Session] = _by_id(every)
        self.user_sessions: dict[str, list[Session]] = {user_id: [] for user_id in self.users}
        self.org_sessions: dict[str, list[Session]] = {org_id: [] for org_id in self.organizations}
        _check_owners(every, self.users)
        by_user = self.user_sessions
        for session in every:
            by_user[session.user_id].append(session)
        if len(self.organizations) == 1:
            self.org_sessions[next(iter(self.organizations))] = every
        else:
            for session in every:
                self.org_sessions[session.organization_id].append(session)
        #: What each token's digest stands for: a session (its token) or a personal API
        #: token's :class:`Credential`; read it through :meth:`credential`.
        self.credentials: dict[bytes, Credential | Session] = _by_token(every)
        for token, user_id in (api_tokens or {}).items():
            if user_id not in self.users:
                raise ValueError(f"an API token names unknown user {user_id}")
            digest = token_digest(token)
            if digest in self.credentials:
                raise ValueError("an API token is used twice")
            self.credentials[digest] = Credential(user_id)
        self.api_tokens: dict[str, str] = dict(api_tokens or {})
        self._lock = threading.Lock()
        self._orders: dict[tuple[str, SortBy, bool], list[Session]] = {}
        self._columns: dict[tuple[str, SortBy, bool], Columns] = {}

    def credential(self, digest: bytes) -> Credential | None:
        """What the token with this digest stands for, None when it is no token of this data."""
        found = self.credentials.get(digest)
        if isinstance(found, Session):
            return Credential(found.user_id, found.id)
        return found

    def token_kind(self, kind: str) -> str:
        """The kind new tokens of this dataset derive from: one per instance."""
        return kind if self.instance == 0 else f"{kind}#{self.instance}"

    def ordered(self, organization_id: str, sort_by: SortBy, descending: bool) -> list[Session]:
        """All sessions of an organization in this order (do not change the list)."""
        key = (organization_id, sort_by, descending)
        found = self._orders.get(key)
        if found is None:
            parts = ordering.parts_for(sort_by, self.users)
            with bulk():
                found = ordering.order(self.org_sessions[organization_id], parts, descending)
            with self._lock:
                found = self._orders.setdefault(key, found)
        return found

    def columns(self, organization_id: str, sort_by: SortBy, descending: bool) -> Columns:
        """:meth:`ordered`, with what filters read laid out beside it (kept once built)."""
        key = (organization_id, sort_by, descending)
        found = self._columns.get(key)
        if found is None:
            ordered = self.ordered(organization_id, sort_by, descending)
            found = Columns(ordered, self.users)
            # the limits as seeded and the clock's start: what most queries will ask for
            found.active(self.start_ms, self.organizations[organization_id].settings)
            with self._lock:
                found = self._columns.setdefault(key, found)
        return found
