"""Recipe: expire sessions by moving the fake's clock, never by sleeping."""

from datetime import timedelta

import pytest

WHO = "{ currentUser { id } }"


def test_a_session_idle_longer_than_the_limit_expires(logscale_server):
    session = logscale_server.login(logscale_server.member())

    logscale_server.clock.advance(hours=9, minutes=59)
    assert "errors" not in logscale_server.execute(WHO, token=session.token)

    # that request counted as activity: the idle time starts again from here
    logscale_server.clock.advance(hours=10, seconds=1)
    status, body = logscale_server.post(f'{{"query": "{WHO}"}}', token=session.token)
    assert (status, body) == (401, "The supplied authentication is invalid")
    # LogScale's 401 says no more; the journal keeps the reason for the test
    assert "expired" in logscale_server.journal.entries[-1].auth_failure


def test_shorter_limits_set_by_an_admin_apply_at_once(logscale_server):
    session = logscale_server.login(logscale_server.member())
    minute = 60_000
    logscale_server.execute(
        "mutation($input: SessionInput!) { updateSessionSettings(input: $input) { id } }",
        {"input": {"maxInactivityPeriod": 5 * minute, "forceReauthenticationAfter": 60 * minute}},
        token=logscale_server.admin_token,
    )

    logscale_server.clock.advance(timedelta(minutes=6))

    assert (
        logscale_server.post('{"query": "{ currentUser { id } }"}', token=session.token)[0] == 401
    )


@pytest.mark.parametrize("hours", [1, 11])
def test_each_test_starts_at_the_seeded_instant(logscale_server, hours):
    start = logscale_server.clock.now
    logscale_server.clock.advance(hours=hours)
    assert logscale_server.clock.now - start == timedelta(hours=hours)
    assert start.year == 2025  # the seeded instant, whatever day the tests run


def test_a_personal_api_token_outlives_the_session_limits(logscale_server):
    # a tool that runs for hours should use a personal API token: it belongs to no
    # session, so the idle and reauthentication limits never end it
    session_token = logscale_server.admin_token  # a seeded session's token: it can expire
    api_token = logscale_server.api_token(logscale_server.admin())

    logscale_server.clock.advance(hours=11)  # past the seeded 10-hour idle limit

    assert logscale_server.post(f'{{"query": "{WHO}"}}', token=session_token)[0] == 401
    assert "errors" not in logscale_server.execute(WHO, token=api_token)
