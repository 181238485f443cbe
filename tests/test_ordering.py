"""pytest_logscale.domain.ordering: six sort keys, nulls last, ties by id, insert agrees."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest
from session_oracle import ORDERS, SORT_KEYS, expected_order, sort_key

from pytest_logscale import Role, Session, SortBy, User
from pytest_logscale.domain.ordering import (
    ip_key,
    key_fields,
    order,
    parts_for,
    places,
    seats,
)

USERS = {
    uid: User(uid, "org", name, name.title(), Role.MEMBER, 0)
    for uid, name in (("u1", "bob@x.com"), ("u2", "Alice@x.com"), ("u3", "alice@w.com"))
}


def session(sid: str, **fields: object) -> Session:
    base = Session(
        id=sid,
        user_id="u1",
        organization_id="org",
        token=f"t-{sid}",
        client_info="Mozilla/5.0",
        ip="192.0.2.1",
        city="Oslo",
        country="Norway",
        created_at=1_000,
        last_activity_at=2_000,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def ordered_ids(sessions: list[Session], sort_by: SortBy, descending: bool) -> list[str]:
    return [s.id for s in order(sessions, parts_for(sort_by, USERS), descending)]


# -- ip_key ------------------------------------------------------------------------------------


def test_ip_key_is_the_address_as_a_number_ipv4_first() -> None:
    assert ip_key("10.0.0.9") < ip_key("10.0.0.10")  # type: ignore[operator]
    assert ip_key("255.255.255.255") < ip_key("::")  # type: ignore[operator]
    assert ip_key("2001:db8::1") == ip_key("2001:0db8:0:0::0001")
    assert ip_key("1.2.3.4") == (4, 0x01020304)


@pytest.mark.parametrize("text", ["", "1.2.3", "10.0.0.256", "example.com", "::g", " 1.2.3.4"])
def test_ip_key_is_none_for_text_that_is_no_address(text: str) -> None:
    assert ip_key(text) is None


# -- order ---------------------------------------------------------------------------------------


def test_times_sort_as_numbers_with_missing_ones_last_both_ways() -> None:
    sessions = [
        session("a", last_activity_at=None),
        session("b", last_activity_at=900),
        session("c", last_activity_at=10_000),
        session("d", last_activity_at=None),
        session("e", last_activity_at=900),
    ]
    assert ordered_ids(sessions, SortBy.LAST_ACTIVITY_TIME, False) == ["b", "e", "c", "a", "d"]
    assert ordered_ids(sessions, SortBy.LAST_ACTIVITY_TIME, True) == ["c", "b", "e", "a", "d"]


def test_login_time_uses_created_at() -> None:
    sessions = [
        session("a", created_at=5),
        session("b", created_at=None),
        session("c", created_at=1),
    ]
    assert ordered_ids(sessions, SortBy.LOGIN_TIME, False) == ["c", "a", "b"]
    assert ordered_ids(sessions, SortBy.LOGIN_TIME, True) == ["a", "c", "b"]


def test_ip_addresses_sort_numerically_with_ipv4_before_ipv6() -> None:
    sessions = [
        session("v6", ip="::1"),
        session("ten", ip="10.0.0.10"),
        session("nine", ip="10.0.0.9"),
        session("big", ip="2001:db8::1"),
        session("low", ip="9.1.1.1"),
    ]
    assert ordered_ids(sessions, SortBy.IP_ADDRESS, False) == ["low", "nine", "ten", "v6", "big"]
    assert ordered_ids(sessions, SortBy.IP_ADDRESS, True) == ["big", "v6", "ten", "nine", "low"]


def test_location_sorts_by_country_then_city_ignoring_case_missing_parts_last() -> None:
    sessions = [
        session("nowhere", country=None, city=None),
        session("no-city", country="Norway", city=None),
        session("bergen", country="norway", city="bergen"),
        session("oslo", country="NORWAY", city="Oslo"),
        session("aarhus", country="Denmark", city="Aarhus"),
        session("city-only", country=None, city="Zagreb"),
    ]
    assert ordered_ids(sessions, SortBy.LOCATION, False) == [
        "aarhus",
        "bergen",
        "oslo",
        "no-city",
        "city-only",
        "nowhere",
    ]
    assert ordered_ids(sessions, SortBy.LOCATION, True) == [
        "oslo",
        "bergen",
        "no-city",
        "aarhus",
        "city-only",
        "nowhere",
    ]


def test_client_info_and_user_sort_ignoring_case() -> None:
    clients = [session("b", client_info="beta"), session("a", client_info="Alpha")]
    assert ordered_ids(clients, SortBy.CLIENT_INFO, False) == ["a", "b"]
    assert ordered_ids(clients, SortBy.CLIENT_INFO, True) == ["b", "a"]
    people = [session("1", user_id="u1"), session("2", user_id="u2"), session("3", user_id="u3")]
    # alice@w.com < alice@x.com (Alice@x.com folded) < bob@x.com
    assert ordered_ids(people, SortBy.USER, False) == ["3", "2", "1"]
    assert ordered_ids(people, SortBy.USER, True) == ["1", "2", "3"]


@pytest.mark.parametrize("sort_by", list(SortBy))
@pytest.mark.parametrize("descending", [False, True])
def test_ties_break_by_id_ascending_in_both_directions(sort_by: SortBy, descending: bool) -> None:
    sessions = [session(sid) for sid in ("m", "c", "x", "a")]
    assert ordered_ids(sessions, sort_by, descending) == ["a", "c", "m", "x"]


def test_order_returns_a_new_list_and_leaves_its_input_alone() -> None:
    sessions = [session("b", created_at=2), session("a", created_at=1)]
    before = list(sessions)
    result = order(sessions, parts_for(SortBy.LOGIN_TIME, USERS), False)
    assert sessions == before
    assert result is not sessions


# -- against the plain rules, and insert agreeing with order -------------------------------------


def random_sessions(rng: random.Random, count: int) -> list[Session]:
    """Sessions with many ties and missing values, to stress every branch of the comparison."""
    places = [
        ("Norway", "Oslo"),
        ("norway", "bergen"),
        ("Norway", None),
        (None, "Rome"),
        (None, None),
    ]
    made = []
    for index in range(count):
        country, city = rng.choice(places)
        made.append(
            session(
                f"s{rng.getrandbits(24):06x}{index}",
                user_id=rng.choice(list(USERS)),
                client_info=rng.choice(["Mozilla/5.0", "mozilla/5.0", "curl/8.0", "Zed"]),
                ip=rng.choice(["10.0.0.9", "10.0.0.10", "::1", "2001:db8::a", "8.8.8.8"]),
                country=country,
                city=city,
                created_at=rng.choice([None, 1_000, 2_000, 3_000]),
                last_activity_at=rng.choice([None, 5_000, 6_000]),
            )
        )
    return made


@pytest.mark.parametrize("sort_by", SORT_KEYS)
@pytest.mark.parametrize("direction", ORDERS)
def test_order_and_placing_one_by_one_both_follow_the_plain_rules(
    sort_by: str, direction: str
) -> None:
    rng = random.Random(f"{sort_by}-{direction}")
    names = {uid: user.username for uid, user in USERS.items()}
    parts = parts_for(SortBy(sort_by), USERS)
    descending = direction == "DESC"
    for _ in range(20):
        sessions = random_sessions(rng, rng.randint(0, 40))
        expected = expected_order(sessions, sort_by, direction, names)
        assert [s.id for s in order(sessions, parts, descending)] == expected
        built: list[Session] = []
        for one in sessions:
            built.insert(places(built, [one], parts, descending)[0], one)  # by bisection
        assert [s.id for s in built] == expected


@pytest.mark.parametrize("sort_by", SORT_KEYS)
@pytest.mark.parametrize("direction", ORDERS)
@pytest.mark.parametrize("more", [1, 3, 200])
def test_places_and_seats_are_where_the_plain_rules_put_sessions(
    sort_by: str, direction: str, more: int
) -> None:
    """A few sessions are placed by bisection, many by one sort: both as the rules say."""
    rng = random.Random(f"{sort_by}-{direction}-{more}")
    names = {uid: user.username for uid, user in USERS.items()}
    parts = parts_for(SortBy(sort_by), USERS)
    descending = direction == "DESC"

    def precedes(a: Session, b: Session) -> bool:
        if a.id == b.id:  # a session and itself moved: the keys differ, the id decides nothing
            b = replace(b, id=b.id + "~")
        return expected_order([a, b], sort_by, direction, names)[0] == a.id

    for _ in range(5):
        ordered = order(random_sessions(rng, rng.randint(0, 300)), parts, descending)
        added = random_sessions(rng, more)
        # some are sessions of the list moved by a change: the same id, another key
        chosen = rng.sample(ordered, min(len(ordered), more))
        for was, now in zip(chosen, random_sessions(rng, len(chosen)), strict=True):
            moved = replace(now, id=was.id)
            if sort_key(sort_by, moved, names) != sort_key(sort_by, was, names):
                added.append(moved)
        found = places(ordered, added, parts, descending)
        for one, place in rng.sample(list(zip(added, found, strict=True)), min(len(added), 12)):
            assert place == sum(precedes(s, one) for s in ordered)
        wanted = rng.sample(ordered, min(len(ordered), 3))
        assert seats(ordered, wanted, parts, descending) == [ordered.index(s) for s in wanted]


@pytest.mark.parametrize("sort_by", list(SortBy))
def test_a_key_reads_only_its_fields(sort_by: SortBy) -> None:
    """Sessions equal in the key's fields are equal in every level of the key."""
    rng = random.Random(sort_by.value)
    parts = parts_for(sort_by, USERS)
    fields = key_fields(sort_by)
    sessions = random_sessions(rng, 60)
    for one in sessions:
        other = rng.choice(sessions)
        same = replace(other, **{name: getattr(one, name) for name in fields})
        assert [part(same) for part in parts] == [part(one) for part in parts]


