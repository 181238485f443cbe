"""Load: client threads log in, query, log out and revoke against one server at once.

Each worker thread owns one user and keeps its own account of that user's
sessions: the ones it opened, logged out and revoked. Only it changes them, so
whatever the interleaving, every answer it gets must match its account, and
afterwards the store must hold exactly the sessions the threads account for:
none lost, none duplicated, each ended the way its thread ended it. An
observer thread meanwhile watches the organization's total, which may only
grow. Every request must get an answer (no connection error, no 5xx) and be in
the journal. The figures are printed to the terminal even without ``-s``.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.records import Ending, User
from pytest_logscale.plugin import LogScaleServerFactory

WORKERS = 8
STEPS = 300
TIMEOUT = 30
MY_SESSIONS = (
    "query Mine($active: Boolean) "
    "{ sessions(level: User, onlyActiveSessions: $active, limit: 1000)"
    " { totalResults results { id isCurrentSession } } }"
)
REVOKE = (
    "mutation Revoke($id: String!, $type: SessionRevocation__Type!) "
    "{ revokeSession(input: {id: $id, revocationType: $type}) }"
)
ORGANIZATION_TOTAL = (
    "{ sessions(level: Organization, onlyActiveSessions: false, limit: 0) { totalResults } }"
)


@dataclass
class Account:
    """What one thread did to its user's sessions, and what it sent."""

    user: User
    seeded: set[str]
    seeded_active: set[str]
    live: dict[str, str] = field(default_factory=dict)  # session id -> token
    opened: list[str] = field(default_factory=list)
    ended: dict[str, Ending] = field(default_factory=dict)
    actions: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    expected_401: int = 0


