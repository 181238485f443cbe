"""Bounds on what a client may add between two resets: logins, API tokens, fault rules.

``max_sessions`` counts the seeded sessions and those logged in since the last
reset; ``max_api_tokens`` the API tokens made since; ``max_faults`` the fault
rules waiting. One past a bound is refused naming it and how to raise it, and
changes nothing; a reset frees the budget (docs/behaviour.md, Hardening).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from serve_process import ServeProcess

from pytest_logscale import BoundError, FakeLogScale, Fault, SeedOptions, StateError

TIMEOUT = 30
#: The smallest data: 3 users and 3 sessions, so small bounds leave room for a few more.
SMALL = SeedOptions(users=3, sessions=3)


def fake_with(**bounds: int) -> FakeLogScale:
    return FakeLogScale(SMALL.replace(**bounds))


def raise_with(bound: str) -> str:
    flag = bound.replace("_", "-")
    return f"raise it with {bound}=N (marker or factory), --logscale-{flag} or serve --{flag}"


# -- the Python API -------------------------------------------------------------------------


def test_a_login_past_max_sessions_is_refused_naming_the_bound_and_changes_nothing() -> None:
    fake = fake_with(max_sessions=5)
    opened = [fake.login(fake.member()) for _ in range(2)]
    before = fake.dump_state()
    with pytest.raises(
        BoundError, match=re.escape("max_sessions is 5; " + raise_with("max_sessions"))
    ) as e:
        fake.login(fake.member())
    assert "cannot log in: the fake holds 5 sessions already" in str(e.value)
    assert (e.value.bound, e.value.limit) == ("max_sessions", 5)
    assert isinstance(e.value, ValueError)
    assert fake.dump_state() == before  # no session, token or serial taken
    assert len(fake.sessions) == 5
    assert [fake.session(s).active for s in opened] == [True, True]


def test_a_reset_frees_the_sessions_logged_in_and_a_raised_bound_takes_more() -> None:
    fake = fake_with(max_sessions=4)
    fake.login(fake.owner())
    with pytest.raises(BoundError):
        fake.login(fake.owner())
    fake.reset()
    fake.login(fake.owner())  # room again
    fake.reseed(fake.seed_options.replace(max_sessions=6))  # raised: same data, reset
    assert fake.seed_options.max_sessions == 6
    for _ in range(3):
        fake.login(fake.owner())
    with pytest.raises(BoundError, match="max_sessions is 6"):
        fake.login(fake.owner())


def test_an_api_token_past_max_api_tokens_is_refused_and_a_reset_frees_them() -> None:
    fake = fake_with(max_api_tokens=2)
    made = [fake.api_token(fake.admin()) for _ in range(2)]
    before = fake.dump_state()
    with pytest.raises(
        BoundError, match=re.escape("max_api_tokens is 2; " + raise_with("max_api_tokens"))
    ):
        fake.api_token(fake.owner())
    assert fake.dump_state() == before
    assert list(fake.store.api_tokens()) == made
    fake.reset()
    fake.api_token(fake.owner())  # room again
    fake.reseed(fake.seed_options.replace(max_api_tokens=3))  # raised: same data, reset
    for _ in range(3):
        fake.api_token(fake.owner())
    with pytest.raises(BoundError, match="max_api_tokens is 3"):
        fake.api_token(fake.owner())


def test_a_fault_past_max_faults_is_refused_and_a_used_up_rule_frees_its_place() -> None:
    fake = fake_with(max_faults=2)
    first = fake.faults.add(Fault.status(503), times=1)
    second = fake.faults.add(Fault.delay(0.1))
    with pytest.raises(BoundError, match=re.escape("max_faults is 2; " + raise_with("max_faults"))):
        fake.faults.add(Fault.status(502))
    assert fake.faults.rules == [first, second]
    assert fake.faults.take(None, ("sessions",)) is not None  # uses the first one up
    third = fake.faults.add(Fault.status(502))
    assert fake.faults.rules == [second, third]
    fake.reset()
    fake.reseed(fake.seed_options.replace(max_faults=3))
    for _ in range(3):
        fake.faults.add(Fault.dropped_connection())
    with pytest.raises(BoundError, match="cannot add 1 fault rule"):
        fake.faults.add(Fault.dropped_connection())


def test_a_state_past_a_bound_is_refused_and_changes_nothing() -> None:
    source = FakeLogScale(SMALL)
    for _ in range(2):
        source.login(source.owner())
        source.api_token(source.owner())
        source.faults.add(Fault.status(503))
    state = source.dump_state()
    for bound, problem in (
        ("max_sessions", "the state holds 5 sessions, seeded and new"),
        ("max_api_tokens", "the state holds 2 API tokens"),
        ("max_faults", "the state holds 2 fault rules"),
    ):
        limit = 4 if bound == "max_sessions" else 1
        fake = fake_with(**{bound: limit})
        fake.faults.add(Fault.delay(0.1))
        before = fake.dump_state()
        with pytest.raises(StateError, match=f"{problem}: {bound} is {limit}; raise it with"):
            fake.load_state(state)
        assert fake.dump_state() == before
        fake.reseed(fake.seed_options.replace(**{bound: limit + 1}))
        fake.load_state(state)  # within the raised bound


# -- the pytest plugin ----------------------------------------------------------------------


def test_the_marker_the_command_line_and_the_ini_file_set_the_new_bounds(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nlogscale_max_faults = 1\n")
    pytester.makepyfile(
        """
        import pytest
        from pytest_logscale import Fault


        @pytest.mark.logscale(max_api_tokens=1, max_sessions=61)
        def test_marked(logscale_server):
            logscale_server.api_token(logscale_server.owner())
            with pytest.raises(ValueError, match="max_api_tokens is 1"):
                logscale_server.api_token(logscale_server.owner())
            logscale_server.login(logscale_server.owner())
            with pytest.raises(ValueError, match="max_sessions is 61"):
                logscale_server.login(logscale_server.owner())


        def test_unmarked(logscale_server):
            assert logscale_server.seed_options.max_api_tokens == 2
            logscale_server.faults.add(Fault.status(503))
            with pytest.raises(ValueError, match="max_faults is 1; raise it with max_faults=N"):
                logscale_server.faults.add(Fault.status(503))
        """
    )
    result = pytester.runpytest(
        "-p", "no:randomly", "-p", "no:hypothesispytest", "--logscale-max-api-tokens=2"
    )
    result.assert_outcomes(passed=2)


# -- the control API and serve --------------------------------------------------------------


def control(server: FakeLogScale, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, server.control_url + path, json=body, timeout=TIMEOUT)


def full(response: requests.Response, bound: str, limit: int) -> str:
    """The message of a 409 naming ``bound``, checked to be in the control API's error shape."""
    assert response.status_code == 409, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()
    assert (error["bound"], error["limit"]) == (bound, limit)
    assert f"{bound} is {limit}; {raise_with(bound)}." in error["error"]
    message: str = error["error"]
    return message


