"""sessions() over real HTTP: every argument and default, sort key, filter, paging and rule.

Expectations come from tests/session_oracle.py (the rules written out plainly)
applied to the fake's records, never from the fake's own ordering code.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import Any

import pytest
from session_oracle import ORDERS, SORT_KEYS, expected_order, is_active, sort_key

from pytest_logscale import FakeLogScale, Session
from pytest_logscale.domain.store import Changes

FIELDS = (
    "id ip clientInfo city country createdAt lastActivityAt isCurrentSession "
    "user { id username displayName email }"
)
QUERY = f"""
query Sessions(
  $searchFilter: String, $level: Sessions__Filter_Level, $sortBy: Sessions__SortBy,
  $orderBy: OrderBy, $skip: Int, $limit: Int, $onlyActiveSessions: Boolean
) {{
  sessions(
    searchFilter: $searchFilter, level: $level, sortBy: $sortBy, orderBy: $orderBy,
    skip: $skip, limit: $limit, onlyActiveSessions: $onlyActiveSessions
  ) {{ totalResults results {{ {FIELDS} }} }}
}}
"""
ENUM_ARGUMENTS = {"level", "sortBy", "orderBy"}
#: Every session of the first organization, ended and expired ones too, on one page.
EVERYTHING: dict[str, Any] = {"level": "Organization", "onlyActiveSessions": False, "limit": 1000}
SEEDED = 60  # sessions per organization with the default seeding


def sessions(server: FakeLogScale, token: str | None = None, **arguments: Any) -> dict[str, Any]:
    """The ``sessions`` result for these arguments (passed as variables), asserting no errors."""
    answer = server.execute(QUERY, arguments, token=token)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["sessions"]
    return result


def ids(page: dict[str, Any]) -> list[str]:
    return [row["id"] for row in page["results"]]


def literal(arguments: dict[str, Any]) -> str:
    """A document with the arguments written inline (``null`` for None)."""

    def value(name: str, given: Any) -> str:
        if given is None:
            return "null"
        if isinstance(given, bool):
            return "true" if given else "false"
        if isinstance(given, int) or name in ENUM_ARGUMENTS:
            return str(given)
        return json.dumps(given)

    inside = ", ".join(f"{name}: {value(name, given)}" for name, given in arguments.items())
    return f"{{ sessions{f'({inside})' if inside else ''} {{ totalResults results {{ id }} }} }}"


def literal_page(server: FakeLogScale, arguments: dict[str, Any]) -> tuple[int, list[str]]:
    answer = server.execute(literal(arguments))
    assert "errors" not in answer, answer
    page = answer["data"]["sessions"]
    return page["totalResults"], ids(page)


def records(server: FakeLogScale) -> dict[str, Session]:
    return {s.id: s for s in server.sessions}


def usernames(server: FakeLogScale) -> dict[str, str]:
    return {u.id: u.username for u in server.users}


def active_ids(server: FakeLogScale, user_id: str | None = None) -> set[str]:
    now = server.clock.now_ms()
    settings = server.organization.settings
    return {
        s.id
        for s in server.sessions
        if s.organization_id == server.organization.id
        and (user_id is None or s.user_id == user_id)
        and is_active(s, now, settings)
    }


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The single GraphQL error of an answer whose data was nulled."""
    assert answer["data"] is None, answer
    (error,) = answer["errors"]
    assert error["path"] == ["sessions"]
    assert error["locations"], error
    return dict(error)


# -- defaults ----------------------------------------------------------------------------------


def test_no_arguments_give_the_organizations_active_sessions_least_recent_activity_first(
    logscale_server: FakeLogScale,
) -> None:
    page = sessions(logscale_server)
    active = active_ids(logscale_server)
    assert len(active) < SEEDED, "some sessions should be ended or expired"
    assert page["totalResults"] == len(active)
    expected = expected_order(
        [records(logscale_server)[i] for i in active],
        "LastActivityTime",
        "ASC",
        usernames(logscale_server),
    )
    assert ids(page) == expected
    assert len({row["user"]["id"] for row in page["results"]}) > 1


# Each argument: its default, and another value that gives a different page (so the test can fail).
DEFAULTS = [
    ("skip", 0, 5),
    ("limit", 50, 10),
    ("onlyActiveSessions", True, False),
    ("level", "Organization", "User"),
    ("sortBy", "LastActivityTime", "IPAddress"),
    ("orderBy", "ASC", "DESC"),
]