class Worker:
    """One thread: one user, one ``requests.Session``, a seeded random plan."""

    def __init__(self, server: FakeLogScale, account: Account, seed: int) -> None:
        self.server = server
        self.account = account
        self.random = random.Random(seed)
        self.client = requests.Session()

    def post(self, token: str, query: str, **variables: Any) -> requests.Response:
        response = self.client.post(
            self.server.graphql_url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        self.account.statuses[response.status_code] += 1
        return response

    def data(self, token: str, query: str, **variables: Any) -> Any:
        response = self.post(token, query, **variables)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    def run(self) -> None:
        try:
            self.login()
            self.login()
            for _ in range(STEPS):
                action = self.random.choices(
                    ["login", "query", "logout", "revoke", "revoke-all"], [20, 45, 15, 15, 5]
                )[0]
                if action != "login" and len(self.account.live) < 2:
                    action = "login"
                getattr(self, action.replace("-", "_"))()
                self.account.actions[action] += 1
        finally:
            self.client.close()

    def any_live(self) -> tuple[str, str]:
        session_id = self.random.choice(sorted(self.account.live))
        return session_id, self.account.live[session_id]

    def login(self) -> None:
        session = self.server.login(self.account.user, ip=f"198.51.100.{len(self.account.opened)}")
        self.account.live[session.id] = session.token
        self.account.opened.append(session.id)

    def query(self) -> None:
        account = self.account
        session_id, token = self.any_live()
        every = self.data(token, MY_SESSIONS, active=False)["sessions"]
        ids = [s["id"] for s in every["results"]]
        assert len(ids) == len(set(ids)) == every["totalResults"]
        assert set(ids) == account.seeded | set(account.opened)
        assert [s["id"] for s in every["results"] if s["isCurrentSession"]] == [session_id]
        active = self.data(token, MY_SESSIONS, active=True)["sessions"]["results"]
        still_seeded = account.seeded_active - set(account.ended)
        assert {s["id"] for s in active} == set(account.live) | still_seeded

    def logout(self) -> None:
        session_id, token = self.any_live()
        assert self.data(token, "mutation { logoutOfSession }") == {"logoutOfSession": True}
        self.end(session_id, Ending.LOGGED_OUT)
        self.assert_dead(token)

    def revoke(self) -> None:
        victim, revoker = self.random.sample(sorted(self.account.live), 2)
        victim_token, token = self.account.live[victim], self.account.live[revoker]
        answer = self.data(token, REVOKE, id=victim, type="Session")
        assert answer == {"revokeSession": True}
        self.end(victim, Ending.REVOKED)
        self.assert_dead(victim_token)

    def revoke_all(self) -> None:
        _, token = self.any_live()
        answer = self.data(token, REVOKE, id=self.account.user.id, type="User")
        assert answer == {"revokeSession": True}
        for session_id in [*self.account.live, *self.account.seeded_active]:
            self.end(session_id, Ending.REVOKED)
        self.assert_dead(token)

    def end(self, session_id: str, how: Ending) -> None:
        self.account.live.pop(session_id, None)
        self.account.ended.setdefault(session_id, how)  # a session ends once, the first way

    def assert_dead(self, token: str) -> None:
        self.account.expected_401 += 1
        response = self.post(token, MY_SESSIONS, active=True)
        assert response.status_code == 401, response.text


class Observer:
    """Watches the organization's total number of sessions, which may only grow."""

    def __init__(self, server: FakeLogScale, done: threading.Event) -> None:
        self.server, self.done = server, done
        self.totals: list[int] = []
        self.statuses: Counter[int] = Counter()

    def run(self) -> None:
        with requests.Session() as client:
            while not self.done.is_set():
                response = client.post(
                    self.server.graphql_url,
                    json={"query": ORGANIZATION_TOTAL},
                    headers={"Authorization": f"Bearer {self.server.admin_token}"},
                    timeout=TIMEOUT,
                )
                self.statuses[response.status_code] += 1
                assert response.status_code == 200, response.text
                self.totals.append(response.json()["data"]["sessions"]["totalResults"])


@pytest.fixture
def server(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory() as fake:
        yield fake


def account_for(server: FakeLogScale, user: User) -> Account:
    store = server.store
    with store.locked():
        sessions = store.user_sessions(user.id)
        return Account(
            user=user,
            seeded={s.id for s in sessions},
            seeded_active={s.id for s in sessions if store.is_active(s)},
        )


def run_all(targets: list[Any]) -> list[BaseException]:
    """Run each target's ``run`` in its own thread; return what any of them raised."""
    failures: list[BaseException] = []

    def guarded(target: Any) -> None:
        try:
            target.run()
        except BaseException as error:  # reported by the test, with the thread's traceback
            failures.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a load thread did not finish"
    return failures


def test_many_clients_at_once_lose_and_duplicate_nothing(
    server: FakeLogScale, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [u for u in server.users if u.id not in {server.owner().id, server.admin().id}]
    accounts = [account_for(server, user) for user in users[:WORKERS]]
    organization_before = len(server.store.sessions(server.organization.id))
    workers = [Worker(server, account, seed) for seed, account in enumerate(accounts)]
    done = threading.Event()
    observer = Observer(server, done)
    observing = threading.Thread(target=observer.run)
    started = time.perf_counter()
    observing.start()
    try:
        failures = run_all(workers)
    finally:
        done.set()
        observing.join(timeout=60)
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]

    # every session is accounted for: none lost, none duplicated, each ended as its thread did
    store = server.store
    for account in accounts:
        with store.locked():
            sessions = store.user_sessions(account.user.id)
            ids = [s.id for s in sessions]
            assert len(ids) == len(set(ids)), f"duplicated sessions of {account.user.username}"
            assert set(ids) == account.seeded | set(account.opened), account.user.username
            for session in sessions:
                if session.id in account.ended:
                    assert session.ended is account.ended[session.id], session.id
                elif session.id in account.live:
                    assert session.ended is None and store.is_active(session), session.id
    logins = sum(len(a.opened) for a in accounts)
    organization_after = len(server.store.sessions(server.organization.id))
    assert organization_after == organization_before + logins
    assert observer.totals, "the observer never got an answer"
    assert observer.totals == sorted(observer.totals), "the organization's total went down"
    assert organization_before <= observer.totals[0] <= observer.totals[-1] <= organization_after

    # every request was answered, as expected, and recorded
    statuses = sum((a.statuses for a in accounts), observer.statuses)
    expected_401 = sum(a.expected_401 for a in accounts)
    assert statuses[401] == expected_401
    assert set(statuses) <= {200, 401}, statuses
    requests_sent = sum(statuses.values())
    assert len(server.journal) == requests_sent

    actions = sum((a.actions for a in accounts), Counter())
    with capsys.disabled():
        print(
            f"\nload: {len(workers)} clients + 1 observer, {requests_sent} requests in "
            f"{seconds:.1f} s ({requests_sent / seconds:.0f} req/s); {logins} logins, "
            f"{actions['query']} query rounds, {actions['logout']} logouts, "
            f"{actions['revoke']} session and {actions['revoke-all']} user revocations; "
            f"{organization_after} sessions in the organization, all accounted for"
        )
