"""The rate limit: N requests per window per token, 429 with Retry-After, on the fake's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from gql import gql as document
from gql.transport.exceptions import TransportQueryError
from serve_process import ServeProcess, run_serve
from test_faults import BAD_VARIABLES, gql_client
from test_http import TIMEOUT, gql, padded, post

from pytest_logscale import Clock, FakeLogScale, Fault, RateLimit
from pytest_logscale.harness.ratelimit import RateLimiter
from pytest_logscale.plugin import LogScaleServerFactory

ME = gql("query Me { currentUser { id } }")


def statuses(server: FakeLogScale, count: int, *, token: str = "") -> list[int]:
    return [post(server, ME, token=token).status_code for _ in range(count)]


def test_there_is_no_rate_limit_by_default(logscale_server: FakeLogScale) -> None:
    assert logscale_server.rate_limit is None
    assert statuses(logscale_server, 50) == [200] * 50


def test_over_the_limit_a_token_gets_429_with_retry_after_the_window(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.rate_limit = RateLimit.per(3, minutes=1)
    assert statuses(logscale_server, 3) == [200] * 3
    refused = post(logscale_server, ME)
    assert refused.status_code == 429
    assert refused.reason == "Too Many Requests"
    assert refused.headers["Retry-After"] == "60"
    assert refused.json() == {
        "errors": [
            {
                "message": "Too many requests: a token may make 3 requests in 60 seconds. "
                "Retry after 60 seconds."
            }
        ]
    }


def test_the_window_frees_on_the_fakes_clock(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(2, seconds=60)
    assert statuses(logscale_server, 2) == [200, 200]
    logscale_server.clock.advance(seconds=59)
    assert post(logscale_server, ME).headers["Retry-After"] == "1"
    logscale_server.clock.advance(seconds=1)
    assert statuses(logscale_server, 3) == [200, 200, 429]


def test_the_window_slides_one_request_at_a_time(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(2, seconds=60)
    assert statuses(logscale_server, 1) == [200]
    logscale_server.clock.advance(seconds=20)
    assert statuses(logscale_server, 1) == [200]
    logscale_server.clock.advance(seconds=10)
    assert post(logscale_server, ME).headers["Retry-After"] == "30"  # the first one leaves at 60
    logscale_server.clock.advance(seconds=30)
    assert statuses(logscale_server, 2) == [200, 429]  # only the first one left
    logscale_server.clock.advance(seconds=20)
    assert statuses(logscale_server, 1) == [200]


def test_refused_requests_do_not_count(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, seconds=10)
    assert statuses(logscale_server, 5) == [200, 429, 429, 429, 429]
    logscale_server.clock.advance(seconds=10)
    assert statuses(logscale_server, 1) == [200]


def test_each_token_has_its_own_window(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, seconds=10)
    api = logscale_server.api_token(logscale_server.owner())
    for token in (logscale_server.token, logscale_server.admin_token, api):
        assert statuses(logscale_server, 2, token=token) == [200, 429]


def test_retry_after_rounds_up_to_a_whole_second_and_is_at_least_one(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.rate_limit = RateLimit.parse("1/1500ms")
    statuses(logscale_server, 1)
    assert post(logscale_server, ME).headers["Retry-After"] == "2"
    logscale_server.clock.advance(timedelta(milliseconds=1400))
    assert post(logscale_server, ME).headers["Retry-After"] == "1"


def test_requests_refused_before_the_limit_do_not_count(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, seconds=10)
    assert post(logscale_server, ME, token="no-such-token").status_code == 401
    assert post(logscale_server, "not json").status_code == 400
    assert post(logscale_server, gql("{ nope }")).status_code == 400
    assert statuses(logscale_server, 2) == [200, 429]


def test_bad_variables_and_a_too_large_body_do_not_count(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, seconds=10)
    bad = gql(BAD_VARIABLES, variables={"x": "notanint"})
    assert post(logscale_server, bad).status_code == 400
    assert post(logscale_server, padded((1 << 20) + 1)).status_code == 413
    assert statuses(logscale_server, 2) == [200, 429]


def test_the_rate_limit_comes_before_faults_and_uses_none_up(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.rate_limit = RateLimit.per(1, seconds=10)
    statuses(logscale_server, 1)
    rule = logscale_server.faults.add(Fault.status(503), times=1)
    assert statuses(logscale_server, 1) == [429]
    assert rule.fired == 0


def test_the_journal_names_the_limit_and_the_operation(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    statuses(logscale_server, 2)
    admitted, refused = logscale_server.journal
    assert admitted.fault is None
    assert (refused.status, refused.fault, refused.operation_name) == (429, "rate limit 1/1m", "Me")
    assert refused.user_id == logscale_server.owner().id


def test_gql_sees_a_query_error_for_a_429(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    with gql_client(logscale_server) as session:
        query = document("{ currentUser { id } }")
        assert session.execute(query)["currentUser"]["id"] == logscale_server.owner().id
        with pytest.raises(TransportQueryError, match="Too many requests"):
            session.execute(query)
        logscale_server.clock.advance(minutes=1)
        assert session.execute(query)["currentUser"]["id"] == logscale_server.owner().id


def test_setting_the_limit_again_forgets_the_counted_requests(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    assert statuses(logscale_server, 2) == [200, 429]
    logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    assert statuses(logscale_server, 2) == [200, 429]
    logscale_server.rate_limit = None
    assert statuses(logscale_server, 3) == [200] * 3


def test_reset_turns_the_limit_off_and_forgets_the_counts(logscale_server: FakeLogScale) -> None:
    logscale_server.rate_limit = RateLimit.per(1, minutes=1)
    statuses(logscale_server, 2)
    logscale_server.reset()
    assert logscale_server.rate_limit is None
    assert statuses(logscale_server, 3) == [200] * 3


def test_reset_goes_back_to_the_limit_the_fake_was_made_with() -> None:
    limit = RateLimit.per(2, seconds=30)
    with FakeLogScale(rate_limit=limit) as fake:
        assert statuses(fake, 3) == [200, 200, 429]
        fake.rate_limit = None
        fake.reset()
        assert fake.rate_limit == limit
        assert statuses(fake, 3) == [200, 200, 429]


def test_a_limit_set_in_one_test_never_reaches_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_logscale import RateLimit

        QUERY = '{"query": "{ currentUser { id } }"}'

        def test_one(logscale_server):
            logscale_server.rate_limit = RateLimit.per(1, hours=1)
            assert logscale_server.post(QUERY, token=logscale_server.token)[0] == 200
            assert logscale_server.post(QUERY, token=logscale_server.token)[0] == 429

        def test_two(logscale_server):
            assert logscale_server.rate_limit is None
            assert logscale_server.post(QUERY, token=logscale_server.token)[0] == 200
        """
    )
    pytester.runpytest("-p", "no:faker").assert_outcomes(passed=2)