@pytest.mark.parametrize(("name", "default", "other"), DEFAULTS, ids=[d[0] for d in DEFAULTS])
@pytest.mark.parametrize("absent", ["left out", "null variable", "null literal"])
def test_an_argument_left_out_or_null_takes_its_default(
    logscale_server: FakeLogScale, name: str, default: Any, other: Any, absent: str
) -> None:
    base = {k: v for k, v in EVERYTHING.items() if k != name}
    if name == "limit":
        base["skip"] = 3
    explicit = sessions(logscale_server, **base, **{name: default})
    different = sessions(logscale_server, **base, **{name: other})
    assert (explicit["totalResults"], ids(explicit)) != (different["totalResults"], ids(different))
    if absent == "left out":
        got = sessions(logscale_server, **base)
    elif absent == "null variable":
        got = sessions(logscale_server, **base, **{name: None})
    else:
        total, page_ids = literal_page(logscale_server, {**base, name: None})
        assert (total, page_ids) == (explicit["totalResults"], ids(explicit))
        return
    assert got == explicit


def test_the_default_limit_is_fifty(logscale_server: FakeLogScale) -> None:
    page = sessions(logscale_server, level="Organization", onlyActiveSessions=False)
    assert page["totalResults"] == SEEDED
    assert len(page["results"]) == 50


@pytest.mark.parametrize("absent", ["left out", "null variable", "null literal", "", "   \t "])
def test_a_missing_null_or_blank_search_filter_filters_nothing(
    logscale_server: FakeLogScale, absent: str
) -> None:
    unfiltered = sessions(logscale_server, **EVERYTHING)
    assert unfiltered["totalResults"] == SEEDED
    if absent == "left out":
        assert sessions(logscale_server, **EVERYTHING) == unfiltered
    elif absent == "null variable":
        assert sessions(logscale_server, **EVERYTHING, searchFilter=None) == unfiltered
    elif absent == "null literal":
        assert literal_page(logscale_server, {**EVERYTHING, "searchFilter": None}) == (
            SEEDED,
            ids(unfiltered),
        )
    else:
        assert sessions(logscale_server, **EVERYTHING, searchFilter=absent) == unfiltered


def test_every_argument_null_at_once_is_the_default_query(logscale_server: FakeLogScale) -> None:
    names = ["searchFilter", "level", "sortBy", "orderBy", "skip", "limit", "onlyActiveSessions"]
    default = sessions(logscale_server)
    assert sessions(logscale_server, **dict.fromkeys(names)) == default
    assert literal_page(logscale_server, dict.fromkeys(names)) == (
        default["totalResults"],
        ids(default),
    )


def test_the_results_carry_the_sessions_fields_as_stored(logscale_server: FakeLogScale) -> None:
    page = sessions(logscale_server, **EVERYTHING)
    stored = records(logscale_server)
    users = {u.id: u for u in logscale_server.users}
    for row in page["results"]:
        session = stored[row["id"]]
        user = users[session.user_id]
        assert row == {
            "id": session.id,
            "ip": session.ip,
            "clientInfo": session.client_info,
            "city": session.city,
            "country": session.country,
            "createdAt": session.created_at,
            "lastActivityAt": session.last_activity_at,
            "isCurrentSession": row["isCurrentSession"],
            "user": {
                "id": user.id,
                "username": user.username,
                "displayName": user.display_name,
                "email": user.email,
            },
        }


# -- sorting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("sort_by", SORT_KEYS)
def test_every_sort_key_orders_every_session_both_ways(
    logscale_server: FakeLogScale, sort_by: str, order: str
) -> None:
    page = sessions(logscale_server, **EVERYTHING, sortBy=sort_by, orderBy=order)
    assert page["totalResults"] == SEEDED
    expected = expected_order(
        records(logscale_server).values(), sort_by, order, usernames(logscale_server)
    )
    assert ids(page) == expected


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("sort_by", SORT_KEYS)
def test_sessions_equal_on_the_key_come_in_id_order_both_ways(
    logscale_server: FakeLogScale, sort_by: str, order: str
) -> None:
    twins = [
        logscale_server.login(logscale_server.member(), ip="198.51.100.7", city="Oslo")
        for _ in range(4)
    ]
    got = ids(sessions(logscale_server, **EVERYTHING, sortBy=sort_by, orderBy=order))
    stored, names = records(logscale_server), usernames(logscale_server)
    keys = [sort_key(sort_by, stored[i], names) for i in got]
    ties = [(a, b) for k, (a, b) in enumerate(itertools.pairwise(got)) if keys[k] == keys[k + 1]]
    assert len(ties) >= 3
    assert all(a < b for a, b in ties), ties
    twin_ids = [i for i in got if i in {t.id for t in twins}]
    assert twin_ids == sorted(twin_ids)


