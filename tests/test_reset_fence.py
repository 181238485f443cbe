"""A request belongs to the state it began in: a reset between its start and its end fences it.

Each test holds a request at a known point with a real slow body: the head and all
but the last byte of the body are sent, the test waits until the app has taken the
request in (``app.in_flight``), resets, and only then sends the last byte.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from raw_http import read_answer

from pytest_logscale import FakeLogScale, Fault, RateLimit

TIMEOUT = 10
REVOKE_ORGANIZATION = (
    "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: Organization}) }"
)
STALE = "The fake was reset while this request ran"


def _head(server: FakeLogScale, body: bytes, token: str) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: {server.server.host}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()


def json_answer(sock: socket.socket) -> tuple[str, dict[str, Any]]:
    """The status line and JSON body of the next answer."""
    status, _fields, body = read_answer(sock)
    return status, json.loads(body)


@contextmanager
def held(
    server: FakeLogScale,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    token: str | None = None,
) -> Iterator[socket.socket]:
    """A request taken in by the app but held before its body's last byte, until the block ends."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    sock = socket.create_connection((server.server.host, server.server.port), timeout=TIMEOUT)
    try:
        before = server.app.in_flight.count
        sock.sendall(_head(server, body, token or server.token) + body[:-1])
        assert server.app.in_flight.wait_for(before + 1, TIMEOUT), "the request never started"
        yield sock
        sock.sendall(body[-1:])
    except BaseException:
        sock.close()
        raise


def test_a_revocation_begun_before_a_reset_never_reaches_the_fresh_state(
    logscale_server: FakeLogScale,
) -> None:
    organization = logscale_server.organization.id
    with held(logscale_server, REVOKE_ORGANIZATION, {"id": organization}) as sock:
        logscale_server.reset()
    with sock:
        status, body = json_answer(sock)
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert STALE in body["errors"][0]["message"]
    assert logscale_server.store.export_changes().sessions == ()
    assert len(logscale_server.journal) == 0
    answer = logscale_server.execute("{ currentUser { username } }")
    assert answer == {"data": {"currentUser": {"username": logscale_server.owner().username}}}


def test_a_request_begun_before_a_reset_leaves_no_activity_in_the_fresh_state(
    logscale_server: FakeLogScale,
) -> None:
    session_id = logscale_server.store.authenticate(logscale_server.token).session_id
    assert session_id is not None
    logscale_server.reset()
    seeded = logscale_server.store.session(session_id).last_activity_at
    logscale_server.clock.advance(minutes=5)  # so that a request would move lastActivityAt
    with held(logscale_server, "{ currentUser { username } }") as sock:
        logscale_server.reset()
        logscale_server.clock.advance(minutes=5)
    with sock:
        status, _body = json_answer(sock)
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert logscale_server.store.session(session_id).last_activity_at == seeded
    assert len(logscale_server.journal) == 0


def test_a_request_begun_before_a_reset_uses_none_of_the_next_tests_faults(
    logscale_server: FakeLogScale,
) -> None:
    with held(logscale_server, "{ currentUser { username } }") as sock:
        logscale_server.reset()
        rule = logscale_server.faults.add(Fault.status(500), times=1)
    with sock:
        status, _body = json_answer(sock)
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert rule.fired == 0
    assert len(logscale_server.journal) == 0


def test_a_request_begun_before_a_reset_counts_in_none_of_the_next_tests_rate_limit(
    logscale_server: FakeLogScale,
) -> None:
    with held(logscale_server, "{ currentUser { username } }") as sock:
        logscale_server.reset()
        logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    with sock:
        status, _body = json_answer(sock)
    assert status == "HTTP/1.1 503 Service Unavailable"
    first, _ = logscale_server.post(
        '{"query": "{ currentUser { id } }"}', token=logscale_server.token
    )
    again, _ = logscale_server.post(
        '{"query": "{ currentUser { id } }"}', token=logscale_server.token
    )
    assert (first, again) == (200, 429)


@pytest.mark.parametrize("how", ["reseed", "load_state"])
def test_reseeding_or_loading_a_state_fences_requests_in_flight_too(
    logscale_server: FakeLogScale, how: str
) -> None:
    state = logscale_server.dump_state()
    organization = logscale_server.organization.id
    with held(logscale_server, REVOKE_ORGANIZATION, {"id": organization}) as sock:
        if how == "reseed":
            logscale_server.reseed(logscale_server.seed_options)
        else:
            logscale_server.load_state(state)
    with sock:
        status, _body = json_answer(sock)
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert logscale_server.execute("{ currentUser { username } }")["data"] is not None


def test_a_request_held_without_a_reset_is_answered_and_journalled(
    logscale_server: FakeLogScale,
) -> None:
    organization = logscale_server.organization.id
    with held(logscale_server, REVOKE_ORGANIZATION, {"id": organization}) as sock:
        pass
    with sock:
        status, body = json_answer(sock)
    assert status == "HTTP/1.1 200 OK"
    assert body == {"data": {"revokeSession": True}}
    assert [e.operation_type for e in logscale_server.journal] == ["mutation"]
    assert (
        logscale_server.post(
            '{"query": "{ currentUser { username } }"}', token=logscale_server.token
        )[0]
        == 401
    )


def test_in_flight_counts_requests_until_they_are_answered(logscale_server: FakeLogScale) -> None:
    assert logscale_server.app.in_flight.count == 0
    with held(logscale_server, "{ currentUser { username } }") as sock:
        assert logscale_server.app.in_flight.count == 1
    with sock:
        json_answer(sock)
    assert logscale_server.app.in_flight.wait_for(0, TIMEOUT)
    assert not logscale_server.app.in_flight.wait_for(1, 0.01)