def test_a_server_of_the_factory_can_be_rate_limited(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(rate_limit=RateLimit.per(1, seconds=5)) as server:
        assert statuses(server, 2) == [200, 429]
        server.reset()
        assert statuses(server, 2) == [200, 429]


# -- the limiter alone, on a clock ----------------------------------------------------------------


def test_the_limiter_counts_per_token_on_its_clock() -> None:
    clock = Clock(1_000_000)
    limiter = RateLimiter(clock, RateLimit(2, 1000))
    assert [limiter.admit("a"), limiter.admit("a"), limiter.admit("a")] == [None, None, 1]
    assert limiter.admit("b") is None
    clock.advance(1)
    assert limiter.admit("a") is None
    limiter.clear()
    assert [limiter.admit("a"), limiter.admit("a")] == [None, None]


def test_the_clock_set_back_forgets_requests_counted_in_its_future(
    logscale_server: FakeLogScale,
) -> None:
    logscale_server.rate_limit = RateLimit.per(2, seconds=60)
    start = logscale_server.clock.now
    assert statuses(logscale_server, 1) == [200]
    logscale_server.clock.advance(seconds=30)
    assert statuses(logscale_server, 2) == [200, 429]
    logscale_server.clock.set(start - timedelta(hours=1))
    assert statuses(logscale_server, 2) == [200, 200]
    refused = post(logscale_server, ME)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"


def test_a_limiter_without_a_limit_admits_everything() -> None:
    limiter = RateLimiter(Clock(0))
    assert all(limiter.admit("a") is None for _ in range(1000))


def test_the_limit_must_be_a_rate_limit() -> None:
    limiter = RateLimiter(Clock(0))
    with pytest.raises(TypeError, match="a rate limit is a RateLimit or None, not '5/1m'"):
        limiter.limit = "5/1m"  # type: ignore[assignment]


# -- writing a limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "requests_", "window_ms", "shown"),
    [
        ("100/60s", 100, 60_000, "100/1m"),
        ("5/1m", 5, 60_000, "5/1m"),
        ("1000/1h", 1000, 3_600_000, "1000/1h"),
        ("3/500ms", 3, 500, "3/500ms"),
        ("10/30", 10, 30_000, "10/30s"),
        (" 7 / 90s ", 7, 90_000, "7/90s"),
    ],
)
def test_a_limit_reads_from_n_slash_window(
    text: str, requests_: int, window_ms: int, shown: str
) -> None:
    limit = RateLimit.parse(text)
    assert (limit.requests, limit.window_ms, str(limit)) == (requests_, window_ms, shown)
    assert RateLimit.parse(str(limit)) == limit