def test_ip_addresses_sort_as_numbers_with_ipv4_before_ipv6(logscale_server: FakeLogScale) -> None:
    member = logscale_server.member()
    made = {ip: logscale_server.login(member, ip=ip).id for ip in ("10.0.0.10", "10.0.0.9", "::1")}
    made["9.255.255.255"] = logscale_server.login(member, ip="9.255.255.255").id
    ascending = ids(sessions(logscale_server, **EVERYTHING, sortBy="IPAddress", orderBy="ASC"))
    position = {ip: ascending.index(session_id) for ip, session_id in made.items()}
    assert position["9.255.255.255"] < position["10.0.0.9"] < position["10.0.0.10"]
    stored = records(logscale_server)
    families = [":" in stored[i].ip for i in ascending]
    assert families == sorted(families), "an IPv6 address came before an IPv4 one"
    assert any(families)
    assert ascending.index(made["::1"]) == families.index(True), "::1 is the smallest IPv6"
    descending = ids(sessions(logscale_server, **EVERYTHING, sortBy="IPAddress", orderBy="DESC"))
    assert descending.index(made["10.0.0.10"]) < descending.index(made["10.0.0.9"])
    assert descending.index(made["::1"]) < descending.index(made["9.255.255.255"])


def test_location_sorts_by_country_then_city_ignoring_case_with_missing_parts_last(
    logscale_server: FakeLogScale,
) -> None:
    member = logscale_server.member()
    places = {
        "aarhus": ("Aardland", "aarhus"),
        "Copenhagen": ("aardland", "Copenhagen"),
        "no city": ("AARDLAND", None),
        "no country": (None, "Aaa"),
        "nowhere": (None, None),
    }
    made = {
        name: logscale_server.login(member, country=country, city=city).id
        for name, (country, city) in places.items()
    }
    for order, inside in (
        ("ASC", ["aarhus", "Copenhagen", "no city"]),
        ("DESC", ["Copenhagen", "aarhus", "no city"]),
    ):
        got = ids(sessions(logscale_server, **EVERYTHING, sortBy="Location", orderBy=order))
        first = got.index(made[inside[0]])
        assert got[first : first + 3] == [made[name] for name in inside], order
        stored = records(logscale_server)
        countries = [stored[i].country for i in got]
        missing = countries.index(None)
        assert all(c is None for c in countries[missing:]), f"{order}: a country after a null"
        tail = got[missing:]
        assert tail.index(made["no country"]) < tail.index(made["nowhere"]), order
    ascending = ids(sessions(logscale_server, **EVERYTHING, sortBy="Location", orderBy="ASC"))
    assert ascending.index(made["aarhus"]) == 0, "Aardland sorts before every seeded country"


def test_client_info_sorts_ignoring_case(logscale_server: FakeLogScale) -> None:
    member = logscale_server.member()
    lower = logscale_server.login(member, client_info="aaa-client/1.0").id
    upper = logscale_server.login(member, client_info="AAB-client/1.0").id
    ascending = ids(sessions(logscale_server, **EVERYTHING, sortBy="ClientInfo", orderBy="ASC"))
    assert ascending[:2] == [lower, upper]
    descending = ids(sessions(logscale_server, **EVERYTHING, sortBy="ClientInfo", orderBy="DESC"))
    assert descending[-2:] == [upper, lower]


