"""Seeding: one seed fixes all data, sizes are honoured, and the data looks like the real thing."""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

import faker
import pytest
from faker.providers.date_time import Provider as DateTimeProvider
from session_oracle import is_active

from pytest_logscale import Role, SeedOptions, seed_dataset
from pytest_logscale import fake as fake_module
from pytest_logscale.domain.dataset import Dataset
from pytest_logscale.fake import cached_dataset

#: sha256 of canonical_dump(seed_dataset()) for seed 1 and the default sizes. A change here
#: means every user's seeded data changed: do it on purpose, and say so in the changelog.
DEFAULT_FINGERPRINT = "847cb5c79c3a22b351e7a753a3889fff6a66d41d39ebb6c7145e1e0441d6b60e"

COUNTRIES = {country.name for country in DateTimeProvider.countries}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_dump(dataset: Dataset) -> str:
    """Every seeded record, token included, as sorted-key JSON."""
    return json.dumps(
        {
            "start_ms": dataset.start_ms,
            "seed": dataset.seed,
            "organizations": [_plain(asdict(o)) for o in dataset.organizations.values()],
            "users": [_plain(asdict(u)) for u in dataset.users.values()],
            "sessions": [_plain(asdict(s)) for s in dataset.sessions.values()],
            "api_tokens": dataset.api_tokens,
        },
        sort_keys=True,
        ensure_ascii=True,
    )


def fingerprint(dataset: Dataset) -> str:
    return hashlib.sha256(canonical_dump(dataset).encode()).hexdigest()


@pytest.fixture(scope="module")
def default() -> Dataset:
    return cached_dataset(SeedOptions())


# -- determinism --------------------------------------------------------------------------------


def test_the_default_data_has_its_pinned_fingerprint(default: Dataset) -> None:
    assert fingerprint(default) == DEFAULT_FINGERPRINT, (
        f"the seeded data changed (Faker {faker.VERSION}): if on purpose, update the fingerprint"
    )


def test_the_same_seed_and_sizes_give_identical_data_tokens_included() -> None:
    options = SeedOptions(seed=42, organizations=2, users=5, sessions=20)
    first, second = seed_dataset(options), seed_dataset(options)
    assert first is not second
    assert canonical_dump(first) == canonical_dump(second)
    assert [s.token for s in first.sessions.values()] == [s.token for s in second.sessions.values()]


def test_another_process_with_another_hash_seed_and_time_zone_gives_the_same_data(
    default: Dataset,
) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from test_seeding import fingerprint; from pytest_logscale import seed_dataset; "
        "print(fingerprint(seed_dataset()))"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Pacific/Kiritimati"}
    result = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == fingerprint(default)


@pytest.mark.parametrize(
    "options",
    [SeedOptions(seed=2), SeedOptions(seed=0), SeedOptions(sessions=61), SeedOptions(users=13)],
)
def test_other_seeds_or_sizes_give_other_data(default: Dataset, options: SeedOptions) -> None:
    assert fingerprint(seed_dataset(options)) != fingerprint(default)


def test_different_seeds_share_no_ids_or_tokens(default: Dataset) -> None:
    other = seed_dataset(SeedOptions(seed=2))
    assert not set(default.sessions) & set(other.sessions)
    assert not {s.token for s in default.sessions.values()} & {
        s.token for s in other.sessions.values()
    }
    assert default.start_ms != other.start_ms


# -- sizes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("organizations", "users", "sessions"), [(1, 3, 3), (3, 5, 7), (2, 40, 9)])
def test_sizes_are_honoured_per_organization(organizations: int, users: int, sessions: int) -> None:
    options = SeedOptions(seed=9, organizations=organizations, users=users, sessions=sessions)
    data = seed_dataset(options)
    assert len(data.organizations) == organizations
    assert len(data.users) == organizations * users
    assert len(data.sessions) == organizations * sessions
    for org_id in data.organizations:
        assert len(data.org_users[org_id]) == users
        assert len(data.org_sessions[org_id]) == sessions
        roles = Counter(u.role for u in data.org_users[org_id])
        assert roles[Role.OWNER] == 1
        assert roles[Role.ADMIN] >= 1
        assert roles[Role.MEMBER] >= 1


