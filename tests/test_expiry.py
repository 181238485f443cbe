"""Expiry by the fake's clock, over real HTTP: inactivity, forced re-authentication, activity.

No test sleeps: time moves only by ``clock.advance`` and ``clock.set``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from administration import (
    AGE_WORDS,
    HOUR_MS,
    IDLE_WORDS,
    assert_alive,
    assert_expired,
    assert_refused,
    listed_ids,
    revoke,
    session_of,
    set_limits,
)

from pytest_logscale import AppOptions, FakeLogScale
from pytest_logscale.plugin import LogScaleServerFactory


def ms(milliseconds: int) -> timedelta:
    return timedelta(milliseconds=milliseconds)


# -- inactivity ----------------------------------------------------------------------------------


def test_a_session_idle_exactly_the_limit_lives_and_one_ms_more_expires(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    idle = server.organization.settings.max_inactivity_period
    fresh = server.login(server.member())
    server.clock.advance(ms(idle))
    assert_alive(server, fresh.token)  # now - lastActivityAt == limit: still active
    assert session_of(server, fresh.token).last_activity_at == server.clock.now_ms()
    server.clock.advance(ms(idle + 1))
    assert_expired(server, fresh.token, IDLE_WORDS)


def test_an_expired_sessions_request_is_not_activity(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    idle = server.organization.settings.max_inactivity_period
    fresh = server.login(server.member())
    server.clock.advance(ms(idle + 1))
    assert_expired(server, fresh.token, IDLE_WORDS)
    assert session_of(server, fresh.token).last_activity_at == fresh.created_at
    assert_expired(server, fresh.token, IDLE_WORDS)


# -- forced re-authentication --------------------------------------------------------------------


def test_a_busy_session_expires_when_it_is_older_than_the_reauthentication_limit(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    set_limits(server, idle=HOUR_MS, force=3 * HOUR_MS)
    fresh = server.login(server.member())
    assert fresh.created_at is not None
    for _ in range(3):  # used every 50 minutes: never idle for an hour
        server.clock.advance(minutes=50)
        assert_alive(server, fresh.token)
    server.clock.set(fresh.created_at + 3 * HOUR_MS)
    assert_alive(server, fresh.token)  # exactly at the limit: still active
    server.clock.advance(ms(1))
    assert_expired(server, fresh.token, AGE_WORDS)


def test_a_session_past_both_limits_is_reported_as_idle(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    set_limits(server, idle=HOUR_MS, force=2 * HOUR_MS)
    fresh = server.login(server.member())
    server.clock.advance(hours=5)
    assert_expired(server, fresh.token, IDLE_WORDS)


# -- activity ------------------------------------------------------------------------------------

REQUESTS = {
    "query": json.dumps({"query": "{ currentUser { id } }"}),
    "refused-field": json.dumps({"query": "{ sessions(level: Organization) { totalResults } }"}),
    "refused-mutation": json.dumps(
        {
            "query": "mutation { updateSessionSettings(input: {maxInactivityPeriod: 1, "
            "forceReauthenticationAfter: 1}) { id } }"
        }
    ),
    "invalid-document": json.dumps({"query": "{ noSuchField }"}),
    "not-json": "{query",
    "logout": json.dumps({"query": "mutation { logoutOfSession }"}),
}


@pytest.mark.parametrize("request_kind", sorted(REQUESTS))
def test_any_request_with_the_token_counts_as_activity(
    logscale_server: FakeLogScale, request_kind: str
) -> None:
    server = logscale_server
    idle = server.organization.settings.max_inactivity_period
    member = server.member()
    used, unused = server.login(member), server.login(member)
    viewer = server.api_token(server.owner())
    server.clock.advance(ms(idle // 2))
    status, _answer = server.post(REQUESTS[request_kind], token=used.token)
    assert status in (200, 400)
    assert session_of(server, used.token).last_activity_at == server.clock.now_ms()
    server.clock.advance(ms(idle // 2 + 1))
    listed = listed_ids(server, viewer, level="Organization")
    assert unused.id not in listed
    assert_expired(server, unused.token, IDLE_WORDS)
    if request_kind == "logout":
        assert used.id not in listed
        assert_refused(server, used.token, "logged out")
    else:
        assert used.id in listed
        assert_alive(server, used.token)


def test_an_oversized_body_is_refused_before_the_token_so_it_is_not_activity(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(max_body_bytes=100)) as server:
        fresh = server.login(server.member())
        server.clock.advance(minutes=1)
        status, _answer = server.post(b" " * 101, token=fresh.token)
        assert status == 413
        assert session_of(server, fresh.token).last_activity_at == fresh.created_at
        assert server.post(b" " * 100, token=fresh.token)[0] == 400
        assert session_of(server, fresh.token).last_activity_at == server.clock.now_ms()


def test_a_request_of_another_session_of_the_same_user_keeps_only_that_one(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    idle = server.organization.settings.max_inactivity_period
    member = server.member()
    first, second = server.login(member), server.login(member)
    for _ in range(4):
        server.clock.advance(ms(idle // 2))
        assert_alive(server, first.token)
    assert_expired(server, second.token, IDLE_WORDS)


def test_personal_api_tokens_do_not_expire(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    token = server.api_token(server.member())
    server.clock.advance(days=400)
    assert_alive(server, token)
    assert_refused(server, server.member_token, "expired")


# -- what is left of an expired session ----------------------------------------------------------


def test_an_expired_session_is_listed_only_with_inactive_ones(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    member = server.member()
    fresh = server.login(member)
    viewer, own = server.api_token(server.owner()), server.api_token(member)
    server.clock.advance(ms(server.organization.settings.max_inactivity_period + 1))
    assert fresh.id not in listed_ids(server, viewer, level="Organization")
    assert fresh.id in listed_ids(server, viewer, level="Organization", active=False)
    assert fresh.id not in listed_ids(server, own)
    assert fresh.id in listed_ids(server, own, active=False)


def test_a_revoked_expired_session_stays_dead_when_the_limits_grow(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())
    fresh = server.login(server.member())
    server.clock.advance(hours=11)
    assert_expired(server, fresh.token, IDLE_WORDS)
    assert revoke(server, fresh.id, "Session", viewer) == {"data": {"revokeSession": True}}
    set_limits(server, idle=1000 * HOUR_MS, force=1000 * HOUR_MS)
    assert_refused(server, fresh.token, "revoked")
    assert fresh.id not in listed_ids(server, viewer, level="Organization")


def test_logging_in_again_after_expiry_gives_a_working_session(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    member = server.member()
    server.clock.advance(hours=11)
    assert_refused(server, server.member_token, "expired")
    again = server.login(member)
    assert_alive(server, again.token)
    assert listed_ids(server, again.token) == {again.id}