def _null_times(server: FakeLogScale) -> dict[str, Session]:
    """Give a few sessions (none of the owner's) missing times; returns them by id."""
    owner = server.owner()
    others = [s for s in server.sessions if s.user_id != owner.id][:6]
    changed = [
        replace(others[0], created_at=None),
        replace(others[1], last_activity_at=None),
        replace(others[2], created_at=None, last_activity_at=None),
        replace(others[3], created_at=None),
        replace(others[4], last_activity_at=None),
    ]
    server.store.import_changes(
        server.store.dataset, Changes(sessions=tuple(changed), now_ms=server.clock.now_ms())
    )
    return {s.id: s for s in changed}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(
    ("sort_by", "field"), [("LoginTime", "created_at"), ("LastActivityTime", "last_activity_at")]
)
def test_missing_times_sort_last_in_id_order_both_ways(
    logscale_server: FakeLogScale, sort_by: str, field: str, order: str
) -> None:
    changed = _null_times(logscale_server)
    nulls = sorted(i for i, s in changed.items() if getattr(s, field) is None)
    got = ids(sessions(logscale_server, **EVERYTHING, sortBy=sort_by, orderBy=order))
    assert got[-len(nulls) :] == nulls
    assert got == expected_order(
        records(logscale_server).values(), sort_by, order, usernames(logscale_server)
    )
    rows = sessions(logscale_server, **EVERYTHING, sortBy=sort_by, orderBy=order)["results"]
    key = "createdAt" if field == "created_at" else "lastActivityAt"
    assert [row[key] for row in rows[-len(nulls) :]] == [None] * len(nulls)


# -- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("sort_by", SORT_KEYS)
def test_small_pages_return_every_match_once_in_the_order_of_one_big_page(
    logscale_server: FakeLogScale, sort_by: str, order: str
) -> None:
    arguments = {**EVERYTHING, "sortBy": sort_by, "orderBy": order}
    whole = ids(sessions(logscale_server, **arguments))
    size = 7
    pages = [
        sessions(logscale_server, **{**arguments, "skip": skip, "limit": size})
        for skip in range(0, SEEDED + size, size)
    ]
    assert {page["totalResults"] for page in pages} == {SEEDED}
    assert all(len(page["results"]) <= size for page in pages)
    assert [i for page in pages for i in ids(page)] == whole
    assert pages[-1]["results"] == []


def test_pages_of_one_match_a_filtered_active_listing(logscale_server: FakeLogScale) -> None:
    arguments = {"level": "Organization", "searchFilter": "a", "sortBy": "Location"}
    whole = sessions(logscale_server, **arguments, limit=1000)
    total = whole["totalResults"]
    assert 0 < total < SEEDED
    singles = [sessions(logscale_server, **arguments, skip=k, limit=1) for k in range(total)]
    assert [i for page in singles for i in ids(page)] == ids(whole)
    assert {page["totalResults"] for page in singles} == {total}


@pytest.mark.parametrize(
    ("skip", "limit", "count"),
    [(0, 0, 0), (10, 0, 0), (0, 1, 1), (55, 50, 5), (59, 5, 1), (60, 5, 0), (1000, 50, 0)],
)
def test_total_results_counts_every_match_whatever_skip_and_limit(
    logscale_server: FakeLogScale, skip: int, limit: int, count: int
) -> None:
    page = sessions(
        logscale_server, level="Organization", onlyActiveSessions=False, skip=skip, limit=limit
    )
    assert page["totalResults"] == SEEDED
    assert len(page["results"]) == count
    whole = ids(sessions(logscale_server, **EVERYTHING))
    assert ids(page) == whole[skip : skip + limit]


def test_limit_zero_gives_no_results_but_the_true_total_of_active_sessions(
    logscale_server: FakeLogScale,
) -> None:
    page = sessions(logscale_server, level="Organization", limit=0)
    assert page == {"totalResults": len(active_ids(logscale_server)), "results": []}


def test_the_largest_int_limit_returns_every_match(logscale_server: FakeLogScale) -> None:
    page = sessions(logscale_server, **{**EVERYTHING, "limit": 2**31 - 1})
    assert len(page["results"]) == SEEDED


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"skip": -1}, "skip"),
        ({"skip": -(2**31)}, "skip"),
        ({"limit": -1}, "limit"),
        ({"limit": -50, "skip": 0}, "limit"),
        ({"skip": -5, "limit": 0}, "skip"),
    ],
)
@pytest.mark.parametrize("how", ["variables", "literal"])
def test_a_negative_skip_or_limit_is_a_graphql_error_naming_it(
    logscale_server: FakeLogScale, arguments: dict[str, int], named: str, how: str
) -> None:
    query = literal(arguments) if how == "literal" else QUERY
    body = json.dumps({"query": query, "variables": {} if how == "literal" else arguments})
    status, answer = logscale_server.post(body, token=logscale_server.token)
    assert status == 200
    error = error_of(answer)
    assert named in error["message"]
    assert "negative" in error["message"]
    assert str(arguments[named]) in error["message"]
    assert sessions(logscale_server, limit=1)["totalResults"] >= 1, "the server still answers"