def test_ids_and_tokens_are_unique_and_unguessable(default: Dataset) -> None:
    sessions = list(default.sessions.values())
    tokens = [s.token for s in sessions]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 32 and t.isalnum() for t in tokens)
    every_id = [*default.organizations, *default.users, *default.sessions]
    assert len(set(every_id)) == len(every_id)


# -- realism ---------------------------------------------------------------------------------------


def test_the_first_organizations_usernames_are_emails_at_company_com() -> None:
    data = cached_dataset(SeedOptions(organizations=3))
    first, *others = data.organizations.values()
    assert first.domain == "company.com"
    for user in data.org_users[first.id]:
        local, _, domain = user.username.partition("@")
        assert domain == "company.com", user.username
        assert local and " " not in local
        assert user.email in (user.username, None)
    domains = {first.domain}
    for org in others:
        assert org.domain != "company.com" and org.domain.endswith(".com")
        assert all(u.username.endswith("@" + org.domain) for u in data.org_users[org.id])
        domains.add(org.domain)
    assert len(domains) == 3


def test_users_have_names_and_organizations_have_the_documented_settings(
    default: Dataset,
) -> None:
    for user in default.users.values():
        if user.full_name is None:
            continue
        assert user.display_name.count(" ") >= 1
        assert user.display_name.replace(" ", ".").lower() in user.username
    for org in default.organizations.values():
        assert org.settings.max_inactivity_period == 36_000_000
        assert org.settings.force_reauthentication_after == 8_640_000_000
        assert org.name


def test_client_info_is_a_browser_user_agent(default: Dataset) -> None:
    agents = {s.client_info for s in default.sessions.values()}
    assert len(agents) >= 10
    for agent in agents:
        assert agent.startswith(("Mozilla/5.0 (", "Opera/")), agent


def test_addresses_are_public_ipv4_with_some_ipv6(default: Dataset) -> None:
    addresses = [ipaddress.ip_address(s.ip) for s in default.sessions.values()]
    assert all(a.is_global and not a.is_multicast for a in addresses)
    versions = Counter(a.version for a in addresses)
    assert versions[6] >= 1
    assert versions[4] > versions[6]


def test_places_are_real_countries_and_cities_and_sometimes_missing(default: Dataset) -> None:
    sessions = list(default.sessions.values())
    assert {s.country for s in sessions if s.country} <= COUNTRIES
    assert all(s.city.strip() for s in sessions if s.city)
    assert any(s.city is None for s in sessions)
    assert any(s.country is None for s in sessions)
    assert any(s.country is not None and s.city is None for s in sessions)
    assert len({s.country for s in sessions}) >= 5


def test_sessions_mix_active_logged_out_revoked_and_expired(default: Dataset) -> None:
    org = next(iter(default.organizations.values()))
    settings, now = org.settings, default.start_ms
    kinds: Counter[str] = Counter()
    for s in default.sessions.values():
        if s.ended is not None:
            kinds[s.ended.value] += 1
        elif not is_active(s, now, settings):
            idle = now - s.last_activity_at > settings.max_inactivity_period  # type: ignore[operator]
            kinds["idle" if idle else "too old"] += 1
        else:
            kinds["active"] += 1
    assert set(kinds) == {"active", "logged_out", "revoked", "idle", "too old"}, kinds
    assert kinds["active"] > len(default.sessions) / 2


def test_owner_admin_and_member_each_have_a_current_active_session() -> None:
    data = cached_dataset(SeedOptions(organizations=2))
    for org in data.organizations.values():
        for role in Role:
            user = next(u for u in data.org_users[org.id] if u.role is role)
            assert any(
                is_active(s, data.start_ms, org.settings) for s in data.user_sessions[user.id]
            ), role


def test_times_are_whole_seconds_in_the_past_with_ties(default: Dataset) -> None:
    sessions = list(default.sessions.values())
    times = [t for s in sessions for t in (s.created_at, s.last_activity_at) if t is not None]
    assert all(t % 1000 == 0 for t in times)
    assert all(t <= default.start_ms for t in times)
    assert all(s.created_at <= s.last_activity_at for s in sessions)  # type: ignore[operator]
    assert max(Counter(s.last_activity_at for s in sessions).values()) >= 2


