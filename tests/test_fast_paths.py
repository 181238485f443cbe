"""The speed-ups keep behaviour: the query fast path gives graphql-core's result, and
connections kept alive between requests answer every request on them correctly."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import pytest
from ariadne import graphql_sync

from pytest_logscale import FakeLogScale
from pytest_logscale.executor import FastPath
from pytest_logscale.resolvers import Context
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
]

SLOW = [
    "{ sessions(limit: -1) { totalResults } }",  # the resolver refuses: graphql-core reports it
    "{ sessions { results { id @include(if: true) } } }",  # directives
    "{ sessions { results { id } results { ip } } }",  # one key twice: graphql-core merges
    "{ __schema { queryType { name } } }",  # introspection
    "mutation { logoutOfSession }",
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
    document = fake.app.documents.prepare(query).document
    assert document is not None
    return FastPath(fake.app.schema).run(document, None, variables, Context(fake.store, caller))


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
