"""Fault injection through real clients: what each fault looks like, whom it hits, and after."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gql import Client
from gql import gql as document
from gql.client import SyncClientSession
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from serve_process import ServeProcess
from test_http import TIMEOUT, gql, padded, post

from pytest_logscale import FakeLogScale, Fault, FaultPlan, StateError
from pytest_logscale.domain.checks import OptionError
from pytest_logscale.plugin import LogScaleServerFactory

LISTING = "query Listing { sessions(limit: 2) { totalResults } }"
ME = "query Me { currentUser { username } }"
LOGOUT = "mutation { logoutOfSession }"
BAD_VARIABLES = "query($x: Int) { sessions(limit: $x) { totalResults } }"
DOCS = Path(__file__).parent.parent / "docs"

#: One of each kind, for the properties every fault shares.
EVERY_FAULT = {
    "status": Fault.status(503),
    "html status": Fault.status(502, html="<html><body>Bad gateway</body></html>"),
    "graphql error": Fault.graphql_error(),
    "rate limited": Fault.rate_limited(30),
    "delay": Fault.delay(0.01),
    "random delay": Fault.delay(0.01, up_to=0.02),
    "dropped connection": Fault.dropped_connection(),
    "truncated body": Fault.truncated_body(),
}


def send(server: FakeLogScale, query: str, *, token: str = "") -> requests.Response:
    return post(server, gql(query), token=token)


def assert_answers_normally(server: FakeLogScale) -> None:
    response = send(server, ME)
    assert response.status_code == 200
    assert response.json() == {"data": {"currentUser": {"username": server.owner().username}}}


def try_send(server: FakeLogScale, query: str, *, token: str = "") -> requests.Response | None:
    """The response, or None when the connection broke (a dropped or truncated answer)."""
    try:
        response = send(server, query, token=token)
        response.content  # noqa: B018  (reads the whole body)
    except requests.exceptions.RequestException:
        return None
    return response


# -- every fault ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", EVERY_FAULT.values(), ids=EVERY_FAULT.keys())
def test_after_each_fault_the_server_answers_the_next_request_normally(
    logscale_server: FakeLogScale, fault: Fault
) -> None:
    rule = logscale_server.faults.add(fault, times=1)
    try_send(logscale_server, LISTING)
    assert rule.fired == 1
    assert_answers_normally(logscale_server)
    first, second = logscale_server.journal
    assert first.fault is not None
    assert second.fault is None
    assert logscale_server.faults.rules == []


@pytest.mark.parametrize("fault", EVERY_FAULT.values(), ids=EVERY_FAULT.keys())
def test_a_keep_alive_client_carries_on_after_each_fault(
    logscale_server: FakeLogScale, fault: Fault
) -> None:
    logscale_server.faults.add(fault, times=1)
    headers = {"Authorization": f"Bearer {logscale_server.token}"}
    with requests.Session() as client:
        answers = []
        for _ in range(3):
            try:
                answers.append(
                    client.post(
                        logscale_server.graphql_url,
                        json={"query": ME},
                        headers=headers,
                        timeout=TIMEOUT,
                    ).status_code
                )
            except requests.exceptions.RequestException:
                answers.append(0)
    assert answers[1:] == [200, 200]


@pytest.mark.parametrize("fault", EVERY_FAULT.values(), ids=EVERY_FAULT.keys())
def test_every_fault_is_named_in_the_journal_and_its_summary(
    logscale_server: FakeLogScale, fault: Fault
) -> None:
    logscale_server.faults.add(fault, times=1)
    try_send(logscale_server, LISTING)
    (exchange,) = logscale_server.journal
    assert exchange.fault is not None
    assert exchange.operation_name == "Listing"
    assert f"fault={exchange.fault}" in exchange.summary()
    assert exchange.user_id == logscale_server.owner().id


# -- HTTP status --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [500, 502, 503, 504, 401, 404])
def test_a_status_fault_answers_that_status_with_a_json_error_body(
    logscale_server: FakeLogScale, code: int
) -> None:
    logscale_server.faults.add(Fault.status(code), times=1)
    response = send(logscale_server, LISTING)
    assert response.status_code == code
    assert response.headers["Content-Type"] == "application/json"
    assert response.reason == http.HTTPStatus(code).phrase
    (error,) = response.json()["errors"]
    assert http.HTTPStatus(code).phrase in error["message"]
    assert logscale_server.journal[0].status == code
    assert logscale_server.journal[0].fault == f"status {code}"
    assert logscale_server.journal[0].response == response.json()


def test_a_status_fault_takes_a_message(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(500, "The cluster is rebalancing."))
    response = send(logscale_server, LISTING)
    assert response.json() == {"errors": [{"message": "The cluster is rebalancing."}]}


def test_a_status_fault_with_html_sends_the_page_as_a_proxy_would(
    logscale_server: FakeLogScale,
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    logscale_server.faults.add(Fault.status(502, html=page))
    response = send(logscale_server, LISTING)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == page
    assert logscale_server.journal[0].response == page  # the text, as it was not JSON


def test_a_status_fault_does_not_run_the_request(logscale_server: FakeLogScale) -> None:
    session = logscale_server.login(logscale_server.member())
    logscale_server.faults.add(Fault.status(503), times=1)
    assert send(logscale_server, LOGOUT, token=session.token).status_code == 503
    assert send(logscale_server, ME, token=session.token).status_code == 200


# -- GraphQL error ------------------------------------------------------------------------------


def test_a_graphql_error_on_a_non_null_root_field_nulls_data_with_the_path(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.faults.add(Fault.graphql_error("Search is unavailable."), times=1)
    response = send(logscale_server, LISTING)
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Search is unavailable.",
                "locations": [{"line": 1, "column": 17}],
                "path": ["sessions"],
            }
        ],
    }
    assert logscale_server.journal[0].fault == "GraphQL error at sessions"


def test_a_graphql_error_on_a_nullable_root_field_keeps_the_other_fields(
    logscale_server: FakeLogScale,
) -> None:
    owner = logscale_server.owner()
    query = f'{{ me: currentUser {{ username }} other: user(id: "{owner.id}") {{ id }} }}'
    logscale_server.faults.add(Fault.graphql_error(), root_field="user")
    body = send(logscale_server, query).json()
    assert body["data"] == {"me": {"username": owner.username}, "other": None}
    (error,) = body["errors"]
    assert error["path"] == ["other"]  # the alias, as the client asked for it
    assert "fault injected by pytest-logscale" in error["message"]


def test_a_graphql_error_lands_on_the_first_root_field_unless_the_rule_names_one(
    logscale_server: FakeLogScale,
) -> None:
    query = "{ currentUser { id } organization { id } }"
    logscale_server.faults.add(Fault.graphql_error(), times=1)
    logscale_server.faults.add(Fault.graphql_error(), root_field="organization", times=1)
    assert send(logscale_server, query).json()["errors"][0]["path"] == ["currentUser"]
    assert send(logscale_server, query).json()["errors"][0]["path"] == ["organization"]


def test_a_graphql_error_on_a_mutation_does_not_run_it(logscale_server: FakeLogScale) -> None:
    session = logscale_server.login(logscale_server.member())
    logscale_server.faults.add(Fault.graphql_error(), root_field="logoutOfSession", times=1)
    body = send(logscale_server, LOGOUT, token=session.token).json()
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["logoutOfSession"]
    assert send(logscale_server, ME, token=session.token).status_code == 200


# -- 429 ----------------------------------------------------------------------------------------


def test_a_rate_limited_fault_answers_429_with_retry_after(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.rate_limited(retry_after=30), times=1)
    response = send(logscale_server, LISTING)
    assert response.status_code == 429
    assert response.reason == "Too Many Requests"
    assert response.headers["Retry-After"] == "30"
    assert "Too Many Requests" in response.json()["errors"][0]["message"]
    assert logscale_server.journal[0].fault == "rate limited (Retry-After 30)"


def test_a_rate_limited_fault_without_retry_after_sends_no_header(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.faults.add(Fault.rate_limited(retry_after=None, message="Slow down."))
    response = send(logscale_server, LISTING)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert response.json() == {"errors": [{"message": "Slow down."}]}


# -- delay --------------------------------------------------------------------------------------


def test_a_delay_holds_the_answer_back_at_least_that_long(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.delay(0.2), times=1)
    started = time.monotonic()
    response = send(logscale_server, LISTING)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert response.json()["data"]["sessions"]["totalResults"] > 0
    assert logscale_server.journal[0].fault == "delay 0.2 s"


def drawn_delays(server: FakeLogScale, count: int) -> list[float]:
    server.faults.add(Fault.delay(0.01, up_to=0.05), times=count)
    for _ in range(count):
        started = time.monotonic()
        send(server, ME)
        elapsed = time.monotonic() - started
        label = server.journal[-1].fault or ""
        drawn = float(re.fullmatch(r"delay (\d\.\d{3}) s", label).group(1))  # type: ignore[union-attr]
        assert elapsed >= drawn - 0.0005  # the label is rounded to the millisecond
    return [float((e.fault or "").split()[1]) for e in server.journal]


def test_a_random_delay_is_drawn_within_bounds_the_same_way_in_every_run(
    logscale_server: FakeLogScale,
) -> None:
    first = drawn_delays(logscale_server, 4)
    assert all(0.01 <= delay <= 0.05 for delay in first)
    assert len(set(first)) > 1
    logscale_server.reset()
    assert drawn_delays(logscale_server, 4) == first


def test_random_delays_follow_the_seed() -> None:
    def draws(seed: int) -> list[float]:
        plan = FaultPlan(seed=seed)
        plan.add(Fault.delay(0, up_to=300))
        return [plan.take(None, ("sessions",)).seconds for _ in range(3)]  # type: ignore[union-attr]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def in_background(action: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to get somewhere (not for time to pass), at most 10 s."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the other thread never got there"
        time.sleep(0.005)


def test_reset_cuts_a_running_delay_short_and_drops_its_request_unrecorded(
    logscale_server: FakeLogScale,
) -> None:
    session = logscale_server.login(logscale_server.member())
    rule = logscale_server.faults.add(Fault.delay(300), times=1)
    started = time.monotonic()
    thread, outcome = in_background(lambda: send(logscale_server, LOGOUT, token=session.token))
    wait_until(lambda: rule.fired == 1)
    logscale_server.reset()
    thread.join(30)
    assert time.monotonic() - started < 30
    assert isinstance(outcome[0], requests.ConnectionError)
    assert len(logscale_server.journal) == 0


def test_a_delay_taken_before_a_clear_does_not_wait_at_all() -> None:
    plan = FaultPlan()
    plan.add(Fault.delay(300))
    fired = plan.take(None, ("sessions",))
    assert fired is not None
    plan.clear()
    started = time.monotonic()
    assert plan.sleep(fired) is False
    assert time.monotonic() - started < 10


def test_a_delay_taken_after_stop_began_does_not_wait_until_the_plan_opens_again() -> None:
    plan = FaultPlan()
    plan.add(Fault.delay(300), times=1)
    plan.close()  # what FakeLogScale.stop() does first: the server may still take requests
    fired = plan.take(None, ("sessions",))
    assert fired is not None
    started = time.monotonic()
    assert plan.sleep(fired) is False
    assert time.monotonic() - started < 10
    plan.open()  # what start() does
    plan.add(Fault.delay(0.01), times=1)
    fired = plan.take(None, ("sessions",))
    assert fired is not None and plan.sleep(fired) is True


def test_a_stopped_and_started_server_delays_again(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    server = logscale_server_factory()
    server.stop()
    server.start()
    server.faults.add(Fault.delay(0.01), times=1)
    assert send(server, ME).status_code == 200
    assert server.journal[-1].fault == "delay 0.01 s"


def test_stop_cuts_a_running_delay_short(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    server = logscale_server_factory()
    rule = server.faults.add(Fault.delay(300))
    thread, outcome = in_background(lambda: send(server, ME))
    wait_until(lambda: rule.fired == 1)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    thread.join(30)
    assert isinstance(outcome[0], requests.ConnectionError)


# -- dropped connection, truncated body ---------------------------------------------------------


def test_a_dropped_connection_gives_no_answer_and_does_not_run_the_request(
    logscale_server: FakeLogScale,
) -> None:
    session = logscale_server.login(logscale_server.member())
    logscale_server.faults.add(Fault.dropped_connection(), times=1)
    with pytest.raises(requests.ConnectionError, match="without response"):
        send(logscale_server, LOGOUT, token=session.token)
    assert send(logscale_server, ME, token=session.token).status_code == 200
    dropped = logscale_server.journal[0]
    assert (dropped.status, dropped.fault, dropped.response) == (0, "dropped connection", None)


def raw_post(server: FakeLogScale, query: str, token: str) -> http.client.HTTPResponse:
    address = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(address[0], int(address[1]), timeout=TIMEOUT)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", "/graphql", body=gql(query), headers=headers)
    return connection.getresponse()


def test_a_truncated_body_promises_more_than_it_sends_and_the_request_ran(
    logscale_server: FakeLogScale,
) -> None:
    session = logscale_server.login(logscale_server.member())
    logscale_server.faults.add(Fault.truncated_body(keep_bytes=5), times=1)
    response = raw_post(logscale_server, LOGOUT, session.token)
    assert response.status == 200
    assert response.getheader("Connection") == "close"
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    whole = json.dumps({"data": {"logoutOfSession": True}}, separators=(",", ":")).encode()
    assert cut.value.partial == whole[:5]
    assert int(response.getheader("Content-Length") or 0) == len(whole)
    assert send(logscale_server, ME, token=session.token).status_code == 401  # it did log out
    assert logscale_server.journal[0].response == {"data": {"logoutOfSession": True}}


def test_a_truncated_body_keeps_half_by_default_and_never_all(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.faults.add(Fault.truncated_body(), times=1)
    logscale_server.faults.add(Fault.truncated_body(keep_bytes=10_000), times=1)
    sent = []
    for _ in range(2):
        response = raw_post(logscale_server, ME, logscale_server.token)
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
        sent.append((len(cut.value.partial), int(response.getheader("Content-Length") or 0)))
    (half, length), (most, same_length) = sent
    assert (half, most) == (length // 2, same_length - 1)
    logscale_server.faults.add(Fault.truncated_body(), times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        send(logscale_server, LISTING)


@pytest.mark.parametrize(
    ("fault", "raised"),
    [
        (Fault.dropped_connection(), requests.ConnectionError),
        (Fault.truncated_body(), requests.exceptions.ChunkedEncodingError),
    ],
    ids=["dropped connection", "truncated body"],
)
def test_a_chunked_request_meets_broken_answers_too(
    logscale_server: FakeLogScale, fault: Fault, raised: type[Exception]
) -> None:
    logscale_server.faults.add(fault, times=1)
    headers = {"Authorization": f"Bearer {logscale_server.token}"}
    for expected in (raised, None):
        body = iter([gql(ME).encode()])  # no length: sent chunked, served Werkzeug's way
        try:
            answer = requests.post(
                logscale_server.graphql_url, data=body, headers=headers, timeout=TIMEOUT
            )
            assert expected is None
            assert answer.json()["data"]["currentUser"]["username"]
        except requests.exceptions.RequestException as error:
            assert expected is not None and isinstance(error, expected)


# -- which requests -----------------------------------------------------------------------------


def test_a_rule_without_matchers_hits_every_request_until_cleared(
    logscale_server: FakeLogScale,
) -> None:
    rule = logscale_server.faults.add(Fault.status(503))
    assert [send(logscale_server, q).status_code for q in (ME, LISTING, ME)] == [503] * 3
    assert (rule.fired, rule.remaining) == (3, None)
    logscale_server.faults.clear()
    assert_answers_normally(logscale_server)


def test_times_hits_the_next_n_matching_requests_only(logscale_server: FakeLogScale) -> None:
    rule = logscale_server.faults.add(Fault.status(500), times=2)
    assert [send(logscale_server, ME).status_code for _ in range(3)] == [500, 500, 200]
    assert (rule.fired, rule.remaining) == (2, 0)
    assert len(logscale_server.faults) == 0


def test_times_holds_under_concurrent_requests(logscale_server: FakeLogScale) -> None:
    rule = logscale_server.faults.add(Fault.status(503), times=5)
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda: codes.extend(statuses_of(logscale_server, 4)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(codes) == [200] * 27 + [503] * 5
    assert rule.fired == 5
    assert [e.status for e in logscale_server.journal].count(503) == 5


def statuses_of(server: FakeLogScale, count: int) -> list[int]:
    return [send(server, ME).status_code for _ in range(count)]


def test_a_rule_can_match_an_operation_name(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503), operation_name="Listing")
    assert send(logscale_server, ME).status_code == 200
    assert send(logscale_server, LISTING).status_code == 503
    assert send(logscale_server, LISTING.replace("Listing", "Other")).status_code == 200


def test_a_rule_can_match_a_root_field_among_others(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503), root_field="sessions")
    assert send(logscale_server, ME).status_code == 200
    both = "{ currentUser { id } sessions { totalResults } }"
    assert send(logscale_server, both).status_code == 503


def test_a_rule_with_both_matchers_needs_both(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503), operation_name="Me", root_field="sessions")
    assert send(logscale_server, ME).status_code == 200
    assert send(logscale_server, LISTING).status_code == 200
    both = "query Me { currentUser { id } sessions { totalResults } }"
    assert send(logscale_server, both).status_code == 503


def test_a_rule_can_match_introspection(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503), root_field="__schema")
    assert send(logscale_server, "{ __schema { queryType { name } } }").status_code == 503
    assert send(logscale_server, '{ __type(name: "User") { name } }').status_code == 200


def test_rules_are_checked_in_order_and_only_the_first_match_fires(
    logscale_server: FakeLogScale,
) -> None:
    narrow = logscale_server.faults.add(Fault.status(500), root_field="sessions", times=1)
    broad = logscale_server.faults.add(Fault.status(503))
    assert send(logscale_server, LISTING).status_code == 500
    assert send(logscale_server, LISTING).status_code == 503
    assert send(logscale_server, ME).status_code == 503
    assert (narrow.fired, broad.fired) == (1, 2)
    assert logscale_server.faults.rules == [broad]


def test_requests_refused_anyway_are_answered_as_usual_and_use_up_no_fault(
    logscale_server: FakeLogScale,
) -> None:
    rule = logscale_server.faults.add(Fault.status(503), times=1)
    assert send(logscale_server, ME, token="no-such-token").status_code == 401
    assert post(logscale_server, "not json").status_code == 400
    assert send(logscale_server, "{ nope }").status_code == 400
    assert requests.get(logscale_server.url + "/api/v1/status", timeout=TIMEOUT).ok
    assert rule.fired == 0
    assert send(logscale_server, ME).status_code == 503


def test_bad_variables_and_a_too_large_body_use_up_no_fault(
    logscale_server: FakeLogScale,
) -> None:
    rule = logscale_server.faults.add(Fault.status(503), times=1)
    bad = gql(BAD_VARIABLES, variables={"x": "notanint"})
    response = post(logscale_server, bad)
    assert response.status_code == 400
    assert "$x" in response.json()["errors"][0]["message"]
    assert post(logscale_server, padded((1 << 20) + 1)).status_code == 413
    assert rule.fired == 0
    assert send(logscale_server, ME).status_code == 503


# -- through gql --------------------------------------------------------------------------------


def gql_client(server: FakeLogScale) -> Client:
    """gql as a client author would set it up, without retries."""
    transport = RequestsHTTPTransport(
        url=server.graphql_url,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=TIMEOUT,
        retries=0,
    )
    return Client(transport=transport)


@pytest.fixture
def gql_session(logscale_server: FakeLogScale) -> Iterator[SyncClientSession]:
    with gql_client(logscale_server) as session:
        yield session


GQL_RAISES: dict[str, tuple[Fault, type[Exception]]] = {
    "status with JSON body": (Fault.status(503), TransportQueryError),
    "status with HTML page": (Fault.status(502, html="<h1>Bad gateway</h1>"), TransportServerError),
    "graphql error": (Fault.graphql_error(), TransportQueryError),
    "rate limited": (Fault.rate_limited(30), TransportQueryError),
    "dropped connection": (Fault.dropped_connection(), TransportConnectionFailed),
    "truncated body": (Fault.truncated_body(), TransportConnectionFailed),
}


@pytest.mark.parametrize(("fault", "raised"), GQL_RAISES.values(), ids=GQL_RAISES.keys())
def test_gql_raises_its_own_exception_for_each_fault_then_carries_on(
    logscale_server: FakeLogScale,
    gql_session: SyncClientSession,
    fault: Fault,
    raised: type[Exception],
) -> None:
    logscale_server.faults.add(fault, times=1)
    with pytest.raises(raised) as caught:
        gql_session.execute(document(LISTING))
    if isinstance(caught.value, TransportServerError):
        assert caught.value.code == 502
    if isinstance(caught.value, TransportQueryError):
        assert caught.value.errors  # gql reads a JSON error body as a query error, whatever status
    assert gql_session.execute(document(ME)) == {
        "currentUser": {"username": logscale_server.owner().username}
    }


def test_gql_sees_the_path_of_a_graphql_error(
    logscale_server: FakeLogScale, gql_session: SyncClientSession
) -> None:
    logscale_server.faults.add(Fault.graphql_error("Try again."), root_field="sessions")
    with pytest.raises(TransportQueryError) as caught:
        gql_session.execute(document(LISTING))
    (error,) = caught.value.errors or []
    assert (error["message"], error["path"]) == ("Try again.", ["sessions"])
    assert error["locations"] == [{"line": 2, "column": 3}]  # gql sends the document reprinted
    assert caught.value.data is None


def test_gql_waits_out_a_delay(
    logscale_server: FakeLogScale, gql_session: SyncClientSession
) -> None:
    logscale_server.faults.add(Fault.delay(0.2), times=1)
    started = time.monotonic()
    assert gql_session.execute(document(LISTING))["sessions"]["totalResults"] > 0
    assert time.monotonic() - started >= 0.2


# -- clearing -----------------------------------------------------------------------------------


def test_reset_clears_every_fault(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(503))
    logscale_server.faults.add(Fault.dropped_connection(), times=3)
    logscale_server.reset()
    assert logscale_server.faults.rules == []
    assert_answers_normally(logscale_server)


def test_faults_never_reach_the_next_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests
        from pytest_logscale import Fault

        def test_one(logscale_server):
            logscale_server.faults.add(Fault.status(503))
            assert logscale_server.post('{"query": "{ currentUser { id } }"}',
                                        token=logscale_server.token)[0] == 503

        def test_two(logscale_server):
            assert logscale_server.faults.rules == []
            status, body = logscale_server.post('{"query": "{ currentUser { id } }"}',
                                                token=logscale_server.token)
            assert status == 200, body
            assert logscale_server.journal[0].fault is None
        """
    )
    pytester.runpytest("-p", "no:faker").assert_outcomes(passed=2)