# -- bad options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"seed": -1}, ValueError, "seed must be a whole number from 0 to"),
        ({"seed": 2**63}, ValueError, "seed must be a whole number from 0 to"),
        ({"organizations": 0}, ValueError, "organizations must be a whole number from 1 to 1000"),
        ({"users": 2}, ValueError, "users must be a whole number from 3 to"),
        ({"sessions": 2}, ValueError, "sessions must be a whole number from 3 to"),
        ({"sessions": 10**9}, ValueError, "sessions must be a whole number from 3 to 1000000"),
        ({"seed": "1"}, ValueError, "seed must be a whole number from 0 to .*, not '1'"),
        ({"users": 4.0}, ValueError, "users must be a whole number"),
        ({"organizations": True}, ValueError, "organizations must be a whole number"),
        ({"sessions": None}, ValueError, "sessions must be a whole number"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    options: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says.replace("(", r"\(")):
        SeedOptions(**options)


# -- the clock anchor ------------------------------------------------------------------------------

_TIMES = ("created_at", "last_activity_at")


def _shifted(dataset: Dataset, by: int) -> str:
    """canonical_dump with every instant moved by ``by`` milliseconds."""

    def move(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
        fields = _plain(asdict(record))
        for name in names:
            if fields.get(name) is not None:
                fields[name] += by
        return fields

    return json.dumps(
        {
            "start_ms": dataset.start_ms + by,
            "organizations": [move(o, ("created_at",)) for o in dataset.organizations.values()],
            "users": [move(u, ("created_at",)) for u in dataset.users.values()],
            "sessions": [move(s, _TIMES) for s in dataset.sessions.values()],
        },
        sort_keys=True,
    )


def test_an_anchor_seeds_the_same_data_shifted_to_it(default: Dataset) -> None:
    anchor = 1_796_000_000_000  # 2026-11-30T00:53:20Z
    anchored = seed_dataset(SeedOptions(clock=anchor))
    assert anchored.start_ms == anchor
    assert _shifted(default, anchor - default.start_ms) == _shifted(anchored, 0)
    again = seed_dataset(SeedOptions(clock=anchor))
    assert canonical_dump(again) == canonical_dump(anchored)


@pytest.mark.parametrize(
    ("given", "millis"),
    [
        (1_796_000_000_000, 1_796_000_000_000),
        ("1796000000000", 1_796_000_000_000),
        ("2026-11-30T00:53:20Z", 1_796_000_000_000),
        ("2026-11-30T01:53:20.000+01:00", 1_796_000_000_000),
        (datetime(2026, 11, 30, 0, 53, 20, tzinfo=timezone.utc), 1_796_000_000_000),
        # any number of fraction digits, on every Python (3.10's fromisoformat takes 3 or 6)
        ("2026-11-30T00:53:20.5Z", 1_796_000_000_500),
        ("2026-11-30T00:53:20.25Z", 1_796_000_000_250),
        ("2026-11-30T00:53:20.1250Z", 1_796_000_000_125),
        ("2026-11-30T00:53:20.125000000Z", 1_796_000_000_125),
    ],
)
def test_an_anchor_is_epoch_milliseconds_or_an_iso_instant(given: Any, millis: int) -> None:
    assert SeedOptions(clock=given).clock == millis
    assert SeedOptions(clock=given) == SeedOptions(clock=millis)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("2026-11-30T01:33:20", "has no time zone"),
        ("yesterday", "epoch milliseconds or an ISO-8601 instant"),
        (True, "epoch milliseconds or an ISO-8601 instant"),
        (1.5, "epoch milliseconds or an ISO-8601 instant"),
        ("2026-11-30T01:33:20.0005Z", "finer than a millisecond"),
        # digits past the microsecond, which Python 3.11's fromisoformat drops unread
        ("2026-11-30T01:33:20.0000001Z", "finer than a millisecond"),
        (0, "from 1990-01-01T00:00:00.000Z to 9000-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59Z", "from 1990-01-01T00:00:00.000Z to 9000-01-01T00:00:00.000Z"),
        (
            "\uff11\uff17\uff14\uff14\uff11\uff14\uff13\uff10\uff16\uff10\uff10\uff10\uff10",
            "epoch milliseconds or an ISO-8601 instant",
        ),
        ("\u00b2", "epoch milliseconds or an ISO-8601 instant"),
    ],
)
def test_a_bad_anchor_is_refused_saying_what_an_anchor_is(given: Any, says: str) -> None:
    with pytest.raises(ValueError, match=f"clock .*{re.escape(says)}"):
        SeedOptions(clock=given)


