"""updateSessionSettings, configs.session, isActionAllowed and the roles, over real HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from administration import (
    AGE_WORDS,
    HOUR_MS,
    IDLE_WORDS,
    ROLES,
    SETTINGS,
    UPDATE_SETTINGS,
    assert_alive,
    assert_expired,
    credential_of,
    listed_ids,
    refusal,
    rejected,
    role_user,
    settings_seen,
    update_settings,
)

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.records import ALL_ACTIONS

SEEDED_LIMITS = {"maxInactivityPeriod": 36_000_000, "forceReauthenticationAfter": 8_640_000_000}
LONG_MAX = 2**63 - 1


def limits_now(server: FakeLogScale) -> dict[str, Any]:
    """The first organization's limits, read over HTTP by its owner."""
    return dict(settings_seen(server, server.api_token(server.owner()))["configs"]["session"])


# -- who may change them -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_change_the_settings_and_read_them_back(
    logscale_server: FakeLogScale, role: str
) -> None:
    server = logscale_server
    token = server.session_token(role_user(server, role))
    answer = update_settings(server, 2 * HOUR_MS, 30 * 24 * HOUR_MS, token)
    new = {"maxInactivityPeriod": 2 * HOUR_MS, "forceReauthenticationAfter": 30 * 24 * HOUR_MS}
    assert answer == {
        "data": {
            "updateSessionSettings": {"id": server.organization.id, "configs": {"session": new}}
        }
    }
    assert limits_now(server) == new
    assert settings_seen(server, token)["configs"]["session"] == new


@pytest.fixture(params=["session", "api token"])
def member_token(request: pytest.FixtureRequest, logscale_server: FakeLogScale) -> str:
    """A member's seeded session token, then a personal API token of the member."""
    return credential_of(logscale_server, logscale_server.member(), request.param)


def test_a_member_may_not_change_the_settings(
    logscale_server: FakeLogScale, member_token: str
) -> None:
    server, token = logscale_server, member_token
    status, answer = server.post(
        json.dumps({"query": UPDATE_SETTINGS, "variables": {"idle": 60_000, "force": 60_000}}),
        token=token,
    )
    assert status == 200
    message = refusal(answer, "updateSessionSettings")
    assert "ChangeSessions" in message
    assert "session settings" in message
    assert limits_now(server) == SEEDED_LIMITS
    assert_alive(server, token)


def test_a_member_sending_bad_values_is_told_about_the_permission_first(
    logscale_server: FakeLogScale,
) -> None:
    answer = update_settings(logscale_server, 0, -1, logscale_server.member_token)
    message = refusal(answer, "updateSessionSettings")
    assert "ChangeSessions" in message
    assert "positive" not in message


# -- which values they take ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idle", "force", "named"),
    [
        pytest.param(0, HOUR_MS, ["maxInactivityPeriod must be a positive", "got 0"], id="idle-0"),
        pytest.param(HOUR_MS, 0, ["forceReauthenticationAfter must be a positive"], id="force-0"),
        pytest.param(-1, HOUR_MS, ["maxInactivityPeriod", "got -1"], id="idle-negative"),
        pytest.param(
            HOUR_MS, -(2**63), ["forceReauthenticationAfter", "got -9223"], id="force-min"
        ),
        pytest.param(
            0,
            -5,
            ["maxInactivityPeriod", "got 0", "forceReauthenticationAfter", "got -5"],
            id="both-wrong",
        ),
    ],
)
def test_values_that_are_not_positive_are_a_graphql_error_naming_each(
    logscale_server: FakeLogScale, idle: int, force: int, named: list[str]
) -> None:
    answer = update_settings(logscale_server, idle, force, logscale_server.token)
    message = refusal(answer, "updateSessionSettings")
    for words in named:
        assert words in message
    for name, value in (("maxInactivityPeriod", idle), ("forceReauthenticationAfter", force)):
        assert (name in message) == (value <= 0), "only the wrong values are named"
    assert limits_now(logscale_server) == SEEDED_LIMITS


