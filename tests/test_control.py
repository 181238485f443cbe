"""The control API under ``/_fake/``, over real HTTP: every endpoint and its errors.

A test suite in any language steers the fake through it as a Python test does
through the fixture (docs/control-api.md).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from serve_process import ServeProcess

from pytest_logscale import AppOptions, FakeLogScale, Fault, RateLimit, SeedOptions
from pytest_logscale.domain.instants import format_instant
from pytest_logscale.graphql.resolvers import datetime_scalar

TIMEOUT = 30
COUNT = "{ sessions(level: Organization, onlyActiveSessions: false, limit: 0) { totalResults } }"
ACTIVE = "{ sessions(level: Organization, limit: 0) { totalResults } }"
IDS = "query Ids { sessions(level: Organization, sortBy: LoginTime, limit: 3) { results { id } } }"
REVOKE = (
    "mutation Revoke($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }"
)


def control(server: FakeLogScale, method: str, path: str, body: Any = None) -> requests.Response:
    """A control request; ``body`` is sent as JSON unless it is bytes."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return requests.request(method, server.control_url + path, data=data, timeout=TIMEOUT)


def ok(server: FakeLogScale, method: str, path: str, body: Any = None) -> Any:
    response = control(server, method, path, body)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def refused(
    server: FakeLogScale, method: str, path: str, body: Any = None, *, status: int = 400
) -> dict[str, Any]:
    """The JSON error body of a request that must be refused with ``status``."""
    response = control(server, method, path, body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.json()
    assert isinstance(error["error"], str) and error["error"]
    return error


def graphql(server: FakeLogScale, query: str, token: str, **variables: Any) -> requests.Response:
    return requests.post(
        server.graphql_url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def sizes(answer: dict[str, Any]) -> dict[str, int]:
    """The seed and the sizes in a reset's answer (other seeding options left out)."""
    return {k: answer["seeding"][k] for k in ("seed", "organizations", "users", "sessions")}


def total(server: FakeLogScale, query: str = COUNT) -> int:
    answer = graphql(server, query, server.token)
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["data"]["sessions"]["totalResults"]
    return count


# -- the prefix, its routing and its refusals -------------------------------------------------


def test_the_fixtures_server_has_the_control_api_at_control_url(
    logscale_server: FakeLogScale,
) -> None:
    assert logscale_server.control_url == logscale_server.url + "/_fake"
    assert ok(logscale_server, "GET", "/clock")["epochMs"] == logscale_server.clock.now_ms()


HAND_OFF = """
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["CONTROL_URL"] + "/clock", data=json.dumps({"advance": 5000}).encode(), method="POST"
)
print(json.load(urllib.request.urlopen(request))["epochMs"])
"""


def test_a_subprocess_steers_the_fixtures_server_through_control_url(
    logscale_server: FakeLogScale,
) -> None:
    start = logscale_server.clock.now_ms()
    done = subprocess.run(
        [sys.executable, "-c", HAND_OFF],
        env={**os.environ, "CONTROL_URL": logscale_server.control_url},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert int(done.stdout) == start + 5000 == logscale_server.clock.now_ms()


def test_an_unknown_path_under_the_prefix_is_404_listing_every_endpoint(
    logscale_server: FakeLogScale,
) -> None:
    for path in ("/nope", "", "/", "/reset/again"):
        error = refused(logscale_server, "GET", path, status=404)
        assert "POST /_fake/reset" in error["endpoints"]
        assert "GET /_fake/journal" in error["endpoints"]
        assert "POST /_fake/login" in error["endpoints"]


def test_a_wrong_method_is_405_with_allow(logscale_server: FakeLogScale) -> None:
    response = control(logscale_server, "GET", "/reset")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert "POST" in response.json()["error"]
    assert control(logscale_server, "PATCH", "/journal").headers["Allow"] == "GET, DELETE"


def test_a_trailing_slash_is_the_same_endpoint(logscale_server: FakeLogScale) -> None:
    assert ok(logscale_server, "GET", "/clock/") == ok(logscale_server, "GET", "/clock")


def test_control_requests_never_reach_the_journal(logscale_server: FakeLogScale) -> None:
    ok(logscale_server, "GET", "/clock")
    refused(logscale_server, "GET", "/nope", status=404)
    assert len(logscale_server.journal) == 0
    assert ok(logscale_server, "GET", "/journal")["entries"] == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"advance": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    logscale_server: FakeLogScale, body: bytes, problem: str
) -> None:
    assert problem in refused(logscale_server, "POST", "/clock", body)["error"]


def test_a_body_over_the_apps_limit_is_413(logscale_server_factory: Any) -> None:
    with logscale_server_factory(app_options=AppOptions(max_body_bytes=64)) as server:
        big = {"user": "x" * 100}
        error = refused(server, "POST", "/login", big, status=413)
        assert "64 bytes" in error["error"]
        assert ok(server, "GET", "/clock")  # the connection and server carry on


def test_a_chunked_body_is_read_and_bounded(logscale_server_factory: Any) -> None:
    with logscale_server_factory(app_options=AppOptions(max_body_bytes=64)) as server:
        small = iter([b'{"advance": ', b"1000}"])
        answer = requests.post(server.control_url + "/clock", data=small, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        big = iter([b'{"user": "', b"x" * 100, b'"}'])
        answer = requests.post(server.control_url + "/login", data=big, timeout=TIMEOUT)
        assert answer.status_code == 413


def test_an_unknown_query_parameter_is_400_naming_it(logscale_server: FakeLogScale) -> None:
    error = refused(logscale_server, "GET", "/clock?at=now")
    assert error["field"] == "at"
    error = refused(logscale_server, "GET", "/journal?field=a&field=b")
    assert error["field"] == "field"


def test_a_keep_alive_connection_carries_on_across_control_and_graphql(
    logscale_server: FakeLogScale,
) -> None:
    address = urlsplit(logscale_server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        for method, path, body in [
            ("POST", "/_fake/clock", b"{nope"),
            ("GET", "/_fake/nope", None),
            ("POST", "/_fake/reset", None),
            ("GET", "/_fake/clock", b'{"ignored": true}'),
        ]:
            connection.request(method, path, body=body)
            json.loads(connection.getresponse().read())
        headers = {"Authorization": f"Bearer {logscale_server.token}"}
        connection.request("POST", "/graphql", body=json.dumps({"query": COUNT}), headers=headers)
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_without_control_the_prefix_is_404_like_any_unknown_path() -> None:
    with FakeLogScale(SeedOptions(), control=False) as server:
        answer = requests.post(server.url + "/_fake/reset", timeout=TIMEOUT)
        assert answer.status_code == 404
        assert "endpoints" not in answer.text
        (exchange,) = server.journal  # the GraphQL app's own 404, journalled as such
        assert (exchange.path, exchange.status) == ("/_fake/reset", 404)
        with pytest.raises(RuntimeError, match="control API is off"):
            _ = server.control_url


# -- reset -----------------------------------------------------------------------------------


def test_reset_puts_back_the_seeded_state_and_empties_the_journal(
    logscale_server: FakeLogScale,
) -> None:
    before = total(logscale_server, ACTIVE)
    victim = logscale_server.sessions[0]
    assert graphql(logscale_server, REVOKE, logscale_server.token, id=victim.id).ok
    logscale_server.clock.advance(hours=1)
    logscale_server.faults.add(Fault.status(503))
    answer = ok(logscale_server, "POST", "/reset")
    assert sizes(answer) == {"seed": 1, "organizations": 1, "users": 12, "sessions": 60}
    assert len(logscale_server.journal) == 0
    assert len(logscale_server.faults) == 0
    assert logscale_server.clock.now_ms() == logscale_server.clock.start_ms
    assert total(logscale_server, ACTIVE) == before


def test_reset_with_options_reseeds_and_keeps_the_options_left_out(
    logscale_server: FakeLogScale,
) -> None:
    answer = ok(logscale_server, "POST", "/reset", {"sessions": 7, "seed": 3})
    assert sizes(answer) == {"seed": 3, "organizations": 1, "users": 12, "sessions": 7}
    assert logscale_server.seed_options == SeedOptions(seed=3, sessions=7)
    assert total(logscale_server) == 7
    assert ok(logscale_server, "POST", "/reset", {})["seeding"]["sessions"] == 7


def test_the_reset_answer_names_every_seeding_option_and_takes_them_back(
    logscale_server: FakeLogScale,
) -> None:
    seeding = ok(logscale_server, "POST", "/reset")["seeding"]
    compared = [f.name for f in dataclasses.fields(SeedOptions) if f.compare]
    assert list(seeding) == compared  # bounds and the like are no seeding options
    given = {name: value for name, value in seeding.items() if value is not None}
    assert ok(logscale_server, "POST", "/reset", given)["seeding"] == seeding
    assert logscale_server.seed_options == SeedOptions()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sessions": 2}, "sessions"),
        ({"users": "twelve"}, "users"),
        ({"seed": True}, "seed"),
        ({"organizations": 1.5}, "organizations"),
        ({"clock": "9999-12-31T23:59:59Z"}, "clock"),
        ({"organizations": 100, "sessions": 100_000}, "sessions"),
        ({"size": 3}, "size"),
    ],
)
def test_reset_with_a_bad_option_is_400_naming_it_and_changes_nothing(
    logscale_server: FakeLogScale, body: dict[str, Any], field: str
) -> None:
    logscale_server.clock.advance(seconds=5)
    error = refused(logscale_server, "POST", "/reset", body)
    assert error["field"] == field
    assert field in error["error"]
    assert logscale_server.seed_options == SeedOptions()
    assert logscale_server.clock.now_ms() == logscale_server.clock.start_ms + 5000


# -- state -----------------------------------------------------------------------------------


def test_state_dumps_what_changed_and_loads_it_back(logscale_server: FakeLogScale) -> None:
    victim = logscale_server.sessions[0]
    assert graphql(logscale_server, REVOKE, logscale_server.token, id=victim.id).ok
    logscale_server.clock.advance(minutes=3)
    dumped = ok(logscale_server, "GET", "/state")
    assert dumped == logscale_server.dump_state()
    assert dumped["format"] == "pytest-logscale-state"
    ok(logscale_server, "POST", "/reset")
    assert logscale_server.dump_state() != dumped
    ok(logscale_server, "PUT", "/state", dumped)
    assert logscale_server.dump_state() == dumped


def test_a_bad_state_is_400_naming_the_place_and_changes_nothing(
    logscale_server: FakeLogScale,
) -> None:
    state = logscale_server.dump_state()
    error = refused(logscale_server, "PUT", "/state", {**state, "now": "yesterday"})
    assert error["field"] == "now"
    assert "now" in error["error"]
    error = refused(logscale_server, "PUT", "/state", {**state, "seeding": {"sessions": 1}})
    assert error["field"] == "seeding.sessions"
    late = {**state, "now": "9999-12-31T23:59:59.000-01:00"}  # after 9999-12-31 in UTC
    error = refused(logscale_server, "PUT", "/state", late)
    assert error["field"] == "now"
    assert "0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z" in error["error"]
    assert logscale_server.dump_state() == state


# -- clock -----------------------------------------------------------------------------------


def test_clock_reads_advances_and_sets(logscale_server: FakeLogScale) -> None:
    start = logscale_server.clock.now_ms()
    read = ok(logscale_server, "GET", "/clock")
    assert read["epochMs"] == start
    assert read["wall"] is False
    assert read["now"].endswith("Z")
    moved = ok(logscale_server, "POST", "/clock", {"advance": 90_000})
    assert moved["epochMs"] == start + 90_000 == logscale_server.clock.now_ms()
    assert ok(logscale_server, "POST", "/clock", {"set": start})["epochMs"] == start
    at = ok(logscale_server, "POST", "/clock", {"set": "2026-03-01T12:00:00Z"})
    assert at["epochMs"] == 1_772_366_400_000
    assert at["now"] == "2026-03-01T12:00:00.000Z"
    offset = ok(logscale_server, "POST", "/clock", {"set": "2026-03-01T13:00:00.250+01:00"})
    assert offset["epochMs"] == 1_772_366_400_250


def test_moving_the_clock_expires_sessions(logscale_server: FakeLogScale) -> None:
    token = logscale_server.member_token
    assert graphql(logscale_server, ACTIVE, token).status_code == 200
    ok(logscale_server, "POST", "/clock", {"advance": 11 * 3_600_000})
    assert graphql(logscale_server, ACTIVE, token).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"advance": 1, "set": 2}, "set"),
        ({"advance": -1}, "advance"),
        ({"advance": 1.5}, "advance"),
        ({"advance": "1000"}, "advance"),
        ({"advance": True}, "advance"),
        ({"advance": 10**30}, "advance"),
        ({"set": "2026-03-01T12:00:00"}, "set"),
        ({"set": "tomorrow"}, "set"),
        ({"set": -(10**15)}, "set"),
        ({"set": "0000-12-31T23:59:59Z"}, "set"),
        ({"set": "2026-01-01T00:00:00.0005Z"}, "set"),
        ({"set": "".join(chr(0xFF10 + int(d)) for d in "1744143060000")}, "set"),
        ({"set": 10**17}, "set"),
        ({"set": None}, "set"),
        ({"speed": 2}, "speed"),
    ],
)
def test_a_bad_clock_move_is_400_naming_the_field_and_leaves_the_clock(
    logscale_server: FakeLogScale, body: dict[str, Any], field: str | None
) -> None:
    before = logscale_server.clock.now_ms()
    assert refused(logscale_server, "POST", "/clock", body).get("field") == field
    assert logscale_server.clock.now_ms() == before