# -- bounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            {"organizations": 1000, "users": 100_000, "sessions": 1_000_000},
            "organizations x sessions = 1000000000 is more than max_sessions 1000000",
        ),
        ({"organizations": 20, "users": 10_000}, "organizations x users = 200000 is more than"),
    ],
)
def test_totals_beyond_the_bounds_are_refused_saying_how_to_raise_them(
    options: dict[str, int], says: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(says)) as caught:
        SeedOptions(**options)
    assert "max_" in str(caught.value) and "raise" in str(caught.value)


def test_raised_bounds_allow_more_and_are_not_part_of_the_data() -> None:
    options = SeedOptions(organizations=3, sessions=400, max_sessions=1200)
    assert options == SeedOptions(organizations=3, sessions=400, max_sessions=5000)
    with pytest.raises(ValueError, match="max_sessions 1000"):
        SeedOptions(organizations=3, sessions=400, max_sessions=1000)


def test_seeding_reports_progress_in_steps_up_to_the_total() -> None:
    seen: list[tuple[int, int]] = []
    seed_dataset(
        SeedOptions(organizations=2, sessions=3000), progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1] == (6000, 6000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) >= 3


# -- nullable fields -------------------------------------------------------------------------------

#: Every field the served schema declares nullable on Session and User, by record attribute.
NULLABLE_SESSION = ("city", "country")
NULLABLE_USER = (
    "email",
    "first_name",
    "last_name",
    "full_name",
    "phone_number",
    "picture",
    "country_code",
    "state_code",
    "company",
)


def test_each_nullable_field_is_null_somewhere_and_set_somewhere(default: Dataset) -> None:
    for records, names in (
        (list(default.sessions.values()), NULLABLE_SESSION),
        (list(default.users.values()), NULLABLE_USER),
    ):
        for name in names:
            values = [getattr(r, name) for r in records]
            assert any(v is None for v in values), f"{name} is never null"
            assert any(v is not None for v in values), f"{name} is always null"


def test_a_user_without_a_full_name_is_displayed_by_username(default: Dataset) -> None:
    nameless = [u for u in default.users.values() if u.full_name is None]
    assert nameless
    for user in nameless:
        assert user.display_name == user.username
    for user in default.users.values():
        if user.full_name is not None:
            assert user.display_name == user.full_name


def test_sessions_always_have_their_times(default: Dataset) -> None:
    assert all(
        s.created_at is not None and s.last_activity_at is not None
        for s in default.sessions.values()
    )


def test_seeding_pauses_the_garbage_collector_and_restores_it() -> None:
    import gc

    during: list[bool] = []
    options = SeedOptions(seed=31, sessions=2000)
    assert gc.isenabled()
    seed_dataset(options, progress=lambda _done, _total: during.append(gc.isenabled()))
    assert during and not any(during)
    assert gc.isenabled()
    gc.disable()
    try:
        seed_dataset(SeedOptions(seed=32, sessions=2000))
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_seeding_leaves_its_records_old_and_everything_collectable() -> None:
    """Seeding ends by moving what the collector tracks to its oldest generation (no young
    pass walks a million records only to find them alive): nothing is frozen, a cycle
    stays collectable, and a process's own frozen objects stay frozen."""
    import gc
    import weakref

    from pytest_logscale.domain.bulk import age

    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # type: ignore[attr-defined]
    gone = weakref.ref(cycle)
    del cycle
    dataset = seed_dataset(SeedOptions(seed=33, sessions=2000))
    assert gc.get_freeze_count() == 0
    session = next(iter(dataset.sessions.values()))
    assert any(o is session for o in gc.get_objects(generation=2))
    gc.collect()
    assert gone() is None
    kept = [Node()]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        age()
        assert gc.get_freeze_count() == frozen  # left as the process made it
    finally:
        gc.unfreeze()
    del kept


