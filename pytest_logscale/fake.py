"""A fake LogScale: seeded state, clock, journal and HTTP server as one object.

This is what the ``logscale_server`` fixture hands to a test and what
``pytest-logscale serve`` runs.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, final
from urllib.parse import urlsplit

from .control import PREFIX, ControlApp
from .domain.clock import Clock
from .domain.dataset import Dataset
from .domain.records import Ending, Organization, Role, Session, User
from .domain.status import SessionStatus, status_at
from .domain.store import Store
from .harness import statefile
from .harness.faults import FaultPlan
from .harness.journal import DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_TEXT, Journal
from .harness.ratelimit import RateLimit, RateLimiter
from .http.app import AppOptions, LogScaleApp
from .http.server import ServerOptions, ThreadedServer
from .seeding import SHOW_PROGRESS_FROM, Progress, SeedOptions, seed_dataset
from .transport import Route, routed

__all__ = ["FakeLogScale", "SessionNow", "cached_dataset"]

#: The statuses a session can have, as :class:`SessionStatus` names them.
SESSION_STATUSES = tuple(status.value for status in SessionStatus)

#: The seeded datasets kept for reuse: at most this many option sets, holding at most this
#: many sessions together (least recently used dropped first; the newest is always kept).
DATASET_CACHE_ENTRIES = 8
DATASET_CACHE_SESSIONS = 2_000_000

#: Seeded datasets by options and instance (SeedOptions == leaves the instance out).
_datasets: OrderedDict[tuple[SeedOptions, int], Dataset] = OrderedDict()
_datasets_lock = threading.Lock()


def cached_dataset(options: SeedOptions, progress: Progress | None = None) -> Dataset:
    """The dataset for these options, seeded once per process (datasets never change).

    ``progress`` hears how seeding goes when it will take more than a couple of seconds.
    """
    key = (options, options.instance or 0)
    with _datasets_lock:
        found = _datasets.get(key)
        if found is not None:
            _datasets.move_to_end(key)
            return found
    slow = options.total_sessions >= SHOW_PROGRESS_FROM
    dataset = seed_dataset(options, progress if slow else None)
    with _datasets_lock:
        _datasets[key] = dataset
        held = sum(kept.total_sessions for kept, _instance in _datasets)
        while len(_datasets) > 1 and (
            len(_datasets) > DATASET_CACHE_ENTRIES or held > DATASET_CACHE_SESSIONS
        ):
            (dropped, _instance), _dataset = _datasets.popitem(last=False)
            held -= dropped.total_sessions
    return dataset


#: How many servers this process made with each seeding options (instance None).
_instances: dict[SeedOptions, int] = {}


def _claim_instance(options: SeedOptions) -> int:
    with _datasets_lock:
        number = _instances.get(options, 0)
        _instances[options] = number + 1
        return number


UserRef = User | str


@final
@dataclass(frozen=True, slots=True)
class SessionNow:
    """A session as it is at the moment it was read, with its status then.

    ``session`` is the record (every field of :class:`~pytest_logscale.Session`);
    ``status`` (a :class:`~pytest_logscale.SessionStatus`, a string enum) is
    ``active``, ``inactive`` (idle longer than the organization's
    ``maxInactivityPeriod``), ``reauthentication_due`` (older than its
    ``forceReauthenticationAfter``), ``logged_out`` or ``revoked``, decided by
    the fake's one rule on its clock; ``active`` is whether it is ``active``.
    Read it again through :meth:`FakeLogScale.session` to see later changes.
    """

    session: Session
    status: SessionStatus
    active: bool

    @property
    def id(self) -> str:
        """The session's id."""
        return self.session.id

    @property
    def ended(self) -> Ending | None:
        """How the session ended (logged out or revoked), or None while it has not."""
        return self.session.ended


def _real_now_ms() -> int:
    return time.time_ns() // 1_000_000