def test_an_empty_clock_move_says_to_give_advance_or_set(logscale_server: FakeLogScale) -> None:
    assert (
        "Give 'advance' (milliseconds) or 'set' (an instant)"
        in refused(logscale_server, "POST", "/clock", {})["error"]
    )


def test_the_clock_takes_every_instant_it_can_show_and_writes_a_four_digit_year(
    logscale_server: FakeLogScale,
) -> None:
    early = ok(logscale_server, "POST", "/clock", {"set": "0001-01-01T00:00:00.000Z"})
    assert early["now"] == "0001-01-01T00:00:00.000Z"
    assert ok(logscale_server, "POST", "/clock", {"set": "1969-07-20T20:17:40Z"})["epochMs"] < 0
    late = ok(logscale_server, "POST", "/clock", {"set": 253_402_300_799_999})
    assert late["now"] == "9999-12-31T23:59:59.999Z"


def test_a_state_dumped_with_a_clock_before_the_year_1000_loads_back(
    logscale_server: FakeLogScale,
) -> None:
    ok(logscale_server, "POST", "/clock", {"set": "0999-05-06T07:08:09.010Z"})
    user = logscale_server.users[0].username
    ok(logscale_server, "POST", "/login", {"user": user})
    dumped = ok(logscale_server, "GET", "/state")
    assert dumped["now"] == "0999-05-06T07:08:09.010Z"
    assert dumped["newSessions"][0]["createdAt"] == "0999-05-06T07:08:09.010Z"
    ok(logscale_server, "PUT", "/state", dumped)
    assert ok(logscale_server, "GET", "/state") == dumped


