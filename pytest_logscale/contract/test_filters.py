"""searchFilter narrows, onlyActiveSessions: false widens, level User keeps to the caller."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_logscale.contract.client import LogScaleClient, TooMany
from pytest_logscale.contract.rules import matches_search

Results = list[dict[str, Any]]


def ids(results: Results) -> set[str]:
    return {result["id"] for result in results}


def every(client: LogScaleClient, **arguments: Any) -> Results:
    """Every match, or a skip when there are too many to compare as sets."""
    try:
        return client.all_sessions(**arguments)
    except TooMany as error:
        pytest.skip(str(error))


def needle_from(value: str) -> str:
    """A piece of a value: up to 8 characters from a quarter of the way in."""
    start = len(value) // 4
    return value[start : start + 8].strip() or value


# where each needle is taken from, in a session as a client sees it
NEEDLE_SOURCES = {
    "username": lambda r: r["user"]["username"],
    "displayName": lambda r: r["user"]["displayName"],
    "ip": lambda r: r["ip"],
    "clientInfo": lambda r: r["clientInfo"],
    "city": lambda r: r["city"],
    "country": lambda r: r["country"],
}


@pytest.mark.parametrize("source", sorted(NEEDLE_SOURCES))
def test_search_filter_only_narrows(
    client: LogScaleClient, widest_level: str, every_session: Results, source: str
) -> None:
    """[doc] A filter keeps a subset, each with the text (ignoring case) in a searched field.

    The searched fields: the user's username, displayName and email, the
    session's ip, clientInfo, city and country. Which of them LogScale really
    searches is not published, so only this direction is checked.
    """
    values = [NEEDLE_SOURCES[source](r) for r in every_session]
    present = [value for value in values if value]
    if not present:
        pytest.skip(f"no session the caller can see has a {source}")
    needle = needle_from(present[len(present) // 2])
    kept = every(client, level=widest_level, onlyActiveSessions=False, searchFilter=needle)
    assert ids(kept) <= ids(every_session), f"searchFilter {needle!r} added sessions"
    assert [r["id"] for r in kept if not matches_search(r, needle)] == [], (
        f"searchFilter {needle!r} kept sessions without that text in a searched field"
    )


def test_the_documented_domain_filter_selects_that_domains_users(
    client: LogScaleClient, caller: dict[str, Any], widest_level: str, every_session: Results
) -> None:
    """[doc example] searchFilter "company.com" finds the sessions of users e-mailed there.

    The domain checked is the caller's own, from their e-mail (else username).
    """
    address = caller["email"] or caller["username"]
    if "@" not in address:
        pytest.skip(f"the caller has no e-mail address to take a domain from ({address!r})")
    domain = address.rsplit("@", 1)[1]
    kept = ids(every(client, level=widest_level, onlyActiveSessions=False, searchFilter=domain))
    expected = {
        r["id"]
        for r in every_session
        if domain.casefold() in (r["user"]["email"] or r["user"]["username"]).casefold()
    }
    assert expected, f"no session of a user at {domain} listed"
    assert expected <= kept, f"searchFilter {domain!r} missed {sorted(expected - kept)}"
    assert kept <= ids(every_session), f"searchFilter {domain!r} added sessions"


def test_only_active_sessions_false_only_widens(client: LogScaleClient, level: str) -> None:
    """[doc] onlyActiveSessions: false lists the active sessions and the ended ones too."""
    active = every(client, level=level)
    explicit = every(client, level=level, onlyActiveSessions=True)
    everything = every(client, level=level, onlyActiveSessions=False)
    assert ids(explicit) == ids(active), "onlyActiveSessions: true differs from leaving it out"
    assert ids(active) <= ids(everything), (
        f"active sessions missing with onlyActiveSessions false: {ids(active) - ids(everything)}"
    )


@pytest.mark.parametrize("only_active", [True, False])
def test_level_user_lists_only_the_callers_sessions(
    client: LogScaleClient, caller: dict[str, Any], only_active: bool
) -> None:
    """[doc] level User lists the caller's own sessions and nobody else's."""
    mine = every(client, level="User", onlyActiveSessions=only_active)
    others = sorted({r["user"]["id"] for r in mine} - {caller["id"]})
    assert others == [], f"level User listed sessions of other users: {others}"


def test_level_organization_includes_the_callers_own_sessions(
    client: LogScaleClient, can_change_sessions: bool, every_session: Results
) -> None:
    """[doc] Organization is the wider level: it lists every session level User lists."""
    if not can_change_sessions:
        pytest.skip("the token's user lacks ChangeSessions, so cannot list the organization's")
    mine = every(client, level="User", onlyActiveSessions=False)
    assert ids(mine) <= ids(every_session)
