"""Two organizations side by side: no query, mutation, message or count crosses between them."""

from __future__ import annotations

from typing import Any

import pytest
from administration import (
    HOUR_MS,
    IDLE_WORDS,
    KINDS,
    ROLES,
    UNKNOWN_ID,
    assert_alive,
    assert_expired,
    endings,
    listed_ids,
    listing,
    refusal,
    revoke,
    role_user,
    session_of,
    set_limits,
    settings_seen,
    update_settings,
)

from pytest_logscale import FakeLogScale

pytestmark = pytest.mark.logscale(organizations=2)

SIDES = [
    pytest.param(0, 1, id="first-asks-about-second"),
    pytest.param(1, 0, id="second-about-first"),
]


def owner_token(server: FakeLogScale, organization: int) -> str:
    return server.session_token(role_user(server, "owner", organization))


def org_sessions(server: FakeLogScale, organization: int) -> list[Any]:
    org_id = server.organizations[organization].id
    return [s for s in server.sessions if s.organization_id == org_id]


def secrets_of(server: FakeLogScale, organization: int) -> list[str]:
    """Strings that would give the organization away if another one ever saw them."""
    org = server.organizations[organization]
    users = [u for u in server.users if u.organization_id == org.id]
    return [org.id, org.name, org.domain] + [u.id for u in users] + [u.username for u in users]


def assert_reveals_nothing_of(server: FakeLogScale, organization: int, text: str) -> None:
    __tracebackhide__ = True
    leaked = [secret for secret in secrets_of(server, organization) if secret in text]
    assert not leaked, f"{leaked} of the other organization in {text!r}"


def organization_view(server: FakeLogScale, organization: int) -> dict[str, Any]:
    """Everything the organization's owner can read of its own organization, over HTTP."""
    token = server.api_token(role_user(server, "owner", organization))
    return {
        "every": listing(server, token, level="Organization", active=False),
        "active": listing(server, token, level="Organization"),
        "settings": settings_seen(server, token),
    }


def test_each_organization_has_its_own_roles_users_sessions_and_settings(
    logscale_server: FakeLogScale,
) -> None:
    server = logscale_server
    first, second = server.organizations
    assert first.id != second.id and first.domain != second.domain
    for index, org in enumerate((first, second)):
        for role in ROLES:
            user = role_user(server, role, index)
            assert user.organization_id == org.id
            assert user.username.endswith("@" + org.domain)
            assert_alive(server, server.session_token(user))
        seen = settings_seen(server, owner_token(server, index))
        assert seen["id"] == org.id
    assert first.domain == "company.com"