def test_the_graphql_date_time_is_written_by_the_one_formatter_with_a_four_digit_year() -> None:
    serialize = datetime_scalar._serialize  # what graphql-core calls for every DateTime
    assert serialize is not None
    for millis in (-62_135_596_800_000, -30_000_000_000_000, 0, 253_402_300_799_999):
        assert serialize(millis) == format_instant(millis)
    assert serialize(-62_135_596_800_000) == "0001-01-01T00:00:00.000Z"


# -- journal ---------------------------------------------------------------------------------


def test_the_journal_shows_what_was_called_and_filters(logscale_server: FakeLogScale) -> None:
    graphql(logscale_server, IDS, logscale_server.token)
    victim = logscale_server.sessions[5]
    graphql(logscale_server, REVOKE, logscale_server.admin_token, id=victim.id)
    graphql(logscale_server, COUNT, "not-a-token")
    entries = ok(logscale_server, "GET", "/journal")["entries"]
    assert [e["status"] for e in entries] == [200, 200, 401]
    ids, revoke, unauthorized = entries
    assert ids["operationType"] == "query"
    assert ids["operationName"] == "Ids"
    assert ids["rootFields"] == ["sessions"]
    assert len(ids["response"]["data"]["sessions"]["results"]) == 3
    assert revoke["operationName"] == "Revoke"
    assert revoke["variables"] == {"id": victim.id}
    assert revoke["calls"] == [
        {
            "field": "revokeSession",
            "arguments": {"input": {"id": victim.id, "revocationType": "Session"}},
        }
    ]
    assert revoke["userId"] == logscale_server.admin().id
    assert revoke["response"] == {"data": {"revokeSession": True}}
    assert "not valid" in unauthorized["reason"]  # the token is unknown
    assert ids["reason"] is None
    filtered = ok(logscale_server, "GET", "/journal?field=revokeSession")["entries"]
    assert filtered == [revoke]
    assert ok(logscale_server, "GET", "/journal?operation=Ids")["entries"] == [ids]
    assert ok(logscale_server, "GET", "/journal?operation=Ids&field=revokeSession")["entries"] == []


