"""Seeding: one seed fixes all data, sizes are honoured, and the data looks like the real thing."""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from typing import Any

import faker
import pytest
from faker.providers.date_time import Provider as DateTimeProvider
from session_oracle import is_active

from pytest_logscale import Role, SeedOptions, seed_dataset
from pytest_logscale.domain.dataset import Dataset
from pytest_logscale.fake import cached_dataset

#: sha256 of canonical_dump(seed_dataset()) for seed 1 and the default sizes. A change here
#: means every user's seeded data changed: do it on purpose, and say so in the changelog.
DEFAULT_FINGERPRINT = "4ed803414c3fa0de7f04d23bec2a21134cdd6179b6574cc8df0e0ee9114f33c4"

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
        assert user.email == user.username
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
        ({"seed": -1}, ValueError, "seed must be between 0 and"),
        ({"seed": 2**63}, ValueError, "seed must be between"),
        ({"organizations": 0}, ValueError, "organizations must be between 1 and 1000, got 0"),
        ({"users": 2}, ValueError, "users must be between 3 and"),
        ({"sessions": 2}, ValueError, "sessions must be between 3 and"),
        ({"sessions": 10**9}, ValueError, "sessions must be between"),
        ({"seed": "1"}, TypeError, "seed must be a whole number, got '1'"),
        ({"users": 4.0}, TypeError, "users must be a whole number"),
        ({"organizations": True}, TypeError, "organizations must be a whole number"),
        ({"sessions": None}, TypeError, "sessions must be a whole number"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    options: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says.replace("(", r"\(")):
        SeedOptions(**options)
