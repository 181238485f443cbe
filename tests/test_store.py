"""The Store without HTTP: sessions() rules, the active rule, authentication, activity, logout."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from session_oracle import ORDERS, SORT_KEYS, expected_order, is_active

from pytest_logscale import (
    Caller,
    Ending,
    InvalidArgument,
    Level,
    Order,
    Organization,
    PermissionDenied,
    Role,
    SeedOptions,
    Session,
    SessionQuery,
    SessionSettings,
    SortBy,
    Store,
    Unauthenticated,
    User,
)
from pytest_logscale.domain.dataset import Dataset
from pytest_logscale.fake import cached_dataset
from pytest_logscale.graphql.resolvers import default_session_query

NOW = 1_750_000_000_000
IDLE = 100_000
FORCE = 1_000_000
ORG = Organization("org1", "Acme", "acme.test", SessionSettings(IDLE, FORCE))
OTHER_ORG = Organization("org2", "Other", "other.test", SessionSettings(IDLE, FORCE))

OWNER = User(
    "owner", "org1", "Olga.Owner@acme.test", "Olga Owner", Role.OWNER, 0, email="olga@mail.test"
)
ADMIN = User("admin", "org1", "adam@acme.test", "Adam Admin", Role.ADMIN, 0, email="adam@acme.test")
MEMBER = User("member", "org1", "mia@acme.test", "Mia Member", Role.MEMBER, 0)
STRANGER = User("stranger", "org2", "sam@other.test", "Sam Stranger", Role.OWNER, 0)


def _session(sid: str, user: User, **fields: object) -> Session:
    base = Session(
        id=sid,
        user_id=user.id,
        organization_id=user.organization_id,
        token=f"token-{sid}",
        client_info="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ip="198.51.100.1",
        city="Bergen",
        country="Norway",
        created_at=NOW - 5_000,
        last_activity_at=NOW - 1_000,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


SESSIONS = [
    _session("o-current", OWNER, last_activity_at=NOW, ip="10.0.0.10"),
    _session("o-edge", OWNER, last_activity_at=NOW - IDLE, created_at=NOW - FORCE),
    _session("o-idle", OWNER, last_activity_at=NOW - IDLE - 1),
    _session("o-reauth", OWNER, created_at=NOW - FORCE - 1),
    _session("o-out", OWNER, ended=Ending.LOGGED_OUT),
    _session("o-revoked", OWNER, ended=Ending.REVOKED, city=None),
    _session(
        "a-current",
        ADMIN,
        ip="2001:db8::7",
        client_info="curl/8.5.0",
        city="Kyoto",
        country="Japan",
    ),
    _session("m-current", MEMBER, country=None, city=None, last_activity_at=NOW - 10),
    _session("s-current", STRANGER),
]


def small_store() -> Store:
    dataset = Dataset(
        [ORG, OTHER_ORG],
        [OWNER, ADMIN, MEMBER, STRANGER],
        SESSIONS,
        start_ms=NOW,
        seed=5,
        api_tokens={"api-owner": OWNER.id, "api-member": MEMBER.id},
    )
    return Store(dataset)


def own_query(**fields: object) -> SessionQuery:
    """A query for the caller's own sessions, latest first, unless ``fields`` say otherwise.

    SessionQuery has no defaults of its own (the served schema holds them, see
    test_the_query_defaults_are_logscales); the store tests start from this one.
    """
    return SessionQuery(**{**OWN_LATEST_FIRST, **fields})  # type: ignore[arg-type]


OWN_LATEST_FIRST: dict[str, object] = {
    "level": Level.USER,
    "sort_by": SortBy.LAST_ACTIVITY_TIME,
    "order": Order.DESC,
    "skip": 0,
    "limit": 50,
    "only_active": True,
}


def page_ids(store: Store, caller: Caller, **query: object) -> list[str]:
    return [s.id for s in store.query_sessions(caller, own_query(**query)).sessions]


OWNER_CALLER = Caller(OWNER, "o-current")


# -- arguments and defaults ------------------------------------------------------------------


def test_the_query_defaults_are_logscales() -> None:
    assert default_session_query() == SessionQuery(
        search_filter=None,
        level=Level.ORGANIZATION,
        sort_by=SortBy.LAST_ACTIVITY_TIME,
        order=Order.ASC,
        skip=0,
        limit=50,
        only_active=True,
    )


def test_the_own_query_gives_the_callers_active_sessions_latest_first() -> None:
    page = small_store().query_sessions(OWNER_CALLER, own_query())
    assert page.total == 2
    assert [s.id for s in page.sessions] == ["o-current", "o-edge"]


def test_only_active_false_adds_ended_and_expired_sessions() -> None:
    store = small_store()
    got = page_ids(store, OWNER_CALLER, only_active=False, sort_by=SortBy.LOGIN_TIME)
    assert sorted(got) == sorted(s.id for s in SESSIONS if s.user_id == OWNER.id)


@pytest.mark.parametrize(
    ("session_id", "status"),
    [
        ("o-current", "active"),
        ("o-edge", "active"),
        ("o-idle", "inactive"),
        ("o-reauth", "reauthentication_due"),
        ("o-out", "logged_out"),
        ("o-revoked", "revoked"),
    ],
)
def test_each_session_has_the_status_the_rule_gives(session_id: str, status: str) -> None:
    store = small_store()
    session = store.session(session_id)
    assert store.status(session) == status
    assert store.is_active(session) is (status == "active")


def test_the_active_rule_follows_the_clock_and_the_settings() -> None:
    store = small_store()
    store.clock.advance(0.001)
    assert not store.is_active(store.session("o-edge"))
    caller = Caller(ADMIN, "a-current")
    store.update_session_settings(caller, IDLE * 10, FORCE * 10)
    assert store.is_active(store.session("o-edge"))
    assert store.is_active(store.session("o-idle"))
    assert store.is_active(store.session("o-reauth"))
    assert page_ids(store, OWNER_CALLER) == ["o-current", "o-reauth", "o-edge", "o-idle"]


def test_the_clock_starts_frozen_at_the_datasets_instant() -> None:
    store = small_store()
    assert store.clock.now_ms() == NOW
    assert store.clock.now_ms() == NOW


@pytest.mark.parametrize(("skip", "limit"), [(-1, 10), (0, -1), (-3, -3)])
def test_negative_skip_or_limit_is_an_invalid_argument(skip: int, limit: int) -> None:
    with pytest.raises(InvalidArgument, match="must not be negative") as caught:
        small_store().query_sessions(OWNER_CALLER, own_query(skip=skip, limit=limit))
    assert ("skip" if skip < 0 else "limit") in caught.value.message


def test_limit_zero_gives_the_total_and_no_sessions() -> None:
    page = small_store().query_sessions(OWNER_CALLER, own_query(limit=0, only_active=False))
    assert (page.total, page.sessions) == (6, [])


def test_skip_and_limit_slice_the_ordered_matches_and_keep_the_total() -> None:
    store = small_store()
    whole = page_ids(store, OWNER_CALLER, only_active=False, sort_by=SortBy.IP_ADDRESS)
    for skip in range(8):
        for limit in range(4):
            query = own_query(only_active=False, sort_by=SortBy.IP_ADDRESS, skip=skip, limit=limit)
            page = store.query_sessions(OWNER_CALLER, query)
            assert page.total == 6
            assert [s.id for s in page.sessions] == whole[skip : skip + limit]


# -- level ------------------------------------------------------------------------------------


def test_level_organization_needs_change_sessions() -> None:
    store = small_store()
    for caller in (Caller(MEMBER, "m-current"), Caller(MEMBER)):
        with pytest.raises(PermissionDenied) as caught:
            store.query_sessions(caller, own_query(level=Level.ORGANIZATION))
        assert caught.value.action == "ChangeSessions"
        assert "ChangeSessions" in caught.value.message
    assert page_ids(store, Caller(MEMBER, "m-current")) == ["m-current"]


@pytest.mark.parametrize("user", [OWNER, ADMIN])
def test_level_organization_lists_the_callers_organization_only(user: User) -> None:
    got = page_ids(small_store(), Caller(user), level=Level.ORGANIZATION, only_active=False)
    assert sorted(got) == sorted(s.id for s in SESSIONS if s.organization_id == "org1")
    other = page_ids(small_store(), Caller(STRANGER), level=Level.ORGANIZATION, only_active=False)
    assert other == ["s-current"]


# -- searchFilter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("olga.OWNER@", {"o-current", "o-edge", "o-idle", "o-reauth", "o-out", "o-revoked"}),
        ("m ADMIN", {"a-current"}),  # display name "Adam Admin"
        ("MAIL.test", {"o-current", "o-edge", "o-idle", "o-reauth", "o-out", "o-revoked"}),
        ("10.0.0.1", {"o-current"}),
        ("2001:DB8::", {"a-current"}),
        ("CURL/", {"a-current"}),
        ("kyoTO", {"a-current"}),
        ("JAPAN", {"a-current"}),
        ("bergen", {s.id for s in SESSIONS if s.city == "Bergen" and s.organization_id == "org1"}),
        ("  japan \n", {"a-current"}),
        ("@acme.test", {s.id for s in SESSIONS if s.organization_id == "org1"}),
        ("sam@other", set()),  # another organization's user: never found
        ("nothing like this", set()),
    ],
)
def test_search_filter_matches_each_field_ignoring_case_and_surrounding_space(
    needle: str, expected: set[str]
) -> None:
    store = small_store()
    query = own_query(search_filter=needle, level=Level.ORGANIZATION, only_active=False)
    page = store.query_sessions(OWNER_CALLER, query)
    assert {s.id for s in page.sessions} == expected
    assert page.total == len(expected)


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_a_blank_search_filter_filters_nothing(blank: str | None) -> None:
    query = own_query(search_filter=blank, level=Level.ORGANIZATION, only_active=False)
    assert small_store().query_sessions(OWNER_CALLER, query).total == 8


def test_search_filter_finds_a_session_opened_since_seeding() -> None:
    store = small_store()
    made = store.login(MEMBER.id, client_info="Zyzzyva/2", ip="192.0.2.44", city="Tromsø")
    for needle in ("ZYZZYVA", "192.0.2.44", "TROMSØ", "mia@"):
        got = page_ids(store, OWNER_CALLER, search_filter=needle, level=Level.ORGANIZATION)
        assert made.id in got, needle


# -- authentication, activity, logout ----------------------------------------------------------


def test_a_session_token_counts_as_activity_at_the_clocks_now() -> None:
    store = small_store()
    store.clock.advance(30)
    caller = store.authenticate("token-m-current")
    assert caller == Caller(MEMBER, "m-current")
    assert store.session("m-current").last_activity_at == NOW + 30_000
    assert store.session("m-current").created_at == NOW - 5_000
    assert page_ids(store, OWNER_CALLER, level=Level.ORGANIZATION)[0] == "m-current"


def test_a_personal_api_token_authenticates_without_a_session_or_activity() -> None:
    store = small_store()
    before = store.sessions()
    store.clock.advance(30)
    assert store.authenticate("api-owner") == Caller(OWNER)
    assert store.sessions() == before
    made = store.create_api_token(ADMIN.id)
    assert store.authenticate(made) == Caller(ADMIN)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (None, "No access token"),
        ("", "No access token"),
        ("nope", "not valid"),
        ("token-o-out", "logged out"),
        ("token-o-revoked", "revoked"),
        ("token-o-idle", "inactive"),
        ("token-o-reauth", "forceReauthenticationAfter"),
    ],
)
def test_authentication_refuses_saying_why(token: str | None, says: str) -> None:
    store = small_store()
    with pytest.raises(Unauthenticated, match=says):
        store.authenticate(token)
    assert store.sessions() == small_store().sessions(), "a refused token changes nothing"


def test_logout_ends_the_callers_session_and_its_token() -> None:
    store = small_store()
    caller = store.authenticate("token-a-current")
    assert store.logout(caller) is True
    assert store.status(store.session("a-current")) == "logged_out"
    with pytest.raises(Unauthenticated, match="logged out"):
        store.authenticate("token-a-current")
    assert "a-current" in page_ids(store, OWNER_CALLER, level=Level.ORGANIZATION, only_active=False)
    assert "a-current" not in page_ids(store, OWNER_CALLER, level=Level.ORGANIZATION)


def test_logout_without_a_session_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="personal API token"):
        small_store().logout(Caller(OWNER))


def test_login_refuses_text_that_is_no_ip_address() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        small_store().login(MEMBER.id, ip="10.0.0")


def test_reset_forgets_every_change_and_puts_the_clock_back() -> None:
    store = small_store()
    before = store.sessions()
    store.clock.advance(30)
    store.authenticate("token-m-current")
    store.logout(Caller(ADMIN, "a-current"))
    made = store.login(OWNER.id)
    store.reset()
    assert store.clock.now_ms() == NOW
    assert store.sessions() == before
    with pytest.raises(Unauthenticated):
        store.authenticate(made.token)


# -- the seeded data: orders after changes --------------------------------------------------------


def seeded_store() -> Store:
    return Store(cached_dataset(SeedOptions()))


def _check_every_order(store: Store, caller: Caller) -> None:
    names = {u.id: u.username for u in store.users()}
    org = caller.organization_id
    every = store.sessions(org)
    now, settings = store.clock.now_ms(), store.settings(org)
    for sort_by in SORT_KEYS:
        for direction in ORDERS:
            for only_active in (False, True):
                query = own_query(
                    level=Level.ORGANIZATION,
                    sort_by=SortBy(sort_by),
                    order=Order(direction),
                    only_active=only_active,
                    limit=10_000,
                )
                page = store.query_sessions(caller, query)
                pool = [s for s in every if not only_active or is_active(s, now, settings)]
                assert [s.id for s in page.sessions] == expected_order(
                    pool, sort_by, direction, names
                ), (sort_by, direction, only_active)
                assert page.total == len(pool)


def test_seeded_orders_follow_the_rules_before_any_change() -> None:
    store = seeded_store()
    owner = store.users(role=Role.OWNER)[0]
    _check_every_order(store, Caller(owner))


def test_orders_stay_right_after_a_few_changes() -> None:
    store = seeded_store()
    owner = store.users(role=Role.OWNER)[0]
    member = store.users(role=Role.MEMBER)[0]
    store.login(member.id, ip="10.0.0.9", country="Norway", city=None)
    store.login(owner.id, ip="::1", client_info="aaa")
    store.clock.advance(minutes=1)
    victim = next(s for s in store.user_sessions(member.id) if store.is_active(s))
    store.authenticate(victim.token)
    store.logout(Caller(member, victim.id))
    _check_every_order(store, Caller(owner))


def test_orders_stay_right_after_the_whole_organization_is_revoked() -> None:
    from pytest_logscale import RevocationType

    store = seeded_store()
    owner = store.users(role=Role.OWNER)[0]
    org = owner.organization_id
    store.revoke(Caller(owner), org, RevocationType.ORGANIZATION)
    fresh = store.login(owner.id)
    _check_every_order(store, Caller(owner, fresh.id))
    query = own_query(level=Level.ORGANIZATION)
    assert [s.id for s in store.query_sessions(Caller(owner), query).sessions] == [fresh.id]


def test_concurrent_logins_and_queries_lose_nothing() -> None:
    store = seeded_store()
    owner = store.users(role=Role.OWNER)[0]
    seeded = len(store.sessions())
    made: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(40):
            session = store.login(owner.id)
            store.authenticate(session.token)
            store.query_sessions(Caller(owner), own_query(level=Level.ORGANIZATION, limit=5))
            with lock:
                made.append(session.id)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 240
    query = own_query(level=Level.ORGANIZATION, only_active=False, limit=10_000)
    page = store.query_sessions(Caller(owner), query)
    assert page.total == seeded + 240
    assert set(made) <= {s.id for s in page.sessions}


def test_status_is_a_session_status_enum_member() -> None:
    from pytest_logscale import SessionStatus

    store = small_store()
    got = {sid: store.status(store.session(sid)) for sid in ("o-current", "o-idle", "o-reauth")}
    assert got == {
        "o-current": SessionStatus.ACTIVE,
        "o-idle": SessionStatus.INACTIVE,
        "o-reauth": SessionStatus.REAUTHENTICATION_DUE,
    }
    assert all(type(status) is SessionStatus for status in got.values())
    assert store.status(store.session("o-out")) is SessionStatus.LOGGED_OUT
    assert store.status(store.session("o-revoked")) is SessionStatus.REVOKED


def test_one_rule_decides_active_for_status_filters_and_columns() -> None:
    """Status, the per-session matcher and the seeded columns agree at every edge instant."""
    from pytest_logscale import SessionStatus
    from pytest_logscale.domain.status import active_until, status_at
    from pytest_logscale.domain.store import Changes

    store = small_store()
    settings = store.settings(ORG.id)
    edges = sorted(
        {
            int(t) + d
            for s in SESSIONS
            if s.organization_id == ORG.id
            for t in (active_until(s, settings),)
            if t not in (float("inf"), float("-inf"))
            for d in (-1, 0, 1)
        }
    )
    assert edges
    # every session "changed" (the same values), so sessions() reads them one by one
    changed = small_store()
    changed.import_changes(changed.dataset, Changes(sessions=tuple(SESSIONS), now_ms=NOW))
    for now in edges:
        for each in (store, changed):
            each.clock.set(now)
            listed = set(page_ids(each, OWNER_CALLER, level=Level.ORGANIZATION, limit=1000))
            for s in each.sessions(ORG.id):
                active = status_at(s, now, settings) is SessionStatus.ACTIVE
                assert active is (active_until(s, settings) >= now)
                assert (s.id in listed) is active, (now, s.id)


def test_many_token_digests_are_each_tokens_digest() -> None:
    from pytest_logscale.domain.ids import token_digest, token_digests

    tokens = ["abc", "", "x" * 100, "\ud800lone", "ünï"]
    assert token_digests(tokens) == [token_digest(t) for t in tokens]


def test_the_columns_search_finds_what_the_search_text_holds() -> None:
    """The field-by-field search over columns agrees with ``needle in search_text``."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pytest_logscale.domain.dataset import containing, search_text

    users = {u.id: u for u in (OWNER, ADMIN, MEMBER, STRANGER)}
    odd = replace(
        MEMBER, id="odd", username="STRASSE\n\u00df", display_name="\u0391\u03a3", email=""
    )
    users[odd.id] = odd
    sessions = [*SESSIONS, _session("odd", odd, city="\u0130stanbul", country="", ip="::1")]
    texts = [search_text(s, users[s.user_id]) for s in sessions]
    pieces = sorted({t[i:j] for t in texts for i in range(len(t)) for j in (i + 1, i + 4, i + 9)})

    letters = "ase\n\u00df\u0391\u03c3.0:"

    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from(pieces) | st.text(alphabet=letters, min_size=1, max_size=4))
    def agree(needle: str) -> None:
        expected = [needle in text for text in texts]
        # one of each: every field searched per session; many alike: per distinct value
        assert containing(sessions, users, needle) == expected
        assert containing(sessions * 8, users, needle) == expected * 8

    agree()