def test_the_journal_names_a_fault(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503), times=1)
    assert graphql(logscale_server, COUNT, logscale_server.token).status_code == 503
    (entry,) = ok(logscale_server, "GET", "/journal")["entries"]
    assert entry["status"] == 503
    assert entry["fault"] == logscale_server.journal[0].fault


def test_clearing_the_journal(logscale_server: FakeLogScale) -> None:
    graphql(logscale_server, COUNT, logscale_server.token)
    assert ok(logscale_server, "DELETE", "/journal") == {"entries": []}
    assert len(logscale_server.journal) == 0


def test_an_empty_journal_filter_is_400(logscale_server: FakeLogScale) -> None:
    assert refused(logscale_server, "GET", "/journal?field=")["field"] == "field"


# -- faults ----------------------------------------------------------------------------------


def test_faults_are_added_listed_used_and_cleared(logscale_server: FakeLogScale) -> None:
    fault = {"fault": "rateLimited", "retryAfter": 7, "times": 1, "rootField": "sessions"}
    listed = ok(logscale_server, "POST", "/faults", fault)["faults"]
    assert listed == [fault]
    assert ok(logscale_server, "GET", "/faults")["faults"] == listed
    answer = graphql(logscale_server, COUNT, logscale_server.token)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert ok(logscale_server, "GET", "/faults")["faults"] == []  # used up
    two = [{"fault": "status", "status": 502}, {"fault": "delay", "seconds": 0}]
    assert ok(logscale_server, "POST", "/faults", two)["faults"] == two
    assert len(logscale_server.faults) == 2
    assert ok(logscale_server, "DELETE", "/faults") == {"faults": []}
    assert len(logscale_server.faults) == 0