def test_an_int_beyond_32_bits_is_a_validation_error_not_a_500(
    logscale_server: FakeLogScale,
) -> None:
    status, answer = logscale_server.post(
        json.dumps({"query": "{ sessions(limit: 2147483648) { totalResults } }"}),
        token=logscale_server.token,
    )
    assert status == 400
    assert "data" not in answer or answer["data"] is None
    assert answer["errors"][0]["message"]


# -- searchFilter ------------------------------------------------------------------------------


def _matching(server: FakeLogScale, needle: str) -> set[str]:
    users = {u.id: u for u in server.users}
    folded = needle.strip().casefold()
    found = set()
    for s in server.sessions:
        user = users[s.user_id]
        texts = (
            user.username,
            user.display_name,
            user.email,
            s.ip,
            s.client_info,
            s.city,
            s.country,
        )
        if any(t is not None and folded in t.casefold() for t in texts):
            found.add(s.id)
    return found


def _pick(server: FakeLogScale, field: str) -> str:
    """A piece of some session's ``field`` (or its user's), upper-cased where it has letters."""
    users = {u.id: u for u in server.users}
    for s in server.sessions:
        user = users[s.user_id]
        value = {
            "username": user.username.split("@")[0],
            "displayName": user.display_name,
            "ip": s.ip,
            "clientInfo": s.client_info[13:40],
            "city": s.city,
            "country": s.country,
        }[field]
        if value and len(value) > 4:
            return value.swapcase()
    raise AssertionError(f"no session has a {field}")


@pytest.mark.parametrize(
    "field", ["username", "displayName", "ip", "clientInfo", "city", "country"]
)
def test_search_filter_matches_each_field_ignoring_case(
    logscale_server: FakeLogScale, field: str
) -> None:
    needle = _pick(logscale_server, field)
    page = sessions(logscale_server, **EVERYTHING, searchFilter=needle)
    expected = _matching(logscale_server, needle)
    assert 0 < len(expected) < SEEDED or field == "clientInfo"
    assert set(ids(page)) == expected
    assert page["totalResults"] == len(expected)
    assert sessions(logscale_server, **EVERYTHING, searchFilter=needle.swapcase()) == page


def test_search_filter_on_a_display_name_with_a_space_matches_that_user(
    logscale_server: FakeLogScale,
) -> None:
    owner = logscale_server.owner()
    needle = owner.display_name.upper()
    assert " " in needle
    page = sessions(logscale_server, **EVERYTHING, searchFilter=needle)
    assert {row["user"]["id"] for row in page["results"]} == {owner.id}
    assert page["totalResults"] == len(
        [s for s in logscale_server.sessions if s.user_id == owner.id]
    )


def test_the_documented_company_com_filter_selects_the_first_organizations_users(
    logscale_server: FakeLogScale,
) -> None:
    page = sessions(logscale_server, **EVERYTHING, searchFilter="company.com")
    assert page["totalResults"] == SEEDED
    assert all(row["user"]["username"].endswith("@company.com") for row in page["results"])
    shouting = sessions(logscale_server, **EVERYTHING, searchFilter="  COMPANY.COM ")
    assert shouting == page


def test_search_filter_is_trimmed_and_can_match_nothing(logscale_server: FakeLogScale) -> None:
    needle = _pick(logscale_server, "city")
    assert sessions(logscale_server, **EVERYTHING, searchFilter=f"  {needle}\t") == sessions(
        logscale_server, **EVERYTHING, searchFilter=needle
    )
    nothing = sessions(logscale_server, **EVERYTHING, searchFilter="no session has this text")
    assert nothing == {"totalResults": 0, "results": []}


def test_search_filter_matches_a_session_logged_in_since_seeding(
    logscale_server: FakeLogScale,
) -> None:
    made = logscale_server.login(
        logscale_server.member(), client_info="Zyzzyva/1.0", city="Tromsø", country="Norway"
    )
    for needle in ("zyzzyva", "TROMSØ", "203.0.113.10"):
        page = sessions(logscale_server, **EVERYTHING, searchFilter=needle)
        assert made.id in ids(page), needle


def test_search_filter_narrows_the_callers_own_sessions_only(
    logscale_server: FakeLogScale,
) -> None:
    member = logscale_server.member()
    page = sessions(
        logscale_server, level="User", searchFilter="company.com", onlyActiveSessions=False
    )
    owner = logscale_server.owner()
    assert {row["user"]["id"] for row in page["results"]} == {owner.id}
    needle = member.display_name
    assert sessions(logscale_server, level="User", searchFilter=needle)["totalResults"] == 0