def test_seeded_ipv6_text_is_what_ipaddress_writes() -> None:
    import ipaddress

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pytest_logscale.seeding.generate import _ipv6_text

    group = st.one_of(st.just(0), st.integers(1, 0xFFFF), st.integers(0, 0xF))

    @settings(max_examples=500, deadline=None)
    @given(st.lists(group, min_size=8, max_size=8))
    def agree(groups: list[int]) -> None:
        number = int.from_bytes(b"".join(g.to_bytes(2, "big") for g in groups), "big")
        text = _ipv6_text(number)
        assert text is None or text == str(ipaddress.IPv6Address(number))
        assert (text is None) == (0 in groups)

    agree()


def test_a_seeded_session_is_the_session_its_constructor_makes(default: Dataset) -> None:
    """Seeding fills a SessionDraft and makes it a Session (see seeding/drafts.py): the same
    object ``Session(...)`` makes, which holds while Session's ``__init__`` only stores."""
    from dataclasses import astuple, fields

    from pytest_logscale.domain.records import Session
    from pytest_logscale.seeding.drafts import SessionDraft

    assert not hasattr(Session, "__post_init__")
    assert SessionDraft.__slots__ == tuple(f.name for f in fields(Session))
    for seeded in default.sessions.values():
        made = Session(*astuple(seeded))
        assert type(seeded) is Session
        assert seeded == made and hash(seeded) == hash(made) and repr(seeded) == repr(made)
        with pytest.raises(AttributeError):
            seeded.ip = "192.0.2.1"  # type: ignore[misc]


def test_the_kind_bounds_pick_what_the_kind_rule_picks() -> None:
    """Seeding finds a session's kind by bisecting bounds derived from ``_kind_at``: the
    same position for every roll (checked at each bound, beside it and at random)."""
    import math
    import random
    from bisect import bisect

    from pytest_logscale.seeding.generate import _KIND_BOUNDS, _kind_at

    rolls = [0.0, math.nextafter(1.0, 0.0)]
    for bound in _KIND_BOUNDS:
        rolls += [math.nextafter(bound, 0.0), bound, math.nextafter(bound, 1.0)]
    rng = random.Random(5)
    rolls += [rng.random() for _ in range(100_000)]
    for roll in rolls:
        if 0.0 <= roll < 1.0:
            assert bisect(_KIND_BOUNDS, roll) == _kind_at(roll), roll


def test_usernames_go_on_from_each_names_last_serial_as_a_full_search_would() -> None:
    import random

    from pytest_logscale.seeding.generate import _Usernames

    rng = random.Random(3)
    names = [("Ann", "Lee"), ("ann", "lee"), ("Bo", "Li"), ("Bo", "Li2"), ("Bo2", "Li")]
    usernames, taken = _Usernames("example.com"), set[str]()
    for _ in range(2000):
        first, last = rng.choice(names)
        username, serial = f"{first}.{last}@example.com".lower(), 2
        while username in taken:  # the search without memory, trying every serial from 2
            username, serial = f"{first}.{last}{serial}@example.com".lower(), serial + 1
        taken.add(username)
        assert usernames.username(first, last) == username


def test_below_draws_what_randrange_choice_and_randint_draw() -> None:
    import random

    from pytest_logscale.seeding.generate import _below

    sizes = [1, 2, 3, 4, 7, 8, 9, 48, 80, 120, 300, 86_400, 2**31, 2**31 + 1]
    ours, theirs = random.Random(11), random.Random(11)
    below = _below(ours)
    for n in sizes * 200:
        items = range(n)
        assert below(n) == theirs.randrange(n)
        assert items[below(n)] == theirs.choice(items)
        assert 1 + below(n) == theirs.randint(1, n)
    assert ours.random() == theirs.random()  # the same state after


# -- the per-process dataset cache -------------------------------------------------------------


def test_the_dataset_cache_is_bounded_by_the_sessions_it_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fake_module, "DATASET_CACHE_SESSIONS", 100)
    first = cached_dataset(SeedOptions(seed=701, sessions=60))
    assert cached_dataset(SeedOptions(seed=701, sessions=60)) is first  # kept for reuse
    cached_dataset(SeedOptions(seed=702, sessions=60))  # 120 > 100: the oldest goes
    again = cached_dataset(SeedOptions(seed=701, sessions=60))
    assert again is not first and again.sessions.keys() == first.sessions.keys()
    big = cached_dataset(SeedOptions(seed=703, sessions=150))  # over the bound alone: kept
    assert cached_dataset(SeedOptions(seed=703, sessions=150)) is big
