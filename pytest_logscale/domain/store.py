"""The fake LogScale's state and every rule of session management. No HTTP, GraphQL or Faker.

The seeded :class:`~pytest_logscale.dataset.Dataset` is never changed: the
store keeps its changes (touched, ended or new sessions, new tokens, new
settings) beside it, so :meth:`Store.reset` costs the same however large the
data is. A query lays the changes over the dataset's ordered columns (see
:class:`_Overlay`): a few changes cost a query about what they cost to lay
over, never a copy of every match. Every public method takes the store's lock,
so server threads and the test thread can share one store.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import compress, groupby, repeat
from operator import attrgetter, ge, is_not, itemgetter, not_

from . import masks, ordering
from .bulk import bulk
from .checks import check_bound
from .clock import Clock
from .dataset import Columns, Dataset, same_search_text, search_text
from .errors import InvalidArgument, NotFound, PermissionDenied, StateReset, Unauthenticated
from .ids import derived_id, token_digest
from .records import (
    CHANGE_SESSIONS,
    VIEW_SESSION_SETTINGS,
    Credential,
    Ending,
    Level,
    Order,
    Organization,
    RevocationType,
    Role,
    Session,
    SessionSettings,
    SortBy,
    User,
)
from .status import SessionStatus, active_until, status_at

__all__ = ["Caller", "Changes", "SessionPage", "SessionQuery", "Store"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request: the user, the session when a session token was used, and the
    state generation the request began in (its changes apply to that generation only)."""

    user: User
    session_id: str | None = None
    generation: int = 0

    @property
    def organization_id(self) -> str:
        """The caller's organization."""
        return self.user.organization_id


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionQuery:
    """The arguments of ``sessions()``, every one given.

    Their defaults live in one place, the served schema; ``graphql.resolvers.default_session_query``
    builds a query from them. ``search_filter`` None means no filter.
    """

    search_filter: str | None = None
    level: Level
    sort_by: SortBy
    order: Order
    skip: int
    limit: int
    only_active: bool


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of matching sessions and how many matched before paging."""

    total: int
    sessions: list[Session]


@dataclass(frozen=True, slots=True)
class Changes:
    """The changes a store holds over its dataset, as plain records (what a state file keeps).

    ``sessions``: seeded sessions as they are now and sessions opened since, in
    the order they were first changed or opened; ``api_tokens``: personal API
    tokens made since, token to user id; ``settings``: new session limits by
    organization id; ``serial``: how many ids and tokens were derived so far;
    ``now_ms``: the clock.
    """

    sessions: tuple[Session, ...] = ()
    api_tokens: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, SessionSettings] = field(default_factory=dict)
    serial: int = 0
    now_ms: int = 0


#: An organization, a sort key and whether descending: one of the dataset's orders.
_OrderKey = tuple[str, SortBy, bool]


class _Overlay:
    """An organization's changed and new sessions laid over its seeded ones in one order.

    ``seats``, ``now``, ``same``: the seeded sessions that changed, by their index in
    the seeded order, ascending; each as it is now, or None when it moved (a field of
    the sort key changed: it is left out at its seeded place and merged in at its new
    one), and whether its search text is the seeded one's. ``places``, ``moved``: new
    sessions and moved ones in the order, each with how many seeded sessions precede
    it; ``where``: those places by id. ``version``: the :attr:`_Changes.version` laid out.
    """

    __slots__ = ("moved", "now", "places", "same", "seats", "version", "where")

    def __init__(self) -> None:
        self.version = 0
        self.seats: list[int] = []
        self.now: list[Session | None] = []
        self.same: list[bool] = []
        self.places: list[int] = []
        self.moved: list[Session] = []
        self.where: dict[str, int] = {}


@dataclass(slots=True)
class _Changes:
    """Everything that happened since the dataset was seeded or loaded.

    ``log`` holds the id of every change of a session in turn, the last
    :data:`_LOG_MOST` at most (``logged`` were dropped before them); ``overlays``,
    ``places``, ``seats`` and ``texts`` are what queries laid out from the changes
    (see :class:`_Overlay`), dropped with them.
    """

    sessions: dict[str, Session] = field(default_factory=dict)
    new_by_user: dict[str, list[str]] = field(default_factory=dict)
    #: How many sessions ``new_by_user`` holds (kept by :meth:`opened_by`, not summed per login).
    opened: int = 0
    credentials: dict[bytes, Credential] = field(default_factory=dict)
    api_tokens: dict[str, str] = field(default_factory=dict)
    settings: dict[str, SessionSettings] = field(default_factory=dict)
    serial: int = 0
    log: list[str] = field(default_factory=list)
    logged: int = 0
    overlays: dict[_OrderKey, _Overlay] = field(default_factory=dict)
    #: Per order, where sessions out of their seeded place go: by id, the values of
    #: the key's fields the place was found for, and how many seeded sessions precede it.
    places: dict[_OrderKey, dict[str, tuple[object, int]]] = field(default_factory=dict)
    #: Per order, the index of changed seeded sessions in the seeded order, by id.
    seats: dict[_OrderKey, dict[str, int]] = field(default_factory=dict)
    #: The search text of changed and new sessions, by id, with the session it is of.
    texts: dict[str, tuple[Session, str]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        """How many changes of sessions were recorded with :meth:`put`."""
        return self.logged + len(self.log)

    def put(self, session: Session) -> None:
        """Record a session as it is now."""
        self.sessions[session.id] = session
        if len(self.log) >= _LOG_MOST:
            self.logged += len(self.log)
            self.log.clear()
        self.log.append(session.id)

    def opened_by(self, user_id: str, session_id: str) -> None:
        """Note a session opened after seeding (a login, or a loaded state's new one)."""
        self.new_by_user.setdefault(user_id, []).append(session_id)
        self.opened += 1

    def since(self, version: int) -> list[str] | None:
        """The ids changed since ``version``, in turn; None when they are no longer logged."""
        if version < self.logged:
            return None
        return self.log[version - self.logged :]


class _Fenced:
    """:meth:`Store.fenced`'s block: a plain context manager, as a request takes two of them
    (a generator-based one cost 2.3 µs a block, this one 0.6)."""

    __slots__ = ("_generation", "_store")

    def __init__(self, store: Store, generation: int) -> None:
        self._store, self._generation = store, generation

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        try:
            store._fence(self._generation)
        except BaseException:
            store._lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        self._store._lock.release()


class Store:
    """Organizations, users, sessions and tokens, with LogScale's session rules.

    Reads return frozen records; use the methods to change anything.

    ``max_sessions`` bounds the sessions held, seeded and opened by :meth:`login`
    together, and ``max_api_tokens`` the API tokens made by :meth:`create_api_token`
    (None: no bound; both settable). Past either, the call raises
    :class:`~pytest_logscale.BoundError` and changes nothing; a reset frees the
    budget. A state imported with :meth:`import_changes` meets them too.
    """

    def __init__(
        self,
        dataset: Dataset,
        clock: Clock | None = None,
        *,
        max_sessions: int | None = None,
        max_api_tokens: int | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._base = dataset
        self.clock = clock if clock is not None else Clock(dataset.start_ms)
        self._changes = _Changes()
        self._generation = 0  # moves on when the state is replaced as a whole
        self.max_sessions = max_sessions
        self.max_api_tokens = max_api_tokens

    @property
    def generation(self) -> int:
        """Which state this is: it moves on at every reset, replace and import of changes.

        A request remembers the generation it began in; once it moved on, the
        request changes nothing (:class:`~pytest_logscale.domain.errors.StateReset`).
        """
        return self._generation

    def _fence(self, generation: int) -> None:
        """Raise StateReset when ``generation`` is over; call it holding the lock."""
        if generation != self._generation:
            raise StateReset()

    def fenced(self, generation: int) -> _Fenced:
        """Hold the lock, if ``generation`` is still the current one; else raise StateReset.

        What a request does beside the store (its journal entry, a fault it uses)
        goes in such a block, so it lands in the generation the request began in
        or nowhere.
        """
        return _Fenced(self, generation)

    # -- state as a whole -----------------------------------------------------

    @property
    def dataset(self) -> Dataset:
        """The seeded or loaded data this store started from."""
        return self._base

    def reset(self) -> None:
        """Forget every change and put the clock back: the state is as seeded again."""
        with self._lock:
            self._changes = _Changes()
            self._generation += 1
            self.clock.reset()

    def replace(self, dataset: Dataset) -> None:
        """Start over from other data, with the clock at that data's start instant."""
        with self._lock:
            self._base = dataset
            self._changes = _Changes()
            self._generation += 1
            self.clock.restart(dataset.start_ms)

    def export_changes(self) -> Changes:
        """Everything changed since seeding, and the clock, read as one consistent state."""
        with self._lock:
            changes = self._changes
            return Changes(
                sessions=tuple(changes.sessions.values()),
                api_tokens=dict(changes.api_tokens),
                settings=dict(changes.settings),
                serial=changes.serial,
                now_ms=self.clock.now_ms(),
            )

    def import_changes(self, dataset: Dataset, changes: Changes) -> None:
        """Start over from ``dataset`` with ``changes`` on top and the clock at their instant.

        Raises ValueError, changing nothing, when the changes do not fit the
        dataset: unknown users or organizations, a changed seeded session that
        moved to another user or token, an id or a token used twice, a
        serial lower than the ids handed out, or (a :class:`BoundError`) more
        sessions or API tokens than ``max_sessions`` or ``max_api_tokens``.
        """
        overlay = _Changes()
        for session in changes.sessions:
            if session.id in overlay.sessions:
                raise ValueError(f"session {session.id} appears twice")
            seeded = dataset.sessions.get(session.id)
            if seeded is not None:
                if (seeded.user_id, seeded.organization_id, seeded.token) != (
                    session.user_id,
                    session.organization_id,
                    session.token,
                ):
                    raise ValueError(f"seeded session {session.id} cannot change user or token")
            else:
                user = dataset.users.get(session.user_id)
                if user is None or user.organization_id != session.organization_id:
                    raise ValueError(f"session {session.id} names unknown user {session.user_id}")
                self._add_credential(
                    dataset, overlay, session.token, Credential(user.id, session.id)
                )
                overlay.opened_by(user.id, session.id)
            overlay.sessions[session.id] = session
        for token, user_id in changes.api_tokens.items():
            if user_id not in dataset.users:
                raise ValueError(f"an API token names unknown user {user_id}")
            self._add_credential(dataset, overlay, token, Credential(user_id))
            overlay.api_tokens[token] = user_id
        for organization_id, settings in changes.settings.items():
            if organization_id not in dataset.organizations:
                raise ValueError(f"settings name unknown organization {organization_id}")
            overlay.settings[organization_id] = settings
        self._check_bounds(len(dataset.sessions) + overlay.opened, len(overlay.api_tokens))
        handed_out = overlay.opened + len(overlay.api_tokens)
        if changes.serial < handed_out:
            raise ValueError(
                f"serial {changes.serial} is lower than the {handed_out} sessions and API tokens "
                "made since seeding"
            )
        overlay.serial = changes.serial
        with self._lock:
            self._base = dataset
            self._changes = overlay
            self._generation += 1
            self.clock.restart(dataset.start_ms)
            self.clock.set(changes.now_ms)

    @staticmethod
    def _add_credential(
        dataset: Dataset, overlay: _Changes, token: str, credential: Credential
    ) -> None:
        digest = token_digest(token)
        if digest in dataset.credentials or digest in overlay.credentials:
            raise ValueError(f"a token of user {credential.user_id} is used twice")
        overlay.credentials[digest] = credential

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock across several calls that must see one state."""
        with self._lock:
            yield

    # -- reading ----------------------------------------------------------------

    def organizations(self) -> list[Organization]:
        """Every organization, in seeding order."""
        return list(self._base.organizations.values())

    def organization(self, organization_id: str) -> Organization:
        """An organization with its current session settings."""
        with self._lock:
            org = self._base.organizations[organization_id]
            settings = self._changes.settings.get(organization_id)
            return org if settings is None else replace(org, settings=settings)

    def users(self, organization_id: str | None = None, role: Role | None = None) -> list[User]:
        """Users in seeding order, optionally of one organization and one role."""
        pool = (
            self._base.users.values()
            if organization_id is None
            else self._base.org_users[organization_id]
        )
        return [u for u in pool if role is None or u.role is role]

    def user(self, user_id: str) -> User:
        """A user by id (KeyError when there is none)."""
        return self._base.users[user_id]

    def session(self, session_id: str) -> Session:
        """A session as it is now (KeyError when there is none)."""
        with self._lock:
            found = self._changes.sessions.get(session_id)
            return found if found is not None else self._base.sessions[session_id]

    def sessions(self, organization_id: str | None = None) -> list[Session]:
        """Every session as it is now, seeded ones first, optionally of one organization."""
        with self._lock:
            changed = self._changes.sessions
            seeded = (
                self._base.sessions.values()
                if organization_id is None
                else self._base.org_sessions[organization_id]
            )
            current = [changed.get(s.id, s) for s in seeded]
            current += [
                s
                for s in changed.values()
                if s.id not in self._base.sessions
                and (organization_id is None or s.organization_id == organization_id)
            ]
            return current

    def user_sessions(self, user_id: str) -> list[Session]:
        """A user's sessions as they are now, oldest first."""
        with self._lock:
            changed = self._changes.sessions
            current = [changed.get(s.id, s) for s in self._base.user_sessions[user_id]]
            current += [changed[i] for i in self._changes.new_by_user.get(user_id, ())]
            return current

    def api_tokens(self) -> dict[str, str]:
        """Every personal API token, with the id of the user it belongs to."""
        with self._lock:
            return {**self._base.api_tokens, **self._changes.api_tokens}

    def settings(self, organization_id: str) -> SessionSettings:
        """An organization's session limits as they are now."""
        with self._lock:
            found = self._changes.settings.get(organization_id)
            return (
                found if found is not None else self._base.organizations[organization_id].settings
            )

    def status(self, session: Session) -> SessionStatus:
        """The session's status now under its organization's current limits."""
        with self._lock:
            now = self.clock.now_ms()
            return status_at(session, now, self.settings(session.organization_id))

    def is_active(self, session: Session) -> bool:
        """Whether the session is neither ended nor past either limit now."""
        return self.status(session) is SessionStatus.ACTIVE

    # -- authentication -----------------------------------------------------------

    def authenticate(self, token: str | None, generation: int | None = None) -> Caller:
        """The caller a bearer token stands for; a session token also counts as activity.

        Raises :class:`Unauthenticated` saying why: no token, an unknown one, or
        a session that was logged out, revoked or has expired; :class:`StateReset`
        when ``generation`` (the one the request began in, by default the
        current one) is over.
        """
        if not token:
            raise Unauthenticated(
                "No access token: send the header 'Authorization: Bearer <token>'."
            )
        digest = token_digest(token)
        with self._lock:
            if generation is None:
                generation = self._generation
            self._fence(generation)
            credential = self._credential(digest)
            if credential is None:
                raise Unauthenticated("The access token is not valid.")
            user = self._base.users[credential.user_id]
            if credential.session_id is None:
                return Caller(user, None, generation)
            session = self.session(credential.session_id)
            now = self.clock.now_ms()
            status = status_at(session, now, self.settings(session.organization_id))
            if status is not SessionStatus.ACTIVE:
                raise Unauthenticated(_DEAD_SESSION[status])
            if session.last_activity_at != now:
                self._changes.put(replace(session, last_activity_at=now))
            return Caller(user, session.id, generation)

    def _credential(self, digest: bytes) -> Credential | None:
        return self._changes.credentials.get(digest) or self._base.credential(digest)

    def validate_token(self, caller: Caller, token: str) -> str | None:
        """``validateAccessTokenV2``: the session of a live token of the caller's organization.

        None for a personal API token. A token that is unknown, of an ended or
        expired session, or of another organization raises the same
        :class:`InvalidArgument`, so nothing of another organization leaks.
        Checking a token is not activity of its session.
        """
        with self._lock:
            credential = self._credential(token_digest(token))
            if credential is not None and (
                self._base.users[credential.user_id].organization_id == caller.organization_id
            ):
                if credential.session_id is None:
                    return None
                session = self.session(credential.session_id)
                if self.is_active(session):
                    return session.id
        raise InvalidArgument("The access token is not valid.")

    # -- queries ------------------------------------------------------------------

    def query_sessions(self, caller: Caller, query: SessionQuery) -> SessionPage:
        """``sessions()``: filter, order and page as LogScale does (see docs/behaviour.md)."""
        if query.skip < 0:
            raise InvalidArgument(f"skip must not be negative, got {query.skip}.")
        if query.limit < 0:
            raise InvalidArgument(f"limit must not be negative, got {query.limit}.")
        if query.level is Level.ORGANIZATION:
            self._require(caller, CHANGE_SESSIONS, "list the sessions of the organization")
        needle = (query.search_filter or "").strip().casefold()
        descending = query.order is Order.DESC
        end = query.skip + query.limit
        with self._lock:
            if query.level is Level.ORGANIZATION:
                keep = self._matcher(
                    caller.organization_id, needle, query.only_active, self._changed_text
                )
                return self._organization_page(caller.organization_id, keep, query, needle)
            keep = self._matcher(caller.organization_id, needle, query.only_active)
            parts = ordering.parts_for(query.sort_by, self._base.users)
            mine = [s for s in self.user_sessions(caller.user.id) if keep(s)]
            matched = ordering.order(mine, parts, descending)
        return SessionPage(total=len(matched), sessions=matched[query.skip : end])

    def _matcher(
        self,
        organization_id: str,
        needle: str,
        only_active: bool,
        text: Callable[[Session], str] | None = None,
    ) -> _Keep:
        """Whether a session matches the filters now; ``text`` gives its :func:`search_text`."""
        now = self.clock.now_ms()
        settings = self.settings(organization_id)
        if text is None:
            users = self._base.users

            def text(session: Session) -> str:
                return search_text(session, users[session.user_id])

        def keep(session: Session) -> bool:
            if only_active and active_until(session, settings) < now:
                return False
            return not needle or needle in text(session)

        return keep

    def _changed_text(self, session: Session) -> str:
        """:func:`search_text` of a changed or new session, kept while the session is as it is."""
        texts = self._changes.texts
        found = texts.get(session.id)
        if found is None or found[0] is not session:
            text = search_text(session, self._base.users[session.user_id])
            found = texts[session.id] = (session, text)
        return found[1]

    def _organization_page(
        self, organization_id: str, keep: _Keep, query: SessionQuery, needle: str
    ) -> SessionPage:
        """The page of the organization's matching sessions, from the seeded order's columns
        with the changes laid over them (:class:`_Overlay`); call it holding the lock.

        The seeded sessions' filters are masks over the columns (:meth:`_matcher` kept per
        column); a changed seeded session that kept its place has its byte patched with
        ``keep``'s answer, and the other changed or new sessions that match are merged in
        at their places: no list of every match is built or copied.
        """
        descending = query.order is Order.DESC
        columns = self._base.columns(organization_id, query.sort_by, descending)
        seeded = columns.sessions
        wanted: list[masks.Mask] = []
        if query.only_active:
            wanted.append(columns.active(self.clock.now_ms(), self.settings(organization_id)))
        if needle:
            wanted.append(columns.containing(needle))
        base = masks.all_of(wanted) if wanted else None
        overlay = self._overlay(organization_id, query.sort_by, descending, columns)
        mask: masks.Mask | masks.Patched | None = base
        if overlay.seats:
            mask = self._patched(base, overlay, columns, organization_id, query, needle)
        inserts = [
            (place, s) for place, s in zip(overlay.places, overlay.moved, strict=True) if keep(s)
        ]
        total = (len(seeded) if mask is None else mask.count(1)) + len(inserts)
        if inserts:
            page = masks.merged_page(seeded, mask, inserts, query.skip, query.limit)
        elif mask is None:
            page = seeded[query.skip : query.skip + query.limit]
        else:
            # Count the mask and take the page from it, never copying every match
            # (the cost of a page at a million sessions).
            page = masks.page(seeded, mask, query.skip, query.limit)
        if overlay.seats:
            # a patched byte stands for the session as it is now, not as seeded
            current = self._changes.sessions
            page = [current.get(s.id, s) for s in page]
        return SessionPage(total, page)

    def _patched(
        self,
        mask: masks.Mask | None,
        overlay: _Overlay,
        columns: Columns,
        organization_id: str,
        query: SessionQuery,
        needle: str,
    ) -> masks.Patched:
        """``mask`` (None: all match) with the bytes of changed seeded sessions set to
        whether they match as they are now: :meth:`_matcher`'s two tests, row by row
        at C speed where they can be.

        Activity is :func:`active_until` against the clock; the search reads the
        columns' answer for a session whose search text did not change, and the
        session's text for the others.
        """
        seats, now = overlay.seats, overlay.now
        if query.only_active:
            settings = self.settings(organization_id)
            until = map(_active_until, now, repeat(settings))
            values = bytes(map(ge, until, repeat(self.clock.now_ms())))
        else:
            values = bytes(map(is_not, now, repeat(None)))
        if needle:
            found = columns.containing(needle)
            searched = bytearray(map(found.__getitem__, seats))
            for index in compress(range(len(seats)), map(not_, overlay.same)):
                session = now[index]
                searched[index] = session is not None and needle in self._changed_text(session)
            values = masks.all_of([values, bytes(searched)])
        return masks.Patched(mask, len(columns.sessions), seats, values)

    def _overlay(
        self, organization_id: str, sort_by: SortBy, descending: bool, columns: Columns
    ) -> _Overlay:
        """The organization's changes laid over its seeded sessions in this order; call it
        holding the lock.

        Kept per order and brought up to date at the next query: session by session
        (a bisection or two each) after a few changes, laid out anew after many.
        """
        changes = self._changes
        key = (organization_id, sort_by, descending)
        overlay = changes.overlays.get(key)
        if overlay is not None and overlay.version == changes.version:
            return overlay
        since = None if overlay is None else changes.since(overlay.version)
        if (
            overlay is None
            or since is None
            or len(since) > max(16, (len(overlay.seats) + len(overlay.moved)) // 8)
        ):
            changed = [s for s in changes.sessions.values() if s.organization_id == organization_id]
            overlay = self._laid_out(key, columns, changed)
        else:
            for session_id in dict.fromkeys(since):
                session = changes.sessions[session_id]
                if session.organization_id == organization_id:
                    self._update(overlay, key, columns, session)
        overlay.version = changes.version
        changes.overlays[key] = overlay
        return overlay

    def _laid_out(self, key: _OrderKey, columns: Columns, changed: list[Session]) -> _Overlay:
        """An overlay of these changed and new sessions, laid out at once."""
        with bulk():
            return self._lay_out(key, columns, changed)

    def _lay_out(self, key: _OrderKey, columns: Columns, changed: list[Session]) -> _Overlay:
        """:meth:`_laid_out` with the collector paused: lists as long as the changes."""
        _, sort_by, descending = key
        base = self._base
        fields = attrgetter(*ordering.key_fields(sort_by))
        kept: list[tuple[Session, Session]] = []
        gone: list[Session] = []
        moved: list[Session] = []
        for session in changed:
            was = base.sessions.get(session.id)
            if was is None:
                moved.append(session)
            elif fields(session) == fields(was):
                kept.append((session, was))
            else:
                gone.append(was)
                moved.append(session)
        stayed = [session for session, _ in kept]
        were = [was for _, was in kept] + gone
        seats = self._seats(key, columns, were)
        seat_of = list(map(seats.__getitem__, map(_ID, were)))
        now: list[Session | None] = [*stayed, *repeat(None, len(gone))]
        same = [*map(same_search_text, stayed, were), *repeat(False, len(gone))]
        by_seat = sorted(range(len(were)), key=seat_of.__getitem__)
        overlay = _Overlay()
        overlay.seats = list(map(seat_of.__getitem__, by_seat))
        overlay.now = list(map(now.__getitem__, by_seat))
        overlay.same = list(map(same.__getitem__, by_seat))
        parts = ordering.parts_for(sort_by, base.users)
        placed = sorted(
            zip(self._places(key, columns, moved), moved, strict=True), key=itemgetter(0)
        )
        for place, group in groupby(placed, key=itemgetter(0)):
            together = [s for _, s in group]
            if len(together) > 1:
                together = ordering.order(together, parts, descending)
            overlay.places += [place] * len(together)
            overlay.moved += together
            overlay.where.update((s.id, place) for s in together)
        return overlay

    def _update(
        self, overlay: _Overlay, key: _OrderKey, columns: Columns, session: Session
    ) -> None:
        """Lay a session as it is now over ``overlay`` in place of what it was."""
        _, sort_by, descending = key
        place = overlay.where.pop(session.id, None)
        if place is not None:
            index = bisect_left(overlay.places, place)
            while overlay.moved[index].id != session.id:
                index += 1
            del overlay.places[index], overlay.moved[index]
        was = self._base.sessions.get(session.id)
        if was is not None:
            seat = self._seats(key, columns, [was])[was.id]
            index = bisect_left(overlay.seats, seat)
            if index == len(overlay.seats) or overlay.seats[index] != seat:
                overlay.seats.insert(index, seat)
                overlay.now.insert(index, None)
                overlay.same.insert(index, False)
            fields = attrgetter(*ordering.key_fields(sort_by))
            if fields(session) == fields(was):
                overlay.now[index] = session
                overlay.same[index] = same_search_text(session, was)
                return
            overlay.now[index] = None
            overlay.same[index] = False
        place = self._places(key, columns, [session])[0]
        low = bisect_left(overlay.places, place)
        high = bisect_right(overlay.places, place, low)
        parts = ordering.parts_for(sort_by, self._base.users)
        index = low + ordering.places(overlay.moved[low:high], [session], parts, descending)[0]
        overlay.places.insert(index, place)
        overlay.moved.insert(index, session)
        overlay.where[session.id] = place

    def _seats(self, key: _OrderKey, columns: Columns, seeded: list[Session]) -> dict[str, int]:
        """The index of each of these seeded sessions in the order of ``key`` (and of
        those asked before), by bisection for a few, by the columns' index for many."""
        known = self._changes.seats.setdefault(key, {})
        lost = [s for s in seeded if s.id not in known]
        if not lost:
            return known
        ordered = columns.sessions
        # the columns' index by id costs about a quarter of a sort, and is kept with them
        if ordering.bisections_pay(4 * len(lost), len(ordered)):
            _, sort_by, descending = key
            parts = ordering.parts_for(sort_by, self._base.users)
            found = ordering.seats(ordered, lost, parts, descending)
            known.update(zip((s.id for s in lost), found, strict=True))
        else:
            positions = columns.positions
            known.update((s.id, positions[s.id]) for s in lost)
        return known

    def _places(self, key: _OrderKey, columns: Columns, sessions: list[Session]) -> list[int]:
        """How many seeded sessions precede each of ``sessions`` (none of them seeded
        records) in the order of ``key``.

        Places are kept per session and found again only for a session whose key's
        fields changed since, so a new change costs a bisection, not a sort.
        """
        _, sort_by, descending = key
        fields = attrgetter(*ordering.key_fields(sort_by))
        known = self._changes.places.setdefault(key, {})
        lost = [s for s in sessions if (k := known.get(s.id)) is None or k[0] != fields(s)]
        if lost:
            parts = ordering.parts_for(sort_by, self._base.users)
            found = ordering.places(columns.sessions, lost, parts, descending)
            for session, place in zip(lost, found, strict=True):
                known[session.id] = (fields(session), place)
        return [known[s.id][1] for s in sessions]

    def find_user(self, caller: Caller, user_id: str) -> User | None:
        """``user(id)``: a user of the caller's organization, else None."""
        user = self._base.users.get(user_id)
        if user is None or user.organization_id != caller.organization_id:
            return None
        return user

    def session_settings(self, caller: Caller) -> SessionSettings:
        """The caller's organization's session limits; needs ViewSessionSettings."""
        self._require(caller, VIEW_SESSION_SETTINGS, "view the session settings")
        return self.settings(caller.organization_id)

    @staticmethod
    def is_action_allowed(caller: Caller, action: str) -> bool:
        """Whether the caller holds an organization permission."""
        return action in caller.user.permissions

    # -- mutations ----------------------------------------------------------------

    def logout(self, caller: Caller) -> bool:
        """``logoutOfSession``: end the caller's own session."""
        if caller.session_id is None:
            raise InvalidArgument(
                "logoutOfSession needs a session: this request was made with a personal API "
                "token, which has none."
            )
        with self._lock:
            self._fence(caller.generation)
            self._end(self.session(caller.session_id), Ending.LOGGED_OUT)
        return True

    def revoke(self, caller: Caller, target_id: str, revocation: RevocationType) -> bool:
        """``revokeSession``: end one session, a user's sessions, or the organization's."""
        with self._lock:
            self._fence(caller.generation)
            if revocation is RevocationType.SESSION:
                session = self._changes.sessions.get(target_id) or self._base.sessions.get(
                    target_id
                )
                if session is None or session.organization_id != caller.organization_id:
                    raise NotFound(f"No session with id '{target_id}' was found.")
                if session.user_id != caller.user.id:
                    self._require(caller, CHANGE_SESSIONS, "revoke another user's session")
                doomed = [session]
            elif revocation is RevocationType.USER:
                user = self.find_user(caller, target_id)
                if user is None:
                    raise NotFound(f"No user with id '{target_id}' was found.")
                if user.id != caller.user.id:
                    self._require(caller, CHANGE_SESSIONS, "revoke another user's sessions")
                doomed = self.user_sessions(user.id)
            else:
                if target_id != caller.organization_id:
                    raise NotFound(f"No organization with id '{target_id}' was found.")
                self._require(caller, CHANGE_SESSIONS, "revoke every session of the organization")
                doomed = self.sessions(caller.organization_id)
            for session in doomed:
                self._end(session, Ending.REVOKED)
        return True

    def update_session_settings(
        self, caller: Caller, max_inactivity_period: int, force_reauthentication_after: int
    ) -> Organization:
        """``updateSessionSettings``: new limits for the caller's organization, at once."""
        self._require(caller, CHANGE_SESSIONS, "change the session settings")
        wrong = [
            f"{name} must be a positive number of milliseconds, got {value}."
            for name, value in (
                ("maxInactivityPeriod", max_inactivity_period),
                ("forceReauthenticationAfter", force_reauthentication_after),
            )
            if value <= 0
        ]
        if wrong:
            raise InvalidArgument(" ".join(wrong))
        with self._lock:
            self._fence(caller.generation)
            self._changes.settings[caller.organization_id] = SessionSettings(
                max_inactivity_period, force_reauthentication_after
            )
            return self.organization(caller.organization_id)

    def _end(self, session: Session, ending: Ending) -> None:
        if session.ended is None:
            self._changes.put(replace(session, ended=ending))

    @staticmethod
    def _require(caller: Caller, action: str, what: str) -> None:
        if action not in caller.user.permissions:
            raise PermissionDenied(action, what)

    # -- arranging (for tests and the command line) ----------------------------------

    def login(
        self,
        user_id: str,
        *,
        client_info: str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ip: str = "203.0.113.10",
        city: str | None = None,
        country: str | None = None,
    ) -> Session:
        """Open a new active session for a user now, as a login would; returns it with its token.

        KeyError for an unknown user, ValueError for a bad ``ip``, and
        :class:`BoundError` when the store holds ``max_sessions`` sessions already.
        """
        if ordering.ip_key(ip) is None:
            raise ValueError(f"{ip!r} is not an IP address")
        with self._lock:
            base = self._base
            user = base.users[user_id]
            held = len(base.sessions) + self._changes.opened
            check_bound(
                "max_sessions",
                self.max_sessions,
                held + 1,
                f"cannot log in: the fake holds {held} sessions already (seeded, and "
                "logged in since the last reset, which frees them)",
            )
            serial = self._next_serial()
            now = self.clock.now_ms()
            session = Session(
                id=derived_id(self._base.seed, "session", serial),
                user_id=user.id,
                organization_id=user.organization_id,
                token=derived_id(
                    self._base.seed, self._base.token_kind("session-token"), serial, 40
                ),
                client_info=client_info,
                ip=ip,
                city=city,
                country=country,
                created_at=now,
                last_activity_at=now,
            )
            self._changes.put(session)
            self._changes.opened_by(user.id, session.id)
            self._changes.credentials[token_digest(session.token)] = Credential(user.id, session.id)
            return session

    def create_api_token(self, user_id: str) -> str:
        """A new personal API token for a user: it authenticates the user without a session.

        KeyError for an unknown user; :class:`BoundError` when ``max_api_tokens``
        tokens were made since the last reset.
        """
        with self._lock:
            user = self._base.users[user_id]
            made = len(self._changes.api_tokens)
            check_bound(
                "max_api_tokens",
                self.max_api_tokens,
                made + 1,
                f"cannot make an API token: {made} were made since the last reset, "
                "which frees them",
            )
            kind = self._base.token_kind("api-token")
            token = derived_id(self._base.seed, kind, self._next_serial(), 40)
            self._changes.credentials[token_digest(token)] = Credential(user.id)
            self._changes.api_tokens[token] = user.id
            return token

    def _check_bounds(self, sessions: int, api_tokens: int) -> None:
        """BoundError when a state of ``sessions`` and ``api_tokens`` is past a bound."""
        check_bound(
            "max_sessions",
            self.max_sessions,
            sessions,
            f"the state holds {sessions} sessions, seeded and new",
        )
        check_bound(
            "max_api_tokens",
            self.max_api_tokens,
            api_tokens,
            f"the state holds {api_tokens} API tokens",
        )

    def _next_serial(self) -> int:
        self._changes.serial += 1
        return self._changes.serial


_Keep = Callable[[Session], bool]


def _active_until(session: Session | None, settings: SessionSettings) -> float:
    """:func:`active_until`, minus infinity for no session."""
    return -_INFINITY if session is None else active_until(session, settings)


_INFINITY = float("inf")

#: How many ids of changed sessions :class:`_Changes` keeps for overlays to catch up with.
_LOG_MOST = 1 << 16
_ID = attrgetter("id")

_DEAD_SESSION = {
    SessionStatus.LOGGED_OUT: "This session has been logged out: log in again for a new token.",
    SessionStatus.REVOKED: "This session has been revoked: log in again for a new token.",
    SessionStatus.INACTIVE: (
        "This session has expired: it was inactive for longer than the organization's "
        "maxInactivityPeriod."
    ),
    SessionStatus.REAUTHENTICATION_DUE: (
        "This session has expired: it is older than the organization's "
        "forceReauthenticationAfter and must log in again."
    ),
}