_KNOWN_ROOTS = "(known: __schema, __type, currentUser, logoutOfSession, organization"


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"fault": "meteor"}, "fault", "'fault' must be one of status, graphqlError, rateLimited"),
        ({}, "fault", "'fault' must be one of status, graphqlError, rateLimited, delay, droppedC"),
        ({"fault": "status"}, "status", "a status fault needs 'status'"),
        (
            {"fault": "status", "status": 200},
            "status",
            "HTTP status 200 is not an error; a status fault takes 400-599",
        ),
        # the word matcher blamed retryAfter: the message names Retry-After
        (
            {"fault": "status", "status": 429},
            "status",
            "for 429 use Fault.rate_limited(retry_after=...), which sends Retry-After",
        ),
        (
            {"fault": "status", "status": "503"},
            "status",
            "an HTTP status must be a whole number, not '503'",
        ),
        ({"fault": "status", "status": 499}, "status", "HTTP status 499 is not a known status"),
        (
            {"fault": "status", "status": 503, "colour": "red"},
            "colour",
            "unknown key 'colour' for a status fault (known: fault, status, message, html, times,",
        ),
        # the word matcher split the message on quotes: a key with a quote came out garbled
        (
            {"fault": "status", "status": 503, "it's": 1},
            "it's",
            'unknown key "it\'s" for a status fault (known: fault, status, message, html,',
        ),
        (
            {"fault": "droppedConnection", "seconds": 1},
            "seconds",
            "unknown key 'seconds' for a droppedConnection fault (known: fault, times, operati",
        ),
        (
            {"fault": "status", "status": 503, "rootField": "nope"},
            "rootField",
            f"the schema has no root field 'nope' {_KNOWN_ROOTS}",
        ),
        # the word matcher read the root field's name as the subject: html, seconds
        (
            {"fault": "status", "status": 503, "rootField": "HTML"},
            "rootField",
            f"the schema has no root field 'HTML' {_KNOWN_ROOTS}",
        ),
        (
            {"fault": "status", "status": 503, "rootField": "delay"},
            "rootField",
            f"the schema has no root field 'delay' {_KNOWN_ROOTS}",
        ),
        (
            {"fault": "status", "status": 503, "rootField": 5},
            "rootField",
            f"the schema has no root field 5 {_KNOWN_ROOTS}",
        ),
        (
            {"fault": "status", "status": 503, "times": 0},
            "times",
            "times must be a whole number from 1 to 2147483648, not 0",
        ),
        (
            {"fault": "status", "status": 503, "times": "1"},
            "times",
            "times must be a whole number from 1 to 2147483648, not '1'",
        ),
        (
            {"fault": "status", "status": 503, "html": 5},
            "html",
            "an HTML body must be a string, not 5",
        ),
        (
            {"fault": "status", "status": 503, "message": ""},
            "message",
            "a fault's message must be a non-empty string, not ''",
        ),
        (
            {"fault": "graphqlError", "message": 5},
            "message",
            "a fault's message must be a non-empty string, not 5",
        ),
        (
            {"fault": "rateLimited", "message": " "},
            "message",
            "a fault's message must be a non-empty string, not ' '",
        ),
        (
            {"fault": "rateLimited", "retryAfter": -1},
            "retryAfter",
            "Retry-After must be a whole number from 0 to 86400, not -1",
        ),
        (
            {"fault": "rateLimited", "retryAfter": True},
            "retryAfter",
            "Retry-After must be a whole number from 0 to 86400, not True",
        ),
        ({"fault": "delay"}, "seconds", "a delay fault needs 'seconds'"),
        (
            {"fault": "delay", "seconds": -1},
            "seconds",
            "a delay must be a number of seconds from 0 to 300, not -1",
        ),
        (
            {"fault": "delay", "seconds": 2, "upTo": 1},
            "upTo",
            "a delay's up_to (1 s) must not be below its seconds (2 s)",
        ),
        (
            {"fault": "delay", "seconds": 1, "upTo": "x"},
            "upTo",
            "a delay's up_to must be a number of seconds from 0 to 300, not 'x'",
        ),
        (
            {"fault": "truncatedBody", "keepBytes": 0},
            "keepBytes",
            "keep_bytes of a truncated body must be a whole number from 1 to 2147483648, not 0",
        ),
        (
            {"fault": "truncatedBody", "keepBytes": 1.5},
            "keepBytes",
            "keep_bytes of a truncated body must be a whole number from 1 to 2147483648, not 1.5",
        ),
        (
            {"fault": "status", "status": 503, "operationName": ""},
            "operationName",
            "operation_name must be a non-empty string, not ''",
        ),
        (
            {"fault": "status", "status": 503, "operationName": 5},
            "operationName",
            "operation_name must be a non-empty string, not 5",
        ),
        ("status", None, "must be a JSON object, not 'status'"),
        (5, None, "must be a JSON object, not 5"),
        (
            [{"fault": "status", "status": 503}, {"fault": "delay"}],
            "seconds",
            "faults[1]: a delay fault needs 'seconds'",
        ),
        (
            [{"fault": "status", "status": 503}, "x"],
            None,
            "faults[1]: must be a JSON object, not 'x'",
        ),
        (
            [{"fault": "status", "status": 503, "rootField": "HTML"}],
            "rootField",
            f"faults[0]: the schema has no root field 'HTML' {_KNOWN_ROOTS}",
        ),
    ],
)
def test_a_bad_fault_is_400_naming_the_field_and_adds_nothing(
    logscale_server: FakeLogScale, body: Any, field: str | None, error: str
) -> None:
    answer = refused(logscale_server, "POST", "/faults", body)
    assert answer.get("field") == field
    assert answer["error"].startswith(error), answer["error"]
    assert len(logscale_server.faults) == 0