# -- onlyActiveSessions and level ---------------------------------------------------------------


def test_only_active_sessions_leaves_out_ended_and_expired_ones(
    logscale_server: FakeLogScale,
) -> None:
    active = sessions(logscale_server, level="Organization", limit=1000)
    expected = active_ids(logscale_server)
    assert set(ids(active)) == expected
    every = records(logscale_server)
    left_out = set(every) - expected
    now = logscale_server.clock.now_ms()
    settings = logscale_server.organization.settings
    assert any(every[i].ended is not None for i in left_out), "no ended session in the seed"
    assert any(
        every[i].ended is None
        and now - (every[i].last_activity_at or now) > settings.max_inactivity_period
        for i in left_out
    ), "no idle session in the seed"
    assert any(
        every[i].ended is None
        and now - (every[i].created_at or now) > settings.force_reauthentication_after
        for i in left_out
    ), "no session past forced re-authentication in the seed"


def test_moving_the_clock_past_the_idle_limit_expires_sessions_at_the_boundary(
    logscale_server: FakeLogScale,
) -> None:
    fresh = logscale_server.login(logscale_server.member())
    viewer = logscale_server.api_token(logscale_server.owner())  # touches no session
    limit_ms = logscale_server.organization.settings.max_inactivity_period
    logscale_server.clock.advance(limit_ms / 1000)
    listed = ids(sessions(logscale_server, token=viewer, level="Organization", limit=1000))
    assert fresh.id in listed, "exactly at the limit the session is still active"
    logscale_server.clock.advance(0.001)
    page = sessions(logscale_server, token=viewer, level="Organization", limit=1000)
    assert page == {"totalResults": 0, "results": []}, "every seeded session is idle by now"
    everything = sessions(logscale_server, token=viewer, **EVERYTHING)
    assert fresh.id in ids(everything)
    assert everything["totalResults"] == SEEDED + 1


def test_moving_the_clock_past_forced_reauthentication_expires_a_busy_session(
    logscale_server: FakeLogScale,
) -> None:
    force = logscale_server.organization.settings.force_reauthentication_after
    answer = logscale_server.execute(
        "mutation($idle: Long!, $force: Long!) { updateSessionSettings(input: "
        "{maxInactivityPeriod: $idle, forceReauthenticationAfter: $force}) { id } }",
        {"idle": 10 * force, "force": force},
    )
    assert "errors" not in answer, answer
    fresh = logscale_server.login(logscale_server.member())
    viewer = logscale_server.api_token(logscale_server.owner())
    assert fresh.created_at is not None
    logscale_server.clock.set(fresh.created_at + force)
    assert fresh.id in ids(sessions(logscale_server, token=fresh.token, level="User", limit=1000))
    logscale_server.clock.advance(0.001)
    listed = ids(sessions(logscale_server, token=viewer, level="Organization", limit=1000))
    assert fresh.id not in listed, "used a moment ago, but opened too long ago"


def test_level_user_lists_only_the_callers_sessions_for_every_role(
    logscale_server: FakeLogScale,
) -> None:
    for user in (logscale_server.owner(), logscale_server.admin(), logscale_server.member()):
        token = logscale_server.session_token(user)
        page = sessions(logscale_server, token=token, level="User", onlyActiveSessions=False)
        own = {s.id for s in logscale_server.sessions if s.user_id == user.id}
        assert set(ids(page)) == own
        assert page["totalResults"] == len(own)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_level_organization_is_allowed_with_change_sessions(
    logscale_server: FakeLogScale, role: str
) -> None:
    user = getattr(logscale_server, role)()
    token = logscale_server.session_token(user)
    page = sessions(logscale_server, token=token, **EVERYTHING)
    assert page["totalResults"] == SEEDED
    assert len({row["user"]["id"] for row in page["results"]}) > 3


@pytest.mark.parametrize("credential", ["session", "api token"])
def test_level_organization_without_change_sessions_is_a_graphql_error(
    logscale_server: FakeLogScale, credential: str
) -> None:
    member = logscale_server.member()
    token = (
        logscale_server.session_token(member)
        if credential == "session"
        else logscale_server.api_token(member)
    )
    status, answer = logscale_server.post(
        json.dumps({"query": QUERY, "variables": {"level": "Organization", "limit": 0}}),
        token=token,
    )
    assert status == 200
    error = error_of(answer)
    assert "ChangeSessions" in error["message"]
    assert sessions(logscale_server, token=token, level="User")["totalResults"] >= 1