# -- bad fault specifications ---------------------------------------------------------------------


#: How a Fault is made wrongly, the message's start, and the parameter its OptionError names.
BAD_FAULTS: dict[str, tuple[Callable[[], object], str, str]] = {
    "status 200": (lambda: Fault.status(200), "HTTP status 200 is not an error", "code"),
    "status 429": (lambda: Fault.status(429), r"for 429 use Fault.rate_limited", "code"),
    "status 600": (lambda: Fault.status(600), "HTTP status 600 is not an error", "code"),
    "unknown status": (lambda: Fault.status(599), "HTTP status 599 is not a known status", "code"),
    "status as text": (lambda: Fault.status("503"), "must be a whole number, not '503'", "code"),  # type: ignore[arg-type]
    "empty message": (
        lambda: Fault.status(500, ""),
        "message must be a non-empty string",
        "message",
    ),
    "html not text": (lambda: Fault.status(502, html=b"x"), "HTML body must be a string", "html"),  # type: ignore[arg-type]
    "negative delay": (
        lambda: Fault.delay(-1),
        "a delay must be a number of seconds from 0",
        "seconds",
    ),
    "endless delay": (lambda: Fault.delay(301), "from 0 to 300, not 301", "seconds"),
    "nan delay": (lambda: Fault.delay(float("nan")), "not nan", "seconds"),
    "up_to below": (lambda: Fault.delay(2, up_to=1), r"up_to \(1 s\) must not be below", "up_to"),
    "negative retry": (
        lambda: Fault.rate_limited(-1),
        "Retry-After must be a whole number",
        "retry_after",
    ),
    "fractional retry": (lambda: Fault.rate_limited(1.5), "not 1.5", "retry_after"),  # type: ignore[arg-type]
    "negative keep": (
        lambda: Fault.truncated_body(-1),
        "keep_bytes of a truncated body",
        "keep_bytes",
    ),
    "zero keep": (
        lambda: Fault.truncated_body(0),
        "keep_bytes of a truncated body must be a whole number from 1 .*not 0",
        "keep_bytes",
    ),
}