@pytest.mark.parametrize(
    ("faults", "field", "error"),
    [
        ("x", "faults", "state: faults: must be a JSON array, not 'x'"),
        ([5], "faults[0]", "state: faults[0]: must be a JSON object, not 5"),
        ([{"fault": "meteor"}], "faults[0].fault", "state: faults[0]: 'fault' must be one of"),
        (
            [{"fault": "status", "status": 503}, {"fault": "delay"}],
            "faults[1].seconds",
            "state: faults[1]: a delay fault needs 'seconds'",
        ),
        (
            [{"fault": "status", "status": 429}],
            "faults[0].status",
            "state: faults[0]: for 429 use Fault.rate_limited(retry_after=...)",
        ),
        (
            [{"fault": "status", "status": 503, "rootField": "HTML"}],
            "faults[0].rootField",
            "state: faults[0]: the schema has no root field 'HTML'",
        ),
        (
            [{"fault": "delay", "seconds": 1, "colour": 2}],
            "faults[0].colour",
            "state: faults[0]: unknown key 'colour' for a delay fault",
        ),
    ],
)
def test_a_bad_fault_in_a_state_is_400_naming_its_place(
    logscale_server: FakeLogScale, faults: Any, field: str, error: str
) -> None:
    state = logscale_server.dump_state()
    answer = refused(logscale_server, "PUT", "/state", {**state, "faults": faults})
    assert answer.get("field") == field
    assert answer["error"].startswith(error), answer["error"]
    assert logscale_server.dump_state() == state