@pytest.mark.parametrize(
    ("idle", "force", "words"),
    [
        pytest.param("ten", HOUR_MS, "'ten'", id="text"),
        pytest.param(HOUR_MS, "", "whole number", id="empty-text"),
        pytest.param(1.5, HOUR_MS, "1.5", id="fraction"),
        pytest.param(True, HOUR_MS, "True", id="boolean"),
        pytest.param(2**63, HOUR_MS, "outside 64 bits", id="above-long"),
        pytest.param(HOUR_MS, -(2**63) - 1, "outside 64 bits", id="below-long"),
        pytest.param(HOUR_MS, "99999999999999999999", "never text", id="long-text"),
        pytest.param("3600000", HOUR_MS, "never text", id="decimal-text"),
        pytest.param(HOUR_MS, " 7200000 ", "never text", id="padded-decimal-text"),
        pytest.param(None, HOUR_MS, "idle", id="null"),
        pytest.param([HOUR_MS], HOUR_MS, "whole number", id="list"),
        pytest.param("--5", HOUR_MS, "'--5': it takes a whole number", id="two-minus-signs"),
        pytest.param("\u0661\u0662\u0663", HOUR_MS, "whole number", id="arabic-indic-digits"),
        pytest.param(1e300, HOUR_MS, "1e+300: it is outside 64 bits", id="huge-float"),
    ],
)
def test_values_that_are_not_a_long_are_a_400_and_change_nothing(
    logscale_server: FakeLogScale, idle: Any, force: Any, words: str
) -> None:
    variables = {"idle": idle, "force": force}
    message = rejected(logscale_server, UPDATE_SETTINGS, variables, logscale_server.token)
    assert words in message
    assert limits_now(logscale_server) == SEEDED_LIMITS


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        pytest.param('"ten"', "ten", id="text"),
        pytest.param("1.5", "1.5", id="fraction"),
        pytest.param("9223372036854775808", "outside 64 bits", id="above-long"),
        pytest.param("true", "true", id="boolean"),
        pytest.param("null", "null", id="null"),
    ],
)
def test_literal_values_that_are_not_a_long_are_a_400(
    logscale_server: FakeLogScale, literal: str, words: str
) -> None:
    document = (
        "mutation { updateSessionSettings(input: "
        f"{{maxInactivityPeriod: {literal}, forceReauthenticationAfter: 3600000}}) {{ id }} }}"
    )
    assert words in rejected(logscale_server, document, {}, logscale_server.token)
    assert limits_now(logscale_server) == SEEDED_LIMITS


@pytest.mark.parametrize(
    ("idle", "force"),
    [
        pytest.param(1, 1, id="one-millisecond"),
        pytest.param(LONG_MAX, LONG_MAX, id="largest-long"),
    ],
)
def test_edge_values_are_taken(logscale_server: FakeLogScale, idle: Any, force: Any) -> None:
    answer = update_settings(logscale_server, idle, force, logscale_server.token)
    assert "errors" not in answer, answer
    expected = {
        "maxInactivityPeriod": int(idle),
        "forceReauthenticationAfter": int(force),
    }
    assert answer["data"]["updateSessionSettings"]["configs"]["session"] == expected
    assert limits_now(logscale_server) == expected


def test_the_largest_limits_keep_a_session_for_centuries(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())
    assert "errors" not in update_settings(server, LONG_MAX, LONG_MAX, viewer)
    fresh = server.login(server.member())
    server.clock.advance(timedelta(days=365 * 300))
    assert_alive(server, fresh.token)


# -- they take effect at once --------------------------------------------------------------------


@pytest.mark.parametrize("limit", [IDLE_WORDS, AGE_WORDS])
def test_a_lower_limit_expires_sessions_at_once(logscale_server: FakeLogScale, limit: str) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())
    fresh = server.login(server.member())
    server.clock.advance(minutes=2)
    if limit == AGE_WORDS:
        assert_alive(server, fresh.token)  # used just now: only its age counts against it
    assert fresh.id in listed_ids(server, viewer, level="Organization")
    idle, force = (60_000, 1000 * HOUR_MS) if limit == IDLE_WORDS else (HOUR_MS, 60_000)
    assert "errors" not in update_settings(server, idle, force, viewer)
    assert fresh.id not in listed_ids(server, viewer, level="Organization")
    assert_expired(server, fresh.token, limit)