def _by_ipaddress(text: str) -> tuple[int, int] | None:
    import ipaddress

    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return (address.version, int(address))


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1..3.4",
        "\uff11.2.3.4",  # a fullwidth digit one
        " 1.2.3.4",
        "1.2.3.4 ",
        "+1.2.3.4",
        "1.2.3.0004",
        "0.0.0.00",
        "::1",
        "1.2.3.4%x",
    ],
)
def test_ip_key_agrees_with_ipaddress_on_edges(text: str) -> None:
    assert ip_key(text) == _by_ipaddress(text)


def test_ip_key_agrees_with_ipaddress_on_random_text() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    octet = st.one_of(st.integers(0, 300).map(str), st.text("0123456789", min_size=0, max_size=4))

    @settings(max_examples=500, deadline=None)
    @given(st.lists(octet, min_size=3, max_size=5).map(".".join) | st.text(max_size=20))
    def agree(text: str) -> None:
        assert ip_key(text) == _by_ipaddress(text)

    agree()


def test_the_sort_number_of_an_address_orders_as_ip_key() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pytest_logscale.domain.ordering import _ip_number

    address = st.one_of(
        st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
        st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
        st.sampled_from(["01.2.3.4", "no address", "::ffff:1.2.3.4", "0.0.0.0", "::"]),
    )

    @settings(max_examples=500, deadline=None)
    @given(address, address)
    def agree(one: str, other: str) -> None:
        a, b = ip_key(one), ip_key(other)
        x, y = _ip_number(one), _ip_number(other)
        assert (a is None, b is None) == (x is None, y is None)
        if a is not None and b is not None:
            assert x is not None and y is not None
            assert (a < b, a == b) == (x < y, x == y)

    agree()