# -- queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
@pytest.mark.parametrize("active", [True, False], ids=["active", "every"])
def test_sessions_at_both_levels_list_and_count_only_the_callers_organization(
    logscale_server: FakeLogScale, mine: int, theirs: int, active: bool
) -> None:
    server = logscale_server
    owner = role_user(server, "owner", mine)
    token = server.api_token(owner)
    own = {s.id for s in org_sessions(server, mine) if not active or server.store.is_active(s)}
    page = listing(server, token, level="Organization", active=active)
    assert {r["id"] for r in page["results"]} == own
    assert page["totalResults"] == len(own)
    user_page = listing(server, token, level="User", active=active)
    assert {r["id"] for r in user_page["results"]} == {
        i for i in own if server.store.session(i).user_id == owner.id
    }
    assert user_page["totalResults"] == len(user_page["results"])
    assert not own & {s.id for s in org_sessions(server, theirs)}


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_a_search_for_the_other_organizations_users_and_places_finds_nothing(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    token = server.api_token(role_user(server, "owner", mine))
    other = role_user(server, "member", theirs)
    foreign = org_sessions(server, theirs)[0]
    own = org_sessions(server, mine)[0]
    domain = server.organizations[theirs].domain
    for level in ("Organization", "User"):
        for needle in (other.username, other.id, domain, foreign.ip, foreign.id):
            page = listing(server, token, level=level, active=False, search=needle)
            assert page == {"totalResults": 0, "results": []}, needle
    found = listing(server, token, level="Organization", active=False, search=own.ip)
    assert own.id in {r["id"] for r in found["results"]}, "the search itself works"


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_user_by_id_finds_only_users_of_the_callers_organization(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    token = owner_token(server, mine)
    query = "query($id: String!) { user(id: $id) { id username } }"
    for role in ROLES:
        own, other = role_user(server, role, mine), role_user(server, role, theirs)
        found = server.execute(query, {"id": own.id}, token=token)
        assert found == {"data": {"user": {"id": own.id, "username": own.username}}}
        assert server.execute(query, {"id": other.id}, token=token) == {"data": {"user": None}}
    assert server.execute(query, {"id": UNKNOWN_ID}, token=token) == {"data": {"user": None}}


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_organization_and_current_user_are_the_callers_own(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    org = server.organizations[mine]
    for role in ROLES:
        user = role_user(server, role, mine)
        answer = server.execute(
            "{ currentUser { id } organization { id name "
            "isActionAllowed(action: ChangeSessions) } }",
            token=server.session_token(user),
        )
        assert answer == {
            "data": {
                "currentUser": {"id": user.id},
                "organization": {
                    "id": org.id,
                    "name": org.name,
                    "isActionAllowed": role != "member",
                },
            }
        }
        assert_reveals_nothing_of(server, theirs, str(answer))


# -- mutations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_revoking_in_another_organization_is_not_found_like_an_unknown_id(
    logscale_server: FakeLogScale, mine: int, theirs: int, kind: str, role: str
) -> None:
    server = logscale_server
    token = server.session_token(role_user(server, role, mine))
    victim = role_user(server, role, theirs)
    foreign = {
        "Session": session_of(server, server.session_token(victim)).id,
        "User": victim.id,
        "Organization": server.organizations[theirs].id,
    }[kind]
    before = endings(server)
    unknown = refusal(revoke(server, UNKNOWN_ID, kind, token), "revokeSession")
    message = refusal(revoke(server, foreign, kind, token), "revokeSession")
    assert message.replace(foreign, UNKNOWN_ID) == unknown
    assert_reveals_nothing_of(server, theirs, message.replace(foreign, ""))
    assert endings(server) == before
    assert_alive(server, server.session_token(victim))


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_every_mutation_in_one_organization_leaves_the_other_as_it_was(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    untouched = organization_view(server, theirs)
    owner = role_user(server, "owner", mine)
    api = server.api_token(owner)
    member = role_user(server, "member", mine)
    fresh = server.login(role_user(server, "admin", mine))
    steps = [
        server.execute("mutation { logoutOfSession }", token=server.session_token(member)),
        revoke(server, fresh.id, "Session", api),
        revoke(server, owner.id, "User", api),
        update_settings(server, HOUR_MS, 2 * HOUR_MS, api),
        revoke(server, server.organizations[mine].id, "Organization", api),
    ]
    for answer in steps:
        assert "errors" not in answer, answer
    mine_now = organization_view(server, mine)
    assert mine_now["active"]["totalResults"] == 0, "the mutations did happen"
    assert mine_now["settings"]["configs"]["session"]["maxInactivityPeriod"] == HOUR_MS
    assert organization_view(server, theirs) == untouched
    assert_alive(server, owner_token(server, theirs))


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_settings_and_expiry_are_per_organization(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    here = server.login(role_user(server, "member", mine))
    there = server.login(role_user(server, "member", theirs))
    set_limits(server, idle=60_000, force=HOUR_MS, organization=mine)
    seeded = server.organizations[theirs].settings
    assert settings_seen(server, owner_token(server, theirs))["configs"]["session"] == {
        "maxInactivityPeriod": seeded.max_inactivity_period,
        "forceReauthenticationAfter": seeded.force_reauthentication_after,
    }
    server.clock.advance(minutes=2)
    assert_expired(server, here.token, IDLE_WORDS)
    assert_alive(server, there.token)
    viewer = server.api_token(role_user(server, "owner", theirs))
    assert there.id in listed_ids(server, viewer, level="Organization")


@pytest.mark.parametrize(("mine", "theirs"), SIDES)
def test_refusals_name_nothing_of_the_other_organization(
    logscale_server: FakeLogScale, mine: int, theirs: int
) -> None:
    server = logscale_server
    token = server.session_token(role_user(server, "member", mine))
    answers = [
        server.execute("{ sessions(level: Organization) { totalResults } }", token=token),
        server.execute(
            "{ organization { configs { session { maxInactivityPeriod } } } }", token=token
        ),
        update_settings(server, HOUR_MS, HOUR_MS, token),
        revoke(server, server.organizations[mine].id, "Organization", token),
        revoke(server, role_user(server, "owner", mine).id, "User", token),
    ]
    for answer in answers:
        assert answer["data"] is None, answer
        assert_reveals_nothing_of(server, theirs, str(answer))