# -- rate limit ------------------------------------------------------------------------------


def test_the_rate_limit_is_set_read_and_removed(logscale_server: FakeLogScale) -> None:
    answer = ok(logscale_server, "PUT", "/rate-limit", {"requests": 1, "windowMs": 60_000})
    assert answer == {"rateLimit": {"requests": 1, "windowMs": 60_000}}
    assert logscale_server.rate_limit == RateLimit(1, 60_000)
    assert ok(logscale_server, "GET", "/rate-limit") == answer
    assert graphql(logscale_server, COUNT, logscale_server.token).status_code == 200
    limited = graphql(logscale_server, COUNT, logscale_server.token)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    ok(logscale_server, "POST", "/clock", {"advance": 60_000})
    assert graphql(logscale_server, COUNT, logscale_server.token).status_code == 200
    assert ok(logscale_server, "DELETE", "/rate-limit") == {"rateLimit": None}
    assert logscale_server.rate_limit is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests": 0, "windowMs": 1000}, "requests"),
        ({"requests": 5}, "windowMs"),
        ({"windowMs": 1000}, "requests"),
        ({"requests": 5, "windowMs": 86_400_001}, "windowMs"),
        ({"requests": "5", "windowMs": 1000}, "requests"),
        ({"requests": 5, "windowMs": 1000, "burst": 2}, "burst"),
    ],
)
def test_a_bad_rate_limit_is_400_naming_the_field(
    logscale_server: FakeLogScale, body: dict[str, Any], field: str
) -> None:
    assert refused(logscale_server, "PUT", "/rate-limit", body)["field"] == field
    assert logscale_server.rate_limit is None


# -- users and login -------------------------------------------------------------------------


def test_users_lists_each_user_with_organization_role_and_live_tokens(
    logscale_server: FakeLogScale,
) -> None:
    api = logscale_server.api_token(logscale_server.member())
    users = ok(logscale_server, "GET", "/users")["users"]
    assert [u["id"] for u in users] == [u.id for u in logscale_server.users]
    owner = users[0]
    assert owner["role"] == "owner"
    assert owner["organization"] == {
        "id": logscale_server.organization.id,
        "name": logscale_server.organization.name,
    }
    assert owner["username"] == logscale_server.owner().username
    assert owner["sessionToken"] == logscale_server.token
    member = next(u for u in users if u["id"] == logscale_server.member().id)
    assert member["apiTokens"] == [api]
    for user in users:
        for token in filter(None, [user["sessionToken"], *user["apiTokens"]]):
            assert graphql(logscale_server, ACTIVE, token).status_code in (200,)