@pytest.mark.parametrize(("make", "message", "name"), BAD_FAULTS.values(), ids=BAD_FAULTS.keys())
def test_a_bad_fault_is_a_clear_value_error_naming_the_parameter(
    make: Callable[[], object], message: str, name: str
) -> None:
    with pytest.raises(OptionError, match=message) as raised:
        make()
    assert raised.value.name == name


#: A rule's arguments given wrongly, the error and its message (a ValueError names the parameter).
BAD_RULES: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "zero times": ({"times": 0}, ValueError, "times must be a whole number from 1"),
    "negative times": ({"times": -2}, ValueError, "not -2"),
    "times as bool": ({"times": True}, ValueError, "not True"),
    "empty operation": ({"operation_name": " "}, ValueError, "operation_name must be a non-empty"),
    "unknown root field": (
        {"root_field": "session"},
        ValueError,
        r"the schema has no root field 'session' \(known: __schema, __type, currentUser, ",
    ),
    "not a fault": ({"fault": 503}, TypeError, r"made with Fault.status\(...\)"),
}


@pytest.mark.parametrize(("arguments", "raised", "message"), BAD_RULES.values(), ids=BAD_RULES)
def test_a_bad_rule_is_refused_and_nothing_is_added(
    logscale_server: FakeLogScale, arguments: dict[str, Any], raised: type[Exception], message: str
) -> None:
    arguments = {"fault": Fault.status(503), **arguments}
    with pytest.raises(raised, match=message) as caught:
        logscale_server.faults.add(**arguments)
    if raised is ValueError:  # the parameter to blame, the one the arguments gave wrongly
        assert isinstance(caught.value, OptionError)
        assert caught.value.name == next(name for name in arguments if name != "fault")
    assert logscale_server.faults.rules == []