def test_control_logins_and_api_tokens_past_their_bounds_get_409_naming_the_bound() -> None:
    with fake_with(max_sessions=4, max_api_tokens=1) as fake:
        user = fake.member().id
        assert control(fake, "POST", "/login", {"user": user}).status_code == 200
        before = fake.dump_state()
        message = full(control(fake, "POST", "/login", {"user": user}), "max_sessions", 4)
        assert message.startswith("Cannot log in: the fake holds 4 sessions already")
        assert control(fake, "POST", "/login", {"user": user, "apiToken": True}).status_code == 200
        after_token = fake.dump_state()
        full(control(fake, "POST", "/login", {"user": user, "apiToken": True}), "max_api_tokens", 1)
        assert fake.dump_state() == after_token
        assert after_token["newSessions"] == before["newSessions"]
        assert control(fake, "POST", "/reset").status_code == 200
        assert control(fake, "POST", "/login", {"user": user}).status_code == 200
        assert control(fake, "POST", "/login", {"user": user, "apiToken": True}).status_code == 200


def test_control_faults_past_max_faults_get_409_and_none_of_an_array_is_added() -> None:
    with fake_with(max_faults=3) as fake:
        one = control(fake, "POST", "/faults", {"fault": "status", "status": 503})
        assert one.status_code == 200, one.text
        three = [
            {"fault": "droppedConnection"},
            {"fault": "delay", "seconds": 0.1},
            {"fault": "status", "status": 502},
        ]
        full(control(fake, "POST", "/faults", three), "max_faults", 3)
        assert control(fake, "GET", "/faults").json() == {
            "faults": [{"fault": "status", "status": 503}]
        }
        assert control(fake, "POST", "/faults", three[:2]).status_code == 200
        full(control(fake, "POST", "/faults", {"fault": "droppedConnection"}), "max_faults", 3)
        assert control(fake, "POST", "/reset").status_code == 200
        assert control(fake, "POST", "/faults", three).status_code == 200


def test_serve_takes_the_new_bounds_as_flags() -> None:
    args = ("--users", "3", "--sessions", "3", "--max-api-tokens", "1", "--max-faults", "1")
    with ServeProcess(*args, "--max-sessions", "4") as server:
        url = server.url + "/_fake"
        users = requests.get(url + "/users", timeout=TIMEOUT).json()["users"]
        login = {"user": users[0]["id"]}
        token = {**login, "apiToken": True}
        fault = {"fault": "droppedConnection"}
        answers = [
            requests.post(url + path, data=json.dumps(body), timeout=TIMEOUT)
            for path, body in (
                ("/login", login),
                ("/login", login),
                ("/login", token),
                ("/login", token),
                ("/faults", fault),
                ("/faults", fault),
            )
        ]
        assert server.stop() == 0
    assert [a.status_code for a in answers] == [200, 409, 200, 409, 200, 409]
    assert [a.json()["bound"] for a in answers[1::2]] == [
        "max_sessions",
        "max_api_tokens",
        "max_faults",
    ]