@pytest.mark.logscale(organizations=2)
def test_level_organization_lists_only_the_callers_organization(
    logscale_server: FakeLogScale,
) -> None:
    first, second = logscale_server.organizations
    for org in (first, second):
        token = logscale_server.session_token(logscale_server.owner(org))
        page = sessions(logscale_server, token=token, **EVERYTHING)
        assert page["totalResults"] == SEEDED
        stored = records(logscale_server)
        assert {stored[i].organization_id for i in ids(page)} == {org.id}


# -- isCurrentSession, activity and logout -------------------------------------------------------


def test_is_current_session_is_true_only_for_the_requesting_session(
    logscale_server: FakeLogScale,
) -> None:
    owner = logscale_server.owner()
    second = logscale_server.login(owner)
    for token, current in ((logscale_server.token, None), (second.token, second.id)):
        page = sessions(logscale_server, token=token, **EVERYTHING)
        flagged = [row["id"] for row in page["results"] if row["isCurrentSession"]]
        if current is None:
            current = next(
                s.id for s in logscale_server.sessions if s.token == logscale_server.token
            )
        assert flagged == [current]


def test_is_current_session_is_false_everywhere_for_a_personal_api_token(
    logscale_server: FakeLogScale,
) -> None:
    token = logscale_server.api_token(logscale_server.owner())
    page = sessions(logscale_server, token=token, **EVERYTHING)
    assert page["totalResults"] == SEEDED
    assert not any(row["isCurrentSession"] for row in page["results"])


def test_a_request_sets_its_sessions_last_activity_to_the_fakes_now(
    logscale_server: FakeLogScale,
) -> None:
    fresh = logscale_server.login(logscale_server.member())
    before = {s.id: s.last_activity_at for s in logscale_server.sessions}
    logscale_server.clock.advance(minutes=5)
    now = logscale_server.clock.now_ms()
    page = sessions(logscale_server, token=fresh.token, level="User", orderBy="DESC", limit=1000)
    row = next(r for r in page["results"] if r["id"] == fresh.id)
    assert fresh.created_at is not None
    assert row["lastActivityAt"] == now == fresh.created_at + 5 * 60_000
    assert row["createdAt"] == fresh.created_at
    assert page["results"][0]["id"] == fresh.id, "the fresh activity sorts first"
    after = {s.id: s.last_activity_at for s in logscale_server.sessions}
    assert {i for i in before if before[i] != after[i]} == {fresh.id}


def test_a_personal_api_token_request_touches_no_session(logscale_server: FakeLogScale) -> None:
    token = logscale_server.api_token(logscale_server.owner())
    before = {s.id: s.last_activity_at for s in logscale_server.sessions}
    logscale_server.clock.advance(minutes=5)
    sessions(logscale_server, token=token, **EVERYTHING)
    assert {s.id: s.last_activity_at for s in logscale_server.sessions} == before


def test_logout_ends_the_session_which_is_then_listed_only_with_inactive_ones(
    logscale_server: FakeLogScale,
) -> None:
    fresh = logscale_server.login(logscale_server.member())
    assert logscale_server.execute("mutation { logoutOfSession }", token=fresh.token) == {
        "data": {"logoutOfSession": True}
    }
    assert fresh.id not in ids(sessions(logscale_server, level="Organization", limit=1000))
    assert fresh.id in ids(sessions(logscale_server, **EVERYTHING))
    status, answer = logscale_server.post(json.dumps({"query": QUERY}), token=fresh.token)
    assert (status, answer) == (401, "The supplied authentication is invalid")
    refused = logscale_server.journal.entries[-1].auth_failure
    assert refused is not None and "logged out" in refused


def test_logout_with_a_personal_api_token_is_a_graphql_error(
    logscale_server: FakeLogScale,
) -> None:
    token = logscale_server.api_token(logscale_server.member())
    answer = logscale_server.execute("mutation { logoutOfSession }", token=token)
    assert answer["data"] is None
    (error,) = answer["errors"]
    assert error["path"] == ["logoutOfSession"]
    assert "API token" in error["message"]
    assert sessions(logscale_server, token=token, level="User", limit=0)["totalResults"] >= 1