# -- state files ------------------------------------------------------------------------------


def test_a_dump_holds_the_waiting_faults_with_their_uses_left_and_a_load_serves_them(
    logscale_server: FakeLogScale, logscale_server_factory: LogScaleServerFactory
) -> None:
    faults = logscale_server.faults
    faults.add(Fault.status(503, "Down."), times=2, root_field="sessions")
    faults.add(Fault.delay(0.01, up_to=0.02), operation_name="Me")
    faults.add(Fault.rate_limited(None), times=1)
    faults.add(Fault.truncated_body(3), times=1)
    assert send(logscale_server, LISTING).status_code == 503
    dumped = logscale_server.dump_state()
    assert dumped["faults"] == [
        {"fault": "status", "status": 503, "message": "Down.", "times": 1, "rootField": "sessions"},
        {"fault": "delay", "seconds": 0.01, "upTo": 0.02, "operationName": "Me"},
        {"fault": "rateLimited", "retryAfter": None, "times": 1},
        {"fault": "truncatedBody", "keepBytes": 3, "times": 1},
    ]
    other = logscale_server_factory()
    other.load_state(json.loads(json.dumps(dumped)))
    assert other.dump_state() == dumped
    assert send(other, LISTING).status_code == 503
    assert send(other, LISTING).status_code == 429
    other.reset()
    assert "faults" not in other.dump_state()