class FakeLogScale:
    """A fake LogScale session-management API on a real port.

    ``FakeLogScale(SeedOptions(seed=7))`` seeds the data; :meth:`start` (or
    ``with``) serves it at :attr:`url`. The state can be read through
    :attr:`store`, arranged with :meth:`login`, :meth:`api_token` and
    :attr:`clock`, queried with :meth:`execute`, and put back with :meth:`reset`.
    No two fakes made in one process with the same options share a token:
    the n-th gets instance n (:class:`~pytest_logscale.SeedOptions`), the same
    in every run; one that loads another's state file takes its tokens too.
    The :attr:`journal` keeps at most ``journal_size`` of the newest requests
    (no count limit by default) in at most ``journal_bytes`` bytes (None: 32 MiB),
    each entry's query, variables and answer cut at ``journal_text`` characters
    (None: 64 KiB). ``control=False`` switches off the control API under
    :attr:`control_url` (docs/control-api.md). With ``wall_clock`` and no ``clock``
    anchor in the options, the data is seeded relative to now. ``progress(done,
    total)`` hears how seeding goes when it takes more than a couple of seconds.
    ``server_options`` bound connections and request heads
    (:class:`~pytest_logscale.ServerOptions`).
    """

    def __init__(
        self,
        seed_options: SeedOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_options: AppOptions | None = None,
        wall_clock: bool = False,
        rate_limit: RateLimit | None = None,
        journal_size: int | None = None,
        journal_bytes: int | None = None,
        journal_text: int | None = None,
        control: bool = True,
        progress: Progress | None = None,
        server_options: ServerOptions | None = None,
    ) -> None:
        options = seed_options or SeedOptions()
        self._follows_now = wall_clock and options.anchor is None
        if self._follows_now:  # real time: seeded relative to now, again on every reset
            options = options.replace(clock=_real_now_ms())
        self._instances: dict[SeedOptions, SeedOptions] = {}
        options = self._with_instance(options)
        self.seed_options = options
        self._progress = progress
        self.journal = Journal(
            journal_size,
            max_bytes=DEFAULT_JOURNAL_BYTES if journal_bytes is None else journal_bytes,
            max_text=DEFAULT_JOURNAL_TEXT if journal_text is None else journal_text,
        )
        dataset = cached_dataset(options, progress)
        self.store = Store(dataset, Clock(dataset.start_ms, wall=wall_clock))
        self._faults = FaultPlan(seed=self.seed_options.seed)
        self._bound(options)
        self._rate_limiter = RateLimiter(self.store.clock, rate_limit)
        self.app = LogScaleApp(
            self.store,
            journal=self.journal,
            options=app_options,
            faults=self._faults,
            rate_limiter=self._rate_limiter,
        )
        self.control = control
        served = ControlApp(self, self.app) if control else self.app
        self.server = ThreadedServer(served, host=host, port=port, options=server_options)

    # -- running ----------------------------------------------------------------------

    def start(self) -> FakeLogScale:
        """Start serving on the host and port given (a free port for 0)."""
        self.faults.open()
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; the state stays readable."""
        self.faults.close()  # delayed requests, even ones arriving now, would hold the stop up
        self.server.stop()

    def in_process(self) -> AbstractContextManager[FakeLogScale]:
        """Answer ``requests`` and ``httpx`` calls to :attr:`url` in process while the block runs.

        ``with fake.in_process(): requests.post(fake.graphql_url, ...)`` reaches
        the same app, journal, faults and state as over HTTP, without a socket
        (docs/fixtures.md, "Transports"). Other clients, and requests to any
        other address, still use the network. Blocks nest; the fixture enters
        one for the whole test under ``--logscale-transport=in-process``.
        """
        route = Route(
            url=self.url,
            app=self.server.app,
            fields=self.server.answer_fields,
            serving=lambda: self.running,
            may_wait=lambda: len(self._faults) > 0,
        )
        return _handing(routed(route), self)

    @property
    def running(self) -> bool:
        """Whether the fake is serving (started and not stopped since)."""
        return self.server.is_running

    def __enter__(self) -> FakeLogScale:
        # logscale_server_factory hands out started servers, to be used in a with block
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, LogScale's docs call it $YOUR_LOGSCALE_URL."""
        return self.server.url

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint: :attr:`url` + ``/graphql``."""
        return self.url + "/graphql"

    @property
    def control_url(self) -> str:
        """The control API: :attr:`url` + ``/_fake`` (docs/control-api.md).

        Hand it to a test suite in another language to reset, move the clock,
        inject faults or read the journal. RuntimeError when made with ``control=False``.
        """
        if not self.control:
            raise RuntimeError("the control API is off (FakeLogScale(control=False))")
        return self.url + PREFIX

    @property
    def clock(self) -> Clock:
        """The fake's clock: ``now``, ``advance(...)``, ``set(...)``."""
        return self.store.clock

    @property
    def faults(self) -> FaultPlan:
        """Faults to inject: ``faults.add(Fault.status(503), times=2)`` (docs/faults.md).

        At most ``max_faults`` rules wait at once (:class:`~pytest_logscale.FaultPlan`).
        """
        return self._faults

    @property
    def rate_limit(self) -> RateLimit | None:
        """Requests per window allowed to each token, or None (off); settable (docs/faults.md).

        Setting it, even to the same limit, forgets the requests counted so far.
        """
        return self._rate_limiter.limit

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        self._rate_limiter.limit = limit

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the freshly seeded state: changes, clock and journal, at any size in O(1).

        Faults are cleared too, and the rate limit is the one the fake was made with, with
        nothing counted. With ``wall_clock`` and no ``clock`` anchor the data is seeded
        relative to now again (as slow as seeding), so the clock never lags real time.
        """
        if self._follows_now:
            self._switch(self.seed_options.replace(clock=_real_now_ms()))
        self._clear()

    def _clear(self) -> None:
        self.faults.clear()
        with self.store.locked():  # one step for the requests in flight (docs/behaviour.md)
            self._rate_limiter.reset()
            self.store.reset()
            self.journal.clear()

    def _with_instance(self, options: SeedOptions) -> SeedOptions:
        """The options with this server's instance for them: its own tokens (SeedOptions),
        and their own bounds (options equal but for the bounds share an instance)."""
        if options.instance is not None:
            return options
        found = self._instances.get(options)
        if found is None:
            found = self._instances[options] = options.replace(instance=_claim_instance(options))
        return found if found.bounds() == options.bounds() else found.replace(**options.bounds())

    def _bound(self, options: SeedOptions) -> None:
        """Bound what logins, API tokens and faults may add by ``options``' bounds."""
        self.store.max_sessions = options.max_sessions
        self.store.max_api_tokens = options.max_api_tokens
        self._faults.max_rules = options.max_faults

    def reseed(self, options: SeedOptions) -> None:
        """Serve data seeded with other options (seeded once per process, then reused)."""
        if self._follows_now and options.clock == self.seed_options.clock:  # anchor kept: now
            options = options.replace(clock=_real_now_ms())
        self._switch(options)
        self._clear()

    def _switch(self, options: SeedOptions) -> None:
        options = self._with_instance(options)
        if (options, options.instance) != (self.seed_options, self.seed_options.instance):
            self.store.replace(cached_dataset(options, self._progress))
            self.faults.reseed(options.seed)
        self.seed_options = options  # the bounds too, which == leaves out
        self._bound(options)

    def dump_state(self, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The state as a JSON-ready dict (docs/state-file.md), also written to ``path`` if given.

        It holds the seeding options, the clock and what changed since seeding,
        so :meth:`load_state` on any fake replays it exactly, and the faults
        still waiting, with their uses left.
        """
        data = statefile.dump(self.seed_options, self.store, self.faults)
        if path is not None:
            statefile.write(path, data)
        return data

    def load_state(self, source: Mapping[str, Any] | str | os.PathLike[str]) -> None:
        """Take the state of a dumped dict or state file (a ``str`` is a path).

        The data is reseeded with the state's options if they differ. Raises
        :class:`~pytest_logscale.StateError` (a ValueError) naming the
        file and the problem, and then nothing changes. :meth:`reset` still
        goes back to the freshly seeded state, not to the loaded one. The
        state's faults replace those waiting.
        """
        self.seed_options = statefile.load(
            source,
            self.store,
            lambda options: cached_dataset(options, self._progress),
            self.faults,
            self.seed_options,
        )

    # -- reading ------------------------------------------------------------------------

    @property
    def organizations(self) -> list[Organization]:
        """Every organization, first one first (its domain is company.com)."""
        return [self.store.organization(o.id) for o in self.store.organizations()]

    @property
    def organization(self) -> Organization:
        """The first organization, the one the default token belongs to."""
        return self.organizations[0]

    @property
    def users(self) -> list[User]:
        """Every user of every organization, in seeding order."""
        return self.store.users()

    @property
    def sessions(self) -> list[Session]:
        """Every session of every organization: snapshots of the records as they are now.

        Each record stays as it was read; read again (or use :meth:`session`) to
        see later logouts, revocations and expiry.
        """
        return self.store.sessions()

    def session(self, session: Session | str) -> SessionNow:
        """A session (or its id) as it is now, with its status on the fake's clock.

        Raises LookupError when no session has that id.
        """
        session_id = session if isinstance(session, str) else session.id
        try:
            record = self.store.session(session_id)
        except KeyError:
            raise LookupError(f"no session has id {session_id!r}") from None
        return self._now(record)

    def find_sessions(
        self,
        *,
        active: bool | None = None,
        status: SessionStatus | str | None = None,
        user: UserRef | None = None,
        organization: Organization | str | None = None,
    ) -> list[SessionNow]:
        """The sessions as they are now that match every criterion given, seeded ones first.

        ``active`` keeps the active (True) or the others (False); ``status`` one
        status (see :class:`SessionNow`); ``user`` one user's sessions and
        ``organization`` one organization's (all of them by default).
        """
        if status is not None and status not in SESSION_STATUSES:
            raise ValueError(f"status must be one of {', '.join(SESSION_STATUSES)}; not {status!r}")
        if user is not None:
            records = self.store.user_sessions(self._user(user).id)
        elif organization is not None:
            records = self.store.sessions(self._org_id(organization))
        else:
            records = self.store.sessions()
        found = [self._now(record) for record in records]
        return [
            s
            for s in found
            if (active is None or s.active == active)
            and (status is None or s.status == status)
            and (organization is None or s.session.organization_id == self._org_id(organization))
        ]

    def _now(self, record: Session) -> SessionNow:
        # the one rule deciding a session's status lives in the store
        return SessionNow(record, self.store.status(record), self.store.is_active(record))

    def _org_id(self, organization: Organization | str | None) -> str:
        if organization is None:
            return self.store.organizations()[0].id
        return organization if isinstance(organization, str) else organization.id

    def users_with_role(
        self, role: Role, organization: Organization | str | None = None
    ) -> list[User]:
        """The users of one role in an organization (the first one by default)."""
        return self.store.users(self._org_id(organization), role)

    def owner(self, organization: Organization | str | None = None) -> User:
        """The organization's owner (every permission, ``isOrgRoot``)."""
        return self.users_with_role(Role.OWNER, organization)[0]

    def admin(self, organization: Organization | str | None = None) -> User:
        """The organization's first admin (``ChangeSessions``, ``ViewSessionSettings``, ...)."""
        return self.users_with_role(Role.ADMIN, organization)[0]

    def member(self, organization: Organization | str | None = None) -> User:
        """The organization's first member (no session or user permissions)."""
        return self.users_with_role(Role.MEMBER, organization)[0]

    def _user(self, user: UserRef) -> User:
        return self.store.user(user if isinstance(user, str) else user.id)

    def session_token(self, user: UserRef) -> str:
        """The token of the user's first session that was active when seeded.

        Owner, admin and member each have one; it is the same token before and
        after :meth:`reset`. Raises LookupError for a user with none.
        """
        found = self._user(user)
        dataset = self.store.dataset
        settings = dataset.organizations[found.organization_id].settings
        for session in dataset.user_sessions[found.id]:
            if status_at(session, dataset.start_ms, settings) is SessionStatus.ACTIVE:
                return session.token
        raise LookupError(f"{found.username} has no active session; use login() to make one")

    @property
    def token(self) -> str:
        """A session token of the first organization's owner: the default caller."""
        return self.session_token(self.owner())

    @property
    def admin_token(self) -> str:
        """A session token of the first organization's first admin."""
        return self.session_token(self.admin())

    @property
    def member_token(self) -> str:
        """A session token of the first organization's first member."""
        return self.session_token(self.member())

    # -- arranging ----------------------------------------------------------------------

    def login(self, user: UserRef, **details: Any) -> Session:
        """Open a new active session for a user now; the result carries its ``token``.

        Keyword arguments ``client_info``, ``ip``, ``city`` and ``country`` set the
        session's details. Past ``max_sessions`` (seeded sessions and those logged
        in since the last reset, together) it raises
        :class:`~pytest_logscale.BoundError` (a ValueError) and opens none.
        """
        return self.store.login(self._user(user).id, **details)

    def api_token(self, user: UserRef) -> str:
        """A new personal API token for a user: authenticated, but in no session.

        Past ``max_api_tokens`` made since the last reset it raises
        :class:`~pytest_logscale.BoundError` (a ValueError) and makes none.
        """
        return self.store.create_api_token(self._user(user).id)

    # -- talking to it over HTTP ---------------------------------------------------------

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Send a GraphQL request over HTTP and return the parsed JSON answer.

        ``token`` as in :meth:`post`: None (the default) sends :attr:`token`,
        the owner's session; ``""`` sends no Authorization header. Whatever the
        status, the JSON body is returned; use :meth:`post` to see the status too.
        A 401 is LogScale's plain text, not JSON, so it raises AssertionError:
        check dead tokens with :meth:`post` (the journal's ``auth_failure`` says why).
        """
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        if operation_name is not None:
            body["operationName"] = operation_name
        _status, answer = self.post(json.dumps(body), token=token)
        if not isinstance(answer, dict):
            raise AssertionError(
                f"the fake answered with something other than a JSON object: {answer!r}"
            )
        return answer

    def post(self, body: str | bytes, *, token: str | None = None) -> tuple[int, Any]:
        """POST a raw body to ``/graphql``; returns the status and the JSON body (text if not JSON).

        A ``str`` body is sent as UTF-8. ``token`` None (the default) sends
        :attr:`token`, the owner's session, as :meth:`execute` does; ``""``
        sends no Authorization header at all.
        """
        headers = {"Content-Type": "application/json"}
        if token is None:
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=30
        )
        try:
            data = body.encode() if isinstance(body, str) else body  # not http.client's Latin-1
            connection.request("POST", "/graphql", body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")


@contextmanager
def _handing(route: AbstractContextManager[Route], fake: FakeLogScale) -> Iterator[FakeLogScale]:
    """``route``'s block, handing ``fake`` to ``with ... as``."""
    with route:
        yield fake
