"""Who is asking: the current session, permission errors, and requests without a valid token."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_logscale.contract.client import LogScaleClient, Reply, Target

BOGUS_TOKEN = "pytest-logscale-contract-not-a-token"


def current(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r["isCurrentSession"]]


def test_exactly_one_of_the_callers_active_sessions_is_current(
    client: LogScaleClient, contract_target: Target, caller: dict[str, Any]
) -> None:
    """[doc] isCurrentSession marks the session whose token made the request, and only it."""
    mine = client.all_sessions(level="User")
    if not current(mine) and not contract_target.in_process:
        pytest.skip("no session is current: the token is not a session token (an API token?)")
    assert len(current(mine)) == 1, f"current sessions among the caller's: {current(mine)}"
    assert current(mine)[0]["user"]["id"] == caller["id"]


def test_no_other_users_session_is_current(
    every_session: list[dict[str, Any]], caller: dict[str, Any]
) -> None:
    """[doc] A session of another user is never the current one."""
    others = [r["id"] for r in current(every_session) if r["user"]["id"] != caller["id"]]
    assert others == [], f"sessions of other users marked current: {others}"


def lacking_change_sessions(client: LogScaleClient, target: Target) -> list[str]:
    query = "{ organization { isActionAllowed(action: ChangeSessions) } }"
    tokens = [t for t in (target.token, target.member_token) if t]
    return [t for t in tokens if not client.data(query, token=t)["organization"]["isActionAllowed"]]


def test_listing_the_organization_without_change_sessions_is_a_graphql_error(
    client: LogScaleClient, contract_target: Target
) -> None:
    """[doc: the permission] [chosen: the shape] errors[] with message and path, data null."""
    tokens = lacking_change_sessions(client, contract_target)
    if not tokens:
        pytest.skip(
            "every token given has ChangeSessions; pass --logscale-member-token "
            "(or LOGSCALE_MEMBER_TOKEN) of a user without it to run this check"
        )
    for token in tokens:
        reply = client.post("{ sessions(level: Organization) { totalResults } }", token=token)
        body = reply.body
        assert reply.is_json and isinstance(body, dict), reply.describe()
        assert body.get("data") is None, reply.describe()
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, reply.describe()
        assert all(isinstance(e, dict) and isinstance(e.get("message"), str) for e in errors)
        assert errors[0].get("path") == ["sessions"], reply.describe()


#: LogScale's API token pages: "401 The supplied authentication is invalid".
UNAUTHORIZED_TEXT = "The supplied authentication is invalid"


def assert_unauthenticated(reply: Reply) -> None:
    """HTTP 401 with the plain text LogScale documents (surrounding whitespace aside)."""
    assert reply.status == 401, reply.describe()
    assert not reply.is_json, f"the 401 body is JSON, not the documented text\n{reply.describe()}"
    assert str(reply.body).strip() == UNAUTHORIZED_TEXT, reply.describe()


def test_a_request_without_a_token_gets_the_documented_401(client: LogScaleClient) -> None:
    """[doc: API token page, 401 text] No Authorization header: 401 and the documented text."""
    assert_unauthenticated(client.post("{ currentUser { id } }", authenticate=False))


def test_a_request_with_an_unknown_token_gets_the_documented_401(
    client: LogScaleClient,
) -> None:
    """[doc: API token page, 401 text] A token LogScale never issued: 401, the documented text."""
    assert_unauthenticated(client.post("{ currentUser { id } }", token=BOGUS_TOKEN))


def test_sessions_without_level_is_the_organization_level(
    client: LogScaleClient, contract_target: Target, can_change_sessions: bool
) -> None:
    """[doc: sessions() reference page] level defaults to Organization.

    Without ChangeSessions leaving level out is refused as Organization is; with
    it, leaving level out lists what level: Organization lists.
    """
    for token in lacking_change_sessions(client, contract_target):
        reply = client.post("{ sessions { totalResults } }", token=token)
        body = reply.body
        assert reply.is_json and isinstance(body, dict), reply.describe()
        assert body.get("data") is None and body.get("errors"), reply.describe()
    if can_change_sessions:
        fixed: dict[str, Any] = {
            "sortBy": "LoginTime",
            "orderBy": "ASC",
            "onlyActiveSessions": False,
        }
        implicit = client.sessions(limit=100, **fixed)
        explicit = client.sessions(limit=100, level="Organization", **fixed)
        assert implicit["totalResults"] == explicit["totalResults"]
        assert [r["id"] for r in implicit["results"]] == [r["id"] for r in explicit["results"]]