def test_loading_a_state_replaces_the_waiting_faults(logscale_server: FakeLogScale) -> None:
    logscale_server.faults.add(Fault.status(500))
    logscale_server.load_state(
        {"format": "pytest-logscale-state", "version": 1, "faults": [{"fault": "graphqlError"}]}
    )
    (rule,) = logscale_server.faults.rules
    assert rule.fault == Fault.graphql_error()


def test_a_rate_limited_fault_of_a_state_sends_retry_after_1_unless_told(
    logscale_server: FakeLogScale,
) -> None:
    faults = [{"fault": "rateLimited", "times": 1}, {"fault": "rateLimited", "retryAfter": None}]
    logscale_server.load_state({"format": "pytest-logscale-state", "version": 1, "faults": faults})
    assert send(logscale_server, ME).headers["Retry-After"] == "1"
    assert "Retry-After" not in send(logscale_server, ME).headers


def test_the_documented_faults_example_loads_and_dumps_back(logscale_server: FakeLogScale) -> None:
    text = (DOCS / "state-file.md").read_text(encoding="utf-8")
    example = json.loads(text.split("### `faults`", 1)[1].split("```json\n", 1)[1].split("```")[0])
    logscale_server.load_state(example)
    assert logscale_server.dump_state()["faults"] == example["faults"]


