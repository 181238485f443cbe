"""The speed-ups keep behaviour: the query fast path gives graphql-core's result, and
connections kept alive between requests answer every request on them correctly."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any

import pytest
from ariadne import graphql_sync
from session_oracle import expected_order, is_active

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.dataset import search_text
from pytest_logscale.domain.records import Level, Order, RevocationType, SortBy
from pytest_logscale.domain.store import SessionQuery
from pytest_logscale.graphql.fastpath import SUPPORTED, FastPath
from pytest_logscale.graphql.resolvers import Context
from pytest_logscale.seeding import SeedOptions

EVERY_FIELD = """
  id clientInfo city country ip createdAt lastActivityAt isCurrentSession
  user { id displayName username isRoot isOrgRoot fullName firstName lastName phoneNumber
         email picture createdAt countryCode stateCode company }
"""

FAST = [
    f"{{ sessions(level: Organization, onlyActiveSessions: false) {{ totalResults"
    f" results {{ {EVERY_FIELD} }} }} }}",
    "query Q($n: Int, $s: Sessions__SortBy) { sessions(limit: $n, sortBy: $s) {"
    " results { ...F user { __typename name: username } } } }"
    " fragment F on Session { id ip isCurrentSession }",
    "{ currentUser { id createdAt } organization { id name"
    " isActionAllowed(action: ChangeSessions) configs { session { maxInactivityPeriod } } } }",
    '{ user(id: "nobody") { id } }',
    "{ a: sessions(limit: 2) { totalResults } b: sessions(skip: 1) { results { ... on Session"
    " { id } } } }",
    "{ sessions { results { id } results { ip } } }",  # one key twice: merged as graphql-core does
]

SLOW = [
    "{ sessions(limit: -1) { totalResults } }",  # the resolver refuses: graphql-core reports it
    "{ sessions { results { id @include(if: true) } } }",  # directives
    "{ __schema { queryType { name } } }",  # introspection
    "query Q($n: Int) { sessions(limit: $n) { totalResults } }",  # $n is not an Int below
]


@pytest.fixture(scope="module")
def fake() -> FakeLogScale:
    return FakeLogScale(SeedOptions(seed=5))


def by_graphql_core(fake: FakeLogScale, query: str, variables: dict[str, Any]) -> Any:
    caller = fake.store.authenticate(fake.token)
    document = fake.app.documents.prepare(query).document
    _ok, result = graphql_sync(
        fake.app.schema,
        {"query": query, "variables": variables},
        context_value=Context(fake.store, caller),
        query_document=document,
    )
    return result


def by_fast_path(fake: FakeLogScale, query: str, variables: dict[str, Any]) -> Any:
    caller = fake.store.authenticate(fake.token)
    prepared = fake.app.documents.prepare(query)
    operation = prepared.operation(None)
    assert prepared.document is not None and operation is not None
    context = Context(fake.store, caller)
    return FastPath(fake.app.schema).run(prepared.document, operation, variables, context)


@pytest.mark.skipif(not SUPPORTED, reason="the fast path needs graphql-core 3.3")
@pytest.mark.parametrize("query", FAST)
def test_fast_path_gives_graphql_cores_result(fake: FakeLogScale, query: str) -> None:
    variables = {"n": 3, "s": "IPAddress"}
    data = by_fast_path(fake, query, variables)
    assert data is not None, "this plain query should take the fast path"
    assert {"data": data} == by_graphql_core(fake, query, variables)
    # key order is part of the answer too
    assert json.dumps(data) == json.dumps(by_graphql_core(fake, query, variables)["data"])


@pytest.mark.parametrize("query", SLOW)
def test_anything_else_is_left_to_graphql_core(fake: FakeLogScale, query: str) -> None:
    assert by_fast_path(fake, query, {"n": "many"}) is None


def test_errors_over_http_are_graphql_cores(fake: FakeLogScale) -> None:
    with fake:
        answer = fake.execute("{ sessions(limit: -1) { totalResults } }")
    assert answer["data"] is None
    assert answer["errors"][0]["path"] == ["sessions"]
    assert "limit must not be negative" in answer["errors"][0]["message"]


def read_response(connection: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One HTTP response read by hand, so that nothing reconnects behind the test's back."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection before answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        body += connection.recv(65536)
    return status, headers, body


def framed_request(token: str, headers: str, body: bytes) -> bytes:
    """A POST of ``body`` with these extra header lines (each ending in CRLF)."""
    return (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{headers}\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ("Content-Length: {n}\r\nContent-Length: {m}\r\n", "several different Content-Length"),
        ("Transfer-Encoding: gzip\r\nContent-Length: {n}\r\n", "gzip is not supported"),
        ("Transfer-Encoding: chunked, gzip\r\n", "chunked, gzip is not supported"),
    ],
)
def test_unclear_body_framing_gets_400_and_the_connection_closed(
    fake: FakeLogScale, headers: str, message: str
) -> None:
    """Otherwise the server and the client could disagree on where the next request starts."""
    body = json.dumps({"query": "{ currentUser { id } }"}).encode()
    extra = headers.format(n=len(body), m=len(body) + 5)
    with fake, socket.create_connection((fake.server.host, fake.server.port), 10) as connection:
        connection.sendall(framed_request(fake.token, extra, body) * 2)
        status, headers_seen, answer = read_response(connection)
        assert status == "HTTP/1.1 400 Bad Request"
        assert headers_seen["connection"] == "close"
        assert message in json.loads(answer)["errors"][0]["message"]
        assert connection.recv(65536) == b"", "nothing is read after an unclear body"
        assert fake.execute("{ currentUser { id } }")["data"]["currentUser"]["id"]


def test_equal_repeated_content_lengths_are_one(fake: FakeLogScale) -> None:
    body = json.dumps({"query": "{ currentUser { id } }"}).encode()
    extra = f"Content-Length: {len(body)}\r\nContent-Length: {len(body)}\r\n"
    with fake, socket.create_connection((fake.server.host, fake.server.port), 10) as connection:
        connection.sendall(framed_request(fake.token, extra, body))
        assert read_response(connection)[0] == "HTTP/1.1 200 OK"


def test_close_among_other_connection_tokens_closes_after_the_answer(fake: FakeLogScale) -> None:
    body = json.dumps({"query": "{ currentUser { id } }"}).encode()
    extra = f"Connection: TE, close\r\nTE: trailers\r\nContent-Length: {len(body)}\r\n"
    with fake, socket.create_connection((fake.server.host, fake.server.port), 10) as connection:
        connection.sendall(framed_request(fake.token, extra, body))
        status, headers, _answer = read_response(connection)
        assert status == "HTTP/1.1 200 OK"
        assert headers["connection"] == "close"
        assert connection.recv(65536) == b""


def test_one_connection_carries_many_requests(fake: FakeLogScale) -> None:
    body = json.dumps({"query": "{ currentUser { username } }"}).encode()
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {fake.token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with fake, socket.create_connection((fake.server.host, fake.server.port), 10) as connection:
        for _ in range(3):
            connection.sendall(request)
            status, headers, answer = read_response(connection)
            assert status == "HTTP/1.1 200 OK"
            assert "connection" not in headers
            assert json.loads(answer)["data"]["currentUser"]["username"] == fake.owner().username
        # a body the app never reads (the status page takes none) is skipped, not misread
        connection.sendall(
            b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        )
        status, _headers, answer = read_response(connection)
        assert status == "HTTP/1.1 200 OK" and json.loads(answer)["status"] == "OK"
        connection.sendall(request)
        assert read_response(connection)[0] == "HTTP/1.1 200 OK"
        # a client asking to close gets its answer and then the end of the connection
        connection.sendall(request.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n"))
        status, headers, _answer = read_response(connection)
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert connection.recv(10) == b""


def test_http_1_0_clients_get_the_connection_closed(fake: FakeLogScale) -> None:
    with fake:
        connection = http.client.HTTPConnection(fake.server.host, fake.server.port, timeout=10)
        connection._http_vsn, connection._http_vsn_str = 10, "HTTP/1.0"
        connection.request("GET", "/api/v1/status")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Connection") == "close"
        assert json.loads(response.read())["status"] == "OK"
        connection.close()


def test_stop_ends_idle_kept_alive_connections_at_once(fake: FakeLogScale) -> None:
    fake.start()
    connection = socket.create_connection((fake.server.host, fake.server.port), 10)
    connection.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(connection)[0] == "HTTP/1.1 200 OK"
    fake.stop()  # the connection's thread waits for a next request; stop must not wait 60 s
    assert not fake.server.is_running
    assert connection.recv(10) == b""
    connection.close()


# -- answers follow the state --------------------------------------------------------------


def test_answers_differ_by_session_and_variables() -> None:
    with FakeLogScale(SeedOptions(seed=3)) as fake:
        query = (
            "query Q($active: Boolean) { sessions(level: Organization,"
            " onlyActiveSessions: $active, sortBy: IPAddress, limit: 100) {"
            " totalResults results { id ip lastActivityAt isCurrentSession } } }"
        )
        tokens = [fake.token, fake.login(fake.owner()).token]  # one user, two sessions
        for _ in range(2):  # the second round runs in a state both requests have seen
            current = []
            for token in tokens:
                answer = fake.execute(query, {"active": False}, token=token)
                results = answer["data"]["sessions"]["results"]
                current += [r["id"] for r in results if r["isCurrentSession"]]
            assert len(set(current)) == 2, "each session sees itself as the current one"
        everything = fake.execute(query, {"active": False})["data"]["sessions"]
        active = fake.execute(query, {"active": True})["data"]["sessions"]
        assert active["totalResults"] < everything["totalResults"]


def test_answers_follow_the_clock_alone() -> None:
    """A personal API token records no activity: only the clock changes between requests."""
    with FakeLogScale(SeedOptions(seed=3)) as fake:
        token = fake.api_token(fake.owner())
        query = "{ sessions(level: Organization) { totalResults } }"
        before = fake.execute(query, token=token)["data"]["sessions"]["totalResults"]
        assert fake.execute(query, token=token)["data"]["sessions"]["totalResults"] == before
        fake.clock.advance(days=2)
        after = fake.execute(query, token=token)["data"]["sessions"]["totalResults"]
        assert after < before


def test_organization_filters_over_columns_follow_the_rules_as_state_and_clock_move() -> None:
    """The column filters (kept per clock and per search text) against the rules, written out."""
    fake = FakeLogScale(SeedOptions(seed=9, users=40, sessions=600))
    store = fake.store
    owner = store.authenticate(fake.token)
    usernames = {u.id: u.username for u in store.users()}
    organization = owner.organization_id

    def check(needle: str | None, only_active: bool) -> None:
        for sort_by, order in (("IPAddress", "ASC"), ("LastActivityTime", "DESC")):
            query = SessionQuery(
                search_filter=needle,
                level=Level.ORGANIZATION,
                sort_by=SortBy(sort_by),
                order=Order(order),
                skip=0,
                limit=10_000,
                only_active=only_active,
            )
            got = [s.id for s in store.query_sessions(owner, query).sessions]
            now, settings = store.clock.now_ms(), store.settings(organization)
            folded = (needle or "").strip().casefold()
            wanted = [
                s
                for s in store.sessions(organization)
                if (not only_active or is_active(s, now, settings))
                and folded in search_text(s, store.user(s.user_id))
            ]
            assert got == expected_order(wanted, sort_by, order, usernames)

    def check_all() -> None:
        for needle in (None, "a", "mozilla", " LYON ", "nothing-matches"):
            for only_active in (True, False):
                check(needle, only_active)

    check_all()
    for session in store.sessions(organization)[:30]:
        store.revoke(owner, session.id, RevocationType.SESSION)
    store.login(fake.member().id, client_info="Mozilla/5.0 columns")
    check_all()
    store.clock.advance(hours=3)
    check_all()
    store.update_session_settings(owner, 3_600_000, 10 * 86_400_000)
    check_all()
    store.reset()
    check_all()


def new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    return set(threading.enumerate()) - before


def test_threads_are_kept_for_the_next_connection_and_all_end_at_stop() -> None:
    before = set(threading.enumerate())
    with FakeLogScale(SeedOptions(seed=3)) as fake:
        seen: set[threading.Thread] = set()
        for _ in range(30):  # a connection per request, as a test suite opens them
            assert fake.execute("{ currentUser { id } }")["data"]["currentUser"]["id"]
            seen |= new_threads(before)
        assert len(seen) <= 10, "threads are reused, not one per connection"
    assert not new_threads(before)


def test_idle_connections_never_keep_a_new_one_waiting() -> None:
    """Each kept-alive connection holds a thread; the next connection still gets answered."""
    request = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
    with FakeLogScale(SeedOptions(seed=3)) as fake:
        address = (fake.server.host, fake.server.port)
        idle = [socket.create_connection(address, 10) for _ in range(12)]
        try:
            for connection in idle:
                connection.sendall(request)
                assert read_response(connection)[0] == "HTTP/1.1 200 OK"
            assert fake.execute("{ currentUser { id } }")["data"]["currentUser"]["id"]
            for connection in idle:  # and each idle one still answers
                connection.sendall(request)
                assert read_response(connection)[0] == "HTTP/1.1 200 OK"
        finally:
            for connection in idle:
                connection.close()


def test_a_connection_that_says_nothing_does_not_stop_the_server_from_stopping() -> None:
    before = set(threading.enumerate())
    fake = FakeLogScale(SeedOptions(seed=3)).start()
    silent = socket.create_connection((fake.server.host, fake.server.port), 10)
    assert fake.execute("{ currentUser { id } }")["data"]["currentUser"]["id"]
    fake.stop()  # the silent connection's thread is waiting for a request line
    assert not new_threads(before)
    assert silent.recv(10) == b""
    silent.close()


def test_stopping_while_connections_arrive_ends_every_thread() -> None:
    """Connections arriving just before a stop leave no thread behind."""
    before = set(threading.enumerate())
    for _ in range(20):
        fake = FakeLogScale(SeedOptions(seed=3)).start()
        connections = [
            socket.create_connection((fake.server.host, fake.server.port), 10) for _ in range(3)
        ]
        fake.stop()
        for connection in connections:
            connection.close()
        assert not new_threads(before)


def test_clients_that_never_read_their_answers_do_not_outlive_stop() -> None:
    """Threads blocked writing to clients that read nothing are cut loose within the timeout."""
    before = set(threading.enumerate())
    fake = FakeLogScale(SeedOptions(seed=3, users=100, sessions=3000)).start()
    query = (
        "{ sessions(level: Organization, onlyActiveSessions: false, limit: 3000)"
        " { results { id clientInfo ip city country user { id username email } } } }"
    )
    body = json.dumps({"query": query}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {fake.token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    readers = []
    try:
        for _ in range(2):
            client = socket.create_connection((fake.server.host, fake.server.port), 10)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            for _ in range(20):  # far more answer than the socket buffers hold
                client.sendall(head + body)
            readers.append(client)
        deadline = time.monotonic() + 10
        while len(fake.journal) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for the server to be stuck writing, not for time to pass
        started = time.monotonic()
        fake.server.stop(timeout=0.5)
        took = time.monotonic() - started
        assert not new_threads(before), "no thread outlives stop"
        assert took < 0.5 + 1.0 + 0.5, f"one deadline for every thread, not one each: {took:.2f}s"
    finally:
        for client in readers:
            client.close()
        fake.stop()