def test_per_takes_a_timedelta_or_units() -> None:
    assert RateLimit.per(5, timedelta(minutes=1)) == RateLimit.per(5, seconds=60)
    assert RateLimit.per(5, minutes=1).describe() == "5 requests in 60 seconds"
    assert RateLimit.per(1, milliseconds=250).describe() == "1 request in 0.25 seconds"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RateLimit.parse("5 per minute"), "a rate limit is written N/WINDOW"),
        (lambda: RateLimit.parse("-1/60s"), "a rate limit is written N/WINDOW"),
        (lambda: RateLimit.parse("1.5/60s"), "a rate limit is written N/WINDOW"),
        (lambda: RateLimit.parse("5/60d"), "a rate limit is written N/WINDOW"),
        (lambda: RateLimit.parse("0/60s"), "requests must be a whole number from 1"),
        (lambda: RateLimit.parse("5/0s"), "window_ms must be a whole number from 1"),
        (lambda: RateLimit.parse("5/25h"), "window_ms must be .* to 86400000, not 90000000"),
        (lambda: RateLimit.per(5), "window_ms must be a whole number from 1 .* not 0"),
        (lambda: RateLimit(True, 1000), "requests must be a whole number from 1 .* not True"),
        (lambda: RateLimit(5, 1.5), "window_ms must be a whole number"),  # type: ignore[arg-type]
    ],
    ids=[
        "words",
        "negative",
        "fraction",
        "unknown unit",
        "no requests",
        "empty window",
        "over a day",
        "no window",
        "bool",
        "float window",
    ],
)
def test_a_bad_limit_is_a_clear_value_error(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


# -- serve ----------------------------------------------------------------------------------------


def test_serve_takes_a_rate_limit() -> None:
    with ServeProcess("--rate-limit", "2/1h") as server:
        token = server.values["LOGSCALE_TOKEN"]
        answers = [
            requests.post(
                server.url + "/graphql",
                data=ME,
                headers={"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT,
            )
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["Retry-After"] == "3600"
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("lots", "a rate limit is written N/WINDOW, e.g. 100/60s, 5/1m or 3/500ms; not 'lots'"),
        ("0/1m", "a rate limit's requests must be a whole number from 1 to 1000000, not 0"),
    ],
)
def test_serve_refuses_a_bad_rate_limit_with_exit_2_and_no_traceback(
    value: str, words: str
) -> None:
    done = run_serve(["--rate-limit", value])
    assert done.returncode == 2
    assert (done.stdout, "Traceback" in done.stderr) == ("", False)
    assert f"argument --rate-limit: {words}" in done.stderr