def test_a_higher_limit_lets_an_idle_unended_session_back_in(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())
    idle = next(s for s in server.sessions if server.store.status(s) == "inactive")
    assert idle.last_activity_at is not None
    assert_expired(server, idle.token, IDLE_WORDS)
    since = server.clock.now_ms() - idle.last_activity_at
    assert "errors" not in update_settings(
        server, since, SEEDED_LIMITS["forceReauthenticationAfter"], viewer
    )
    assert idle.id in listed_ids(server, viewer, level="Organization")
    assert_alive(server, idle.token)


# -- reading them: configs.session ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_view_session_settings_lets_owner_and_admin_read_the_limits(
    logscale_server: FakeLogScale, role: str
) -> None:
    token = logscale_server.session_token(role_user(logscale_server, role))
    assert settings_seen(logscale_server, token) == {
        "id": logscale_server.organization.id,
        "configs": {"session": SEEDED_LIMITS},
    }


def test_a_member_reading_the_limits_gets_a_graphql_error(
    logscale_server: FakeLogScale, member_token: str
) -> None:
    server, token = logscale_server, member_token
    status, answer = server.post(json.dumps({"query": SETTINGS}), token=token)
    assert status == 200
    assert answer["data"] is None, "configs and organization are non-null, so data is nulled"
    (error,) = answer["errors"]
    assert error["path"] == ["organization", "configs", "session"]
    assert error["locations"]
    assert "ViewSessionSettings" in error["message"]
    plain = server.execute("{ organization { id name } }", token=token)
    assert plain == {
        "data": {"organization": {"id": server.organization.id, "name": server.organization.name}}
    }


# -- roles and isActionAllowed -------------------------------------------------------------------

IS_ALLOWED = (
    "query($action: OrganizationAction!) { organization { isActionAllowed(action: $action) } }"
)
#: What each role must be able to do, and what it must not, whatever else it may hold.
MUST = {
    "owner": (
        {"ChangeSessions", "ViewSessionSettings", "ViewUsers", "AdministerPermissions"},
        set(),
    ),
    "admin": (
        {"ChangeSessions", "ViewSessionSettings", "ViewUsers", "ManageUsers"},
        {"AdministerPermissions", "ChangeOrganizationSettings"},
    ),
    "member": (set(), {"ChangeSessions", "ViewSessionSettings", "ViewUsers", "ManageUsers"}),
}


def allowed_actions(server: FakeLogScale, token: str) -> set[str]:
    allowed = set()
    for action in ALL_ACTIONS:
        answer = server.execute(IS_ALLOWED, {"action": action}, token=token)
        assert "errors" not in answer, answer
        if answer["data"]["organization"]["isActionAllowed"]:
            allowed.add(action)
    return allowed


@pytest.mark.parametrize("role", ROLES)
def test_is_action_allowed_answers_from_the_callers_role(
    logscale_server: FakeLogScale, role: str
) -> None:
    server = logscale_server
    user = role_user(server, role)
    allowed = allowed_actions(server, server.session_token(user))
    assert allowed == set(user.role.actions)
    must, must_not = MUST[role]
    assert must <= allowed
    assert not must_not & allowed
    if role == "owner":
        assert allowed == set(ALL_ACTIONS)
    assert allowed_actions(server, server.api_token(user)) == allowed


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_a_live_session_and_only_the_owner_is_org_root(
    logscale_server: FakeLogScale, role: str
) -> None:
    server = logscale_server
    user = getattr(server, role)()
    assert user == role_user(server, role)
    answer = server.execute(
        "{ currentUser { id username isOrgRoot isRoot } }", token=server.session_token(user)
    )
    assert answer == {
        "data": {
            "currentUser": {
                "id": user.id,
                "username": user.username,
                "isOrgRoot": role == "owner",
                "isRoot": False,
            }
        }
    }
    assert getattr(server, f"{role}_token" if role != "owner" else "token") == (
        server.session_token(user)
    )


def test_an_action_that_is_not_in_the_enum_is_a_400(logscale_server: FakeLogScale) -> None:
    message = rejected(
        logscale_server, IS_ALLOWED, {"action": "RuleTheWorld"}, logscale_server.token
    )
    assert "RuleTheWorld" in message