#: A state's faults given wrongly, the message, and the place StateError.where names.
BAD_STATE_FAULTS: dict[str, tuple[object, str, str]] = {
    "not an array": ({"fault": "status"}, "faults: must be a JSON array", "faults"),
    "entry not an object": (
        ["status"],
        r"faults\[0\]: must be a JSON object, not 'status'",
        "faults[0]",
    ),
    "unknown fault": (
        [{"fault": "meteor"}],
        r"faults\[0\]: 'fault' must be one of status, .*; it is 'meteor'",
        "faults[0].fault",
    ),
    "no fault": (
        [{"status": 503}],
        r"faults\[0\]: 'fault' must be one of .*; it is missing",
        "faults[0].fault",
    ),
    "unknown key": (
        [{"fault": "delay", "seconds": 1, "retryAfter": 2}],
        r"faults\[0\]: unknown key 'retryAfter' for a delay fault \(known: fault, seconds, upTo,",
        "faults[0].retryAfter",
    ),
    "missing status": (
        [{"fault": "status"}],
        r"faults\[0\]: a status fault needs 'status'",
        "faults[0].status",
    ),
    "bad status": (
        [{"fault": "graphqlError"}, {"fault": "status", "status": 200}],
        r"faults\[1\]: HTTP status 200 is not an error",
        "faults[1].status",
    ),
    "bad times": (
        [{"fault": "droppedConnection", "times": 0}],
        r"faults\[0\]: times must be",
        "faults[0].times",
    ),
    "bad root field": (
        [{"fault": "droppedConnection", "rootField": "nope"}],
        r"faults\[0\]: the schema has no root field 'nope'",
        "faults[0].rootField",
    ),
    "bad seconds": (
        [{"fault": "delay", "seconds": "1"}],
        r"faults\[0\]: a delay must be",
        "faults[0].seconds",
    ),
}