def test_a_user_without_an_active_session_has_no_session_token(
    logscale_server: FakeLogScale,
) -> None:
    member = logscale_server.member()
    revoke_user = "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: User}) }"
    assert graphql(logscale_server, revoke_user, logscale_server.token, id=member.id).ok
    users = ok(logscale_server, "GET", "/users")["users"]
    (listed,) = [u for u in users if u["id"] == member.id]
    assert listed["sessionToken"] is None
    token = ok(logscale_server, "POST", "/login", {"user": member.id})["token"]
    users = ok(logscale_server, "GET", "/users")["users"]
    assert [u["sessionToken"] for u in users if u["id"] == member.id] == [token]


def test_login_by_id_or_username_opens_a_session(logscale_server: FakeLogScale) -> None:
    admin = logscale_server.admin()
    by_id = ok(logscale_server, "POST", "/login", {"user": admin.id})
    by_name = ok(logscale_server, "POST", "/login", {"user": admin.username, "ip": "198.51.100.7"})
    assert by_id["userId"] == by_name["userId"] == admin.id
    assert by_id["sessionId"] != by_name["sessionId"]
    assert logscale_server.store.session(by_name["sessionId"]).ip == "198.51.100.7"
    assert graphql(logscale_server, ACTIVE, by_id["token"]).status_code == 200
    exchange = logscale_server.journal[-1]
    assert exchange.session_id == by_id["sessionId"]


def test_login_with_api_token_makes_a_personal_token(logscale_server: FakeLogScale) -> None:
    member = logscale_server.member()
    answer = ok(logscale_server, "POST", "/login", {"user": member.id, "apiToken": True})
    assert answer["sessionId"] is None
    assert logscale_server.store.api_tokens()[answer["token"]] == member.id
    assert graphql(logscale_server, ACTIVE, answer["token"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user"),
        ({"user": "nobody@example.com"}, "user"),
        ({"user": 5}, "user"),
        ({"user": "USER", "apiToken": "yes"}, "apiToken"),
        ({"user": "USER", "ip": "not an ip"}, "ip"),
        ({"user": "USER", "city": 3}, "city"),
        ({"user": "USER", "apiToken": True, "ip": "203.0.113.1"}, "ip"),
        ({"user": "USER", "password": "x"}, "password"),
    ],
)
def test_a_bad_login_is_400_naming_the_field(
    logscale_server: FakeLogScale, body: dict[str, Any], field: str
) -> None:
    if body.get("user") == "USER":
        body = {**body, "user": logscale_server.member().id}
    before = logscale_server.dump_state()
    assert refused(logscale_server, "POST", "/login", body)["field"] == field
    assert logscale_server.dump_state() == before


# -- serve -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    with ServeProcess() as server:
        yield server


def test_serve_has_the_control_api(served: ServeProcess) -> None:
    answer = requests.post(served.url + "/_fake/clock", json={"advance": 1000}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert requests.post(served.url + "/_fake/reset", timeout=TIMEOUT).status_code == 200


def test_serve_no_control_answers_404_under_the_prefix() -> None:
    with ServeProcess("--no-control") as server:
        answer = requests.post(server.url + "/_fake/reset", timeout=TIMEOUT)
        assert answer.status_code == 404
        assert "endpoints" not in answer.text


def test_a_bug_behind_an_endpoint_is_a_json_500_logged_and_the_server_carries_on(
    logscale_server: FakeLogScale, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(logscale_server.journal, "calls", broken)
    answer = control(logscale_server, "GET", "/journal")
    assert answer.status_code == 500
    assert answer.json() == {"error": "Internal error in pytest-logscale's control API."}
    assert "control API failed on /_fake/journal" in caplog.text
    monkeypatch.undo()
    assert ok(logscale_server, "GET", "/journal") == {"entries": []}


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (("--host", "0.0.0.0"), True),
        (("--host", "0.0.0.0", "--no-control"), False),
        (("--host", "127.0.0.1"), False),
    ],
)
def test_serve_warns_when_the_control_api_can_be_reached_from_elsewhere(
    args: tuple[str, ...], warned: bool
) -> None:
    server = ServeProcess(*args).start()
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    _, stderr = server.process.communicate(timeout=TIMEOUT)
    assert server.process.returncode == 0
    assert ("control API is on at" in stderr.decode()) is warned
