"""revokeSession over real HTTP: each type by each role, on every kind of target, and after.

The matrix runs with two organizations, so that "another organization's id"
is a real id; what changed is read from the fake's records, the effects on
tokens and listings over HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from administration import (
    KINDS,
    REVOKE,
    ROLES,
    UNKNOWN_ID,
    assert_alive,
    assert_refused,
    endings,
    listed_ids,
    listing,
    refusal,
    rejected,
    revoke,
    role_user,
    session_of,
)

from pytest_logscale import Ending, FakeLogScale, Role, User

TARGETS = ("own", "other", "unknown", "other-organization")
NOT_FOUND = {
    "Session": "No session with id '<id>' was found.",
    "User": "No user with id '<id>' was found.",
    "Organization": "No organization with id '<id>' was found.",
}
#: Who "another user" is for each role: someone of a different role in the same organization.
OTHER_ROLE = {"owner": "admin", "admin": "member", "member": "owner"}


@dataclass(frozen=True)
class Target:
    """What a revocation names, and which sessions it must end when it is allowed."""

    id: str
    doomed: frozenset[str]


def live_sessions(server: FakeLogScale, user: User | None = None) -> frozenset[str]:
    """Ids of the sessions not ended yet, of one user or of the first organization."""
    organization = server.organizations[0].id
    return frozenset(
        s.id
        for s in server.sessions
        if s.ended is None
        and (s.user_id == user.id if user is not None else s.organization_id == organization)
    )


def make_target(server: FakeLogScale, kind: str, role: str, target: str) -> Target:
    caller = role_user(server, role)
    if target == "unknown":
        return Target(UNKNOWN_ID, frozenset())
    if target == "other-organization":
        twin = role_user(server, role, organization=1)
        foreign = {
            "Session": server.login(twin).id,
            "User": twin.id,
            "Organization": server.organizations[1].id,
        }
        return Target(foreign[kind], frozenset())
    user = caller if target == "own" else role_user(server, OTHER_ROLE[role])
    if kind == "Session":
        fresh = server.login(user)
        return Target(fresh.id, frozenset({fresh.id}))
    if kind == "User":
        server.login(user)  # a second live session, so "all of them" means more than one
        return Target(user.id, live_sessions(server, user))
    return Target(server.organizations[0].id, live_sessions(server))


def expected_outcome(kind: str, role: str, target: str) -> str:
    if target in ("unknown", "other-organization"):
        return "not found"
    if role == "member" and (target == "other" or kind == "Organization"):
        return "denied"
    return "revoked"


MATRIX = [
    pytest.param(kind, role, target, id=f"{kind}-{role}-{target}")
    for kind in KINDS
    for role in ROLES
    for target in TARGETS
    if not (kind == "Organization" and target == "other")  # there is no other own organization
]


@pytest.mark.logscale(organizations=2)
@pytest.mark.parametrize(("kind", "role", "target"), MATRIX)
def test_revocation_by_type_role_and_target(
    logscale_server: FakeLogScale, kind: str, role: str, target: str
) -> None:
    server = logscale_server
    token = server.session_token(role_user(server, role))
    named = make_target(server, kind, role, target)
    before = endings(server)
    answer = revoke(server, named.id, kind, token)
    after = endings(server)
    outcome = expected_outcome(kind, role, target)
    if outcome == "revoked":
        assert answer == {"data": {"revokeSession": True}}
        assert named.doomed, "the target has live sessions to end"
        changed = {i: after[i] for i in after if after[i] != before[i]}
        assert changed == dict.fromkeys(named.doomed, Ending.REVOKED)
        calling = session_of(server, token).id
        if calling in named.doomed:
            assert_refused(server, token, "revoked")
        else:
            assert_alive(server, token)
        return
    message = refusal(answer, "revokeSession")
    assert after == before, "a refused revocation changes nothing"
    if outcome == "denied":
        assert "ChangeSessions" in message
    else:
        assert message.replace(named.id, "<id>") == NOT_FOUND[kind]
    assert_alive(server, token)


@pytest.mark.parametrize(
    ("role", "other"), [("owner", "member"), ("admin", "owner"), ("admin", "admin")]
)
@pytest.mark.parametrize("kind", ["Session", "User"])
def test_change_sessions_reaches_every_other_user_the_owner_included(
    logscale_server: FakeLogScale, role: str, other: str, kind: str
) -> None:
    server = logscale_server
    token = server.session_token(role_user(server, role))
    victims = server.users_with_role(Role(other))
    victim = next(u for u in victims if u != role_user(server, role))
    fresh = server.login(victim)
    target = fresh.id if kind == "Session" else victim.id
    assert revoke(server, target, kind, token) == {"data": {"revokeSession": True}}
    assert_refused(server, fresh.token, "revoked")
    assert_alive(server, token)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_and_wrong_kind_ids_give_the_same_not_found_message(
    logscale_server: FakeLogScale, kind: str
) -> None:
    server = logscale_server
    owner = server.owner()
    wrong_kind = {  # an id that exists, but names another kind of thing than the type says
        "Session": owner.id,
        "User": session_of(server, server.token).id,
        "Organization": owner.id,
    }
    before = endings(server)
    for target in (UNKNOWN_ID, "", " ", wrong_kind[kind], UNKNOWN_ID.lower()):
        message = refusal(revoke(server, target, kind, server.token), "revokeSession")
        assert message == NOT_FOUND[kind].replace("<id>", target)
    assert endings(server) == before


# -- idempotence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_revoking_again_returns_true_and_changes_nothing(
    logscale_server: FakeLogScale, kind: str
) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())  # survives every revocation
    member = server.member()
    fresh = server.login(member)
    target = {"Session": fresh.id, "User": member.id, "Organization": server.organization.id}
    assert revoke(server, target[kind], kind, viewer) == {"data": {"revokeSession": True}}
    once = endings(server)
    listed_once = listing(server, viewer, active=False, level="Organization")
    assert once[fresh.id] is Ending.REVOKED
    server.clock.advance(minutes=1)
    assert revoke(server, target[kind], kind, viewer) == {"data": {"revokeSession": True}}
    assert endings(server) == once
    assert listing(server, viewer, active=False, level="Organization") == listed_once


def test_revoking_a_logged_out_session_keeps_it_logged_out(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    fresh = server.login(server.member())
    assert server.execute("mutation { logoutOfSession }", token=fresh.token) == {
        "data": {"logoutOfSession": True}
    }
    before = endings(server)
    assert revoke(server, fresh.id, "Session", server.token) == {"data": {"revokeSession": True}}
    assert endings(server) == before
    assert_refused(server, fresh.token, "logged out")


def test_revoking_a_user_whose_sessions_all_ended_returns_true(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    member = server.member()
    assert revoke(server, member.id, "User", server.token) == {"data": {"revokeSession": True}}
    assert all(s.ended is not None for s in server.sessions if s.user_id == member.id)
    before = endings(server)
    assert revoke(server, member.id, "User", server.token) == {"data": {"revokeSession": True}}
    assert endings(server) == before


# -- tokens and listings after a revocation ------------------------------------------------------


@pytest.mark.logscale(organizations=2)
@pytest.mark.parametrize("kind", KINDS)
def test_revoked_tokens_get_401_and_every_other_token_lives(
    logscale_server: FakeLogScale, kind: str
) -> None:
    server = logscale_server
    admin, member = server.admin(), server.member()
    first, second = server.login(member), server.login(member)
    member_api = server.api_token(member)
    outsider = server.session_token(role_user(server, "owner", organization=1))
    target = {"Session": first.id, "User": member.id, "Organization": server.organization.id}
    admin_token = server.session_token(admin)
    assert revoke(server, target[kind], kind, admin_token) == {"data": {"revokeSession": True}}
    every = [first.token, second.token, server.member_token, server.token, admin_token]
    dead = every[: {"Session": 1, "User": 3, "Organization": 5}[kind]]
    for token in dead:
        assert_refused(server, token, "revoked")
    for token in [*every[len(dead) :], member_api, outsider]:
        assert_alive(server, token)


def test_revoking_the_calling_session_answers_then_its_token_dies(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    token = server.member_token
    own = session_of(server, token)
    assert revoke(server, own.id, "Session", token) == {"data": {"revokeSession": True}}
    assert_refused(server, token, "revoked")


def test_revoked_sessions_stay_listed_only_with_inactive_ones(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    viewer = server.api_token(server.owner())
    member = server.member()
    server.login(member)
    mine = {s.id for s in server.sessions if s.user_id == member.id}
    live = mine & listed_ids(server, viewer, level="Organization")
    assert len(live) >= 2
    active_before = listing(server, viewer, level="Organization")["totalResults"]
    every_before = listing(server, viewer, level="Organization", active=False)
    assert revoke(server, member.id, "User", viewer) == {"data": {"revokeSession": True}}
    assert not mine & listed_ids(server, viewer, level="Organization")
    every_after = listing(server, viewer, level="Organization", active=False)
    assert every_after["totalResults"] == every_before["totalResults"]
    assert {r["id"] for r in every_after["results"]} >= mine
    assert listing(server, viewer, level="Organization")["totalResults"] == (
        active_before - len(live)
    )
    member_api = server.api_token(member)
    assert listed_ids(server, member_api, active=False) == mine
    assert listed_ids(server, member_api) == set()


# -- personal API tokens -------------------------------------------------------------------------


def test_a_personal_api_token_revokes_its_own_users_sessions_and_lives_on(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    member = server.member()
    token = server.api_token(member)
    fresh = server.login(member)
    assert revoke(server, fresh.id, "Session", token) == {"data": {"revokeSession": True}}
    assert_refused(server, fresh.token, "revoked")
    assert_alive(server, server.member_token)
    assert revoke(server, member.id, "User", token) == {"data": {"revokeSession": True}}
    assert_refused(server, server.member_token, "revoked")
    assert_alive(server, token)
    assert all(s.ended is not None for s in server.sessions if s.user_id == member.id)


def test_a_members_personal_api_token_may_not_revoke_others(logscale_server: FakeLogScale) -> None:
    server = logscale_server
    token = server.api_token(server.member())
    before = endings(server)
    owner_session = session_of(server, server.token)
    for target, kind in (
        (owner_session.id, "Session"),
        (server.owner().id, "User"),
        (server.organization.id, "Organization"),
    ):
        assert "ChangeSessions" in refusal(revoke(server, target, kind, token), "revokeSession")
    assert endings(server) == before


def test_an_owners_api_token_revokes_the_organization_and_keeps_working(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    token = server.api_token(server.owner())
    assert revoke(server, server.organization.id, "Organization", token) == {
        "data": {"revokeSession": True}
    }
    assert all(s.ended is not None for s in server.sessions)
    assert listing(server, token, level="Organization") == {"totalResults": 0, "results": []}
    assert_alive(server, token)
    assert_refused(server, server.token, "revoked")


# -- requests that are not revocations at all ----------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables", "words"),
    [
        pytest.param(REVOKE, {"id": "x", "type": "Everything"}, "Everything", id="unknown-type"),
        pytest.param(REVOKE, {"id": "x", "type": "session"}, "session", id="type-in-lowercase"),
        pytest.param(REVOKE, {"id": None, "type": "Session"}, "id", id="null-id"),
        pytest.param(REVOKE, {"type": "Session"}, "id", id="missing-id"),
        pytest.param(REVOKE, {"id": 5, "type": "Session"}, "String", id="number-id"),
        pytest.param(
            'mutation { revokeSession(input: {id: "x"}) }', {}, "revocationType", id="no-type"
        ),
        pytest.param(
            'mutation { revokeSession(input: {id: "x", revocationType: All}) }',
            {},
            "All",
            id="literal-unknown-type",
        ),
    ],
)
def test_a_malformed_revocation_is_a_400_and_changes_nothing(
    logscale_server: FakeLogScale, document: str, variables: dict[str, object], words: str
) -> None:
    before = endings(logscale_server)
    message = rejected(logscale_server, document, variables, logscale_server.token)
    assert words in message
    assert endings(logscale_server) == before


def test_a_revocation_without_a_token_is_a_401_and_changes_nothing(
    logscale_server: FakeLogScale,
) -> None:
    before = endings(logscale_server)
    body = json.dumps(
        {
            "query": REVOKE,
            "variables": {"id": logscale_server.organization.id, "type": "Organization"},
        }
    )
    status, answer = logscale_server.post(body, token="")
    assert status == 401, answer
    assert endings(logscale_server) == before