@pytest.mark.parametrize(
    ("faults", "message", "where"), BAD_STATE_FAULTS.values(), ids=BAD_STATE_FAULTS
)
def test_bad_faults_in_a_state_are_a_state_error_naming_the_place_and_change_nothing(
    logscale_server: FakeLogScale, faults: object, message: str, where: str
) -> None:
    waiting = logscale_server.faults.add(Fault.status(500))
    logscale_server.clock.advance(hours=1)
    before = logscale_server.dump_state()
    state = {"format": "pytest-logscale-state", "version": 1, "faults": faults}
    with pytest.raises(StateError, match="^state: " + message) as raised:
        logscale_server.load_state(state)
    assert raised.value.where == where
    assert logscale_server.faults.rules == [waiting]
    assert logscale_server.dump_state() == before


def test_serve_serves_the_faults_of_a_state_file_and_dumps_those_left(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    rule = {"fault": "status", "status": 503, "times": 2, "rootField": "currentUser"}
    path.write_text(json.dumps({"format": "pytest-logscale-state", "version": 1, "faults": [rule]}))
    with ServeProcess("--state", str(path), "--dump-state", str(path)) as server:
        headers = {"Authorization": f"Bearer {server.values['LOGSCALE_TOKEN']}"}
        answer = requests.post(
            server.url + "/graphql", data=gql(ME), headers=headers, timeout=TIMEOUT
        )
        assert answer.status_code == 503
        assert server.stop() == 0
    assert json.loads(path.read_text())["faults"] == [{**rule, "times": 1}]


# -- the documentation --------------------------------------------------------------------------


def test_the_examples_of_the_faults_guide_pass(pytester: pytest.Pytester) -> None:
    text = (DOCS / "faults.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]
    tests = [block for block in blocks if "def test_" in block]
    assert len(tests) >= 5
    pytester.makepyfile(test_guide="\n\n".join(blocks))
    result = pytester.runpytest("-p", "no:faker")
    result.assert_outcomes(passed=sum(block.count("def test_") for block in blocks))
