"""Realistic organizations, users and sessions from one seed, with Faker.

Faker is slow per value (tens to hundreds of microseconds) and its "now"-relative
dates change from day to day, so it only fills small pools of names, places,
user agents and phone numbers; a seeded :class:`random.Random` draws every record
from those pools and makes all ids, tokens, addresses and times against the
seed's own start instant. The same seed and sizes give the same data, tokens
included, on any machine and any day (for one Faker release: the tests pin a
fingerprint of the default data).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import random
import re
import struct
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from faker import Faker
from faker.providers.date_time import Provider as DateTimeProvider

from ..domain.bulk import age, bulk
from ..domain.clock import to_millis
from ..domain.dataset import Dataset
from ..domain.ids import random_id, random_ids
from ..domain.records import Ending, Organization, Role, Session, SessionSettings, User
from ..domain.status import SessionStatus
from .drafts import SessionDraft
from .options import SeedOptions

__all__ = ["DEFAULT_SETTINGS", "Progress", "seed_dataset"]

#: Told ``(sessions seeded so far, sessions to seed)`` every few thousand sessions and at the end.
Progress = Callable[[int, int], None]

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

#: The values of LogScale's own ``updateSessionSettings`` example: 10 hours and 100 days.
DEFAULT_SETTINGS = SessionSettings(
    max_inactivity_period=36_000_000, force_reauthentication_after=8_640_000_000
)

_EPOCH = to_millis(datetime(2025, 1, 1, tzinfo=timezone.utc))
_COUNTRY_NAMES = {c.alpha_2_code: c.name for c in DateTimeProvider.countries}


@dataclass(frozen=True, slots=True)
class _Place:
    city: str | None
    country: str | None
    country_code: str | None


class _Pools:
    """Small pools of Faker values that every record is drawn from (see :func:`_pools`)."""

    def __init__(self, seed: int, organizations: int) -> None:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first_names = sorted({fake.first_name() for _ in range(80)})
        self.last_names = sorted({fake.last_name() for _ in range(80)})
        self.user_agents = sorted({fake.user_agent() for _ in range(48)})
        self.phones = [fake.phone_number() for _ in range(32)]
        self.states = [fake.state_abbr() for _ in range(16)]
        self.companies = [fake.company() for _ in range(organizations)]
        self.slogans = [fake.catch_phrase() for _ in range(organizations)]
        places = []
        for _ in range(120):
            _lat, _lon, city, code, _zone = fake.location_on_land()
            if code in _COUNTRY_NAMES:
                places.append(_Place(city, _COUNTRY_NAMES[code], code))
        self.places = places
        #: A company from Faker's en_US locale has many of its users in the US.
        self.home_places = [p for p in places if p.country_code == "US"] or places


#: First octets whose whole /8 is globally routable unicast (no private, shared, loopback,
#: link-local, documentation, benchmarking or multicast block starts in them).
_PUBLIC_OCTETS = tuple(n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192, 198, 203))


@functools.lru_cache(maxsize=8)
def _pools(seed: int, organizations: int) -> _Pools:
    """The pools for a seed, made once: Faker costs far more than the rest of a small seed."""
    return _Pools(seed, organizations)


def _public_address(rng: random.Random) -> str:
    if rng.random() >= 0.15:
        rest = rng.getrandbits(24)
        first = _PUBLIC_OCTETS_TEXT[int(rng.random() * len(_PUBLIC_OCTETS_TEXT))]
        return f"{first}.{_OCTETS[rest >> 16]}.{_OCTETS[(rest >> 8) & 255]}.{_OCTETS[rest & 255]}"
    while True:
        # in 2000::/3, so never multicast (ff00::/8): ipaddress decides what is global
        number = (0x2000 << 112) | rng.getrandbits(125)
        address = ipaddress.IPv6Address(number)
        if address.is_global:
            return _ipv6_text(number) or str(address)


#: Each byte value's decimal text, and :data:`_PUBLIC_OCTETS`' (IPv4 text without formatting).
_OCTETS = tuple(str(n) for n in range(256))
_PUBLIC_OCTETS_TEXT = tuple(str(n) for n in _PUBLIC_OCTETS)

_GROUPS = struct.Struct(">8H").unpack
_IPV6_FORMAT = ":".join(["%x"] * 8)


def _ipv6_text(number: int) -> str | None:
    """An IPv6 address as ``ipaddress`` writes it when none of its groups is zero, else None.

    Without a zero group there is nothing to compress: the groups in hexadecimal
    without leading zeros, joined by colons (ten times cheaper than ``str``).
    """
    groups = _GROUPS(number.to_bytes(16, "big"))
    return None if 0 in groups else _IPV6_FORMAT % groups


def _domain(company: str, index: int, taken: set[str]) -> str:
    if index == 0:
        domain = "company.com"
    else:
        stem = re.sub(r"[^a-z]", "", company.split()[0].lower()) or "org"
        domain = f"{stem}.com"
        serial = 2
        while domain in taken:
            domain = f"{stem}{serial}.com"
            serial += 1
    taken.add(domain)
    return domain


def _below(rng: random.Random) -> Callable[[int], int]:
    """``rng.randrange(n)`` for ``n > 0``, as ``rng.choice`` and ``rng.randint`` draw too.

    The draws of :class:`random.Random`'s own ``_randbelow``: as many random bits as
    ``n`` has, drawn again while out of range (tests hold them equal), without the
    checks and calls around it. Seeding draws about eight per user.
    """
    getrandbits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    return below


class _Usernames:
    """An organization's usernames: ``first.last@domain``, else with the first free serial.

    Each name remembers the serial after its last one: the usernames before it are all
    taken and stay taken, so the search goes on from there (the same usernames as trying
    every serial from 2, without a search growing with the name's users).
    """

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.taken: set[str] = set()
        self.serials: dict[tuple[str, str], int] = {}

    def username(self, first: str, last: str) -> str:
        """A new username for this name, lowercased."""
        taken, domain, serial = self.taken, self.domain, self.serials.get((first, last))
        if serial is None:
            username, serial = f"{first}.{last}@{domain}".lower(), 2
        else:
            username, serial = f"{first}.{last}{serial}@{domain}".lower(), serial + 1
        while username in taken:
            username, serial = f"{first}.{last}{serial}@{domain}".lower(), serial + 1
        taken.add(username)
        self.serials[first, last] = serial
        return username


class _Seeder:
    def __init__(self, options: SeedOptions, progress: Progress | None) -> None:
        self.options = options
        self.progress = progress
        self.rng = random.Random(options.seed)
        # tokens come from their own stream: another instance changes them and nothing else
        self.instance = options.instance or 0
        self.token_rng = random.Random(f"pytest-logscale tokens {options.seed} {self.instance}")
        self.pools = _pools(options.seed, options.organizations)
        # drawn even when anchored, so an anchor shifts the data and changes nothing else
        fixed = _EPOCH + self.rng.randrange(365 * 24 * 60) * MINUTE
        self.start = fixed if options.anchor is None else options.anchor
        self.organizations: list[Organization] = []
        self.users: list[User] = []
        self.sessions: list[Session] = []
        #: The instant ``k`` whole minutes before the start at ``[k]``, made when first used:
        #: sessions share them (one int object per minute, memory at scale); a list, since
        #: at a million sessions a dict's lookups cost several times as much.
        self.instants: list[int | None] = [None] * (_LONGEST + 1)
        self.below = _below(self.rng)

    def run(self) -> Dataset:
        domains: set[str] = set()
        for index in range(self.options.organizations):
            org = self._organization(index, domains)
            self.organizations.append(org)
            taken = _Usernames(org.domain)
            gaps = self._gaps()
            members = [
                self._user(org, position, taken, gaps) for position in range(self.options.users)
            ]
            self.users += members
            self._sessions(org, members)
        if self.progress is not None and len(self.sessions) % max(1000, len(self.sessions) // 50):
            self.progress(len(self.sessions), len(self.sessions))
        return Dataset(
            self.organizations,
            self.users,
            self.sessions,
            start_ms=self.start,
            seed=self.options.seed,
            instance=self.instance,
        )

    def _organization(self, index: int, domains: set[str]) -> Organization:
        rng = self.rng
        company = self.pools.companies[index]
        return Organization(
            id=random_id(rng, 24),
            name=company,
            domain=_domain(company, index, domains),
            settings=DEFAULT_SETTINGS,
            cid=f"{rng.getrandbits(128):032x}",
            description=self.pools.slogans[index],
            created_at=self.start - rng.randrange(400, 1500) * DAY,
        )

    def _gaps(self) -> dict[str, set[int]]:
        """Which users of an organization lack a name, an e-mail, a company or a country.

        Real directories have gaps: users from an identity provider that sends no
        name, say. Each gap's share of the users past the first three (the owner,
        first admin and first member stay complete) is fixed, and at least one.
        The same way picks the admins past the first ("admin"), so every
        organization of four users or more has a second admin.
        """
        candidates = range(3, self.options.users)
        if not candidates:
            return {gap: set() for gap in _GAPS}
        return {
            gap: set(self.rng.sample(candidates, max(1, round(share * len(candidates)))))
            for gap, share in _GAPS.items()
        }

    def _user(
        self, org: Organization, position: int, taken: _Usernames, gaps: dict[str, set[int]]
    ) -> User:
        rng, pools = self.rng, self.pools
        if position == 0:
            role = Role.OWNER
        elif position == 1 or position in gaps["admin"]:
            role = Role.ADMIN
        else:
            role = Role.MEMBER
        below = self.below
        first_names, last_names = pools.first_names, pools.last_names
        first, last = first_names[below(len(first_names))], last_names[below(len(last_names))]
        username = taken.username(first, last)
        homes = pools.home_places if rng.random() < 0.4 else pools.places
        home = homes[below(len(homes))]
        created = (org.created_at or self.start) + below(300) * DAY + below(DAY // SECOND) * SECOND
        named = position not in gaps["name"]
        full_name = f"{first} {last}" if named else None
        country_code = None if position in gaps["country"] else home.country_code
        return User(
            id=random_id(rng, 24),
            organization_id=org.id,
            username=username,
            # LogScale's schema: "fullName if present, otherwise username"
            display_name=full_name or username,
            role=role,
            created_at=created,
            email=None if position in gaps["email"] else username,
            first_name=first if named else None,
            last_name=last if named else None,
            full_name=full_name,
            phone_number=pools.phones[below(len(pools.phones))] if rng.random() < 0.6 else None,
            picture=(
                f"https://www.gravatar.com/avatar/{hashlib.md5(username.encode()).hexdigest()}"
                if rng.random() < 0.5
                else None
            ),
            country_code=country_code,
            state_code=pools.states[below(len(pools.states))] if country_code == "US" else None,
            company=None if position in gaps["company"] else org.name,
        )

    def _sessions(self, org: Organization, members: list[User]) -> None:
        """Seed an organization's sessions: the hot loop of seeding at scale.

        Every draw is made in a fixed order, so one seed gives one dataset; the
        loop keeps everything it reads in locals and indexes members by position,
        since at a million sessions each attribute or dict lookup per session counts.
        """
        rng, pools = self.rng, self.pools
        random = rng.random  # int(random() * n) draws below n: far cheaper than randrange
        below, everywhere = self.below, pools.places
        homes = [[_public_address(rng) for _ in range(1 + below(3))] for _ in members]
        places = [everywhere[below(len(everywhere))] for _ in members]
        count = self.options.sessions
        ids = random_ids(rng, count, 32)
        tokens = random_ids(self.token_rng, count, 40)
        total, step = self.options.total_sessions, max(1000, self.options.total_sessions // 50)
        agents, users = pools.user_agents, len(members)
        n_agents, n_everywhere = len(agents), len(everywhere)
        instants, start = self.instants, self.start
        times = _Times(random)
        by_kind = times.by_kind
        member_ids = [member.id for member in members]
        org_id, progress, seeded = org.id, self.progress, self.sessions
        append: Callable[[object], None] = seeded.append  # type: ignore[assignment]
        draft, done = object.__new__, len(seeded)
        for index in range(count):
            if index < 3:
                # The owner, the first admin and the first member each get a current session.
                who = index
                created, last = times.current()
                ended = None
            else:
                who = int(random() * users)
                draw, ended = by_kind[bisect(_KIND_BOUNDS, random())]
                created, last = draw()
            if random() < 0.6:
                home = homes[who]
                ip = home[int(random() * len(home))]
            else:
                ip = _public_address(rng)
            place = places[who] if random() < 0.7 else everywhere[int(random() * n_everywhere)]
            roll = random()
            # Session(...) with plain stores (see .drafts): the same session at a third the cost
            session = draft(SessionDraft)
            session.id = ids[index]
            session.user_id = member_ids[who]
            session.organization_id = org_id
            session.token = tokens[index]
            session.client_info = agents[int(random() * n_agents)]
            session.ip = ip
            session.city = None if roll < 0.12 else place.city
            session.country = None if roll < 0.04 else place.country
            instant = instants[created]
            if instant is None:
                instant = instants[created] = start - created * MINUTE
            session.created_at = instant
            instant = instants[last]
            if instant is None:
                instant = instants[last] = start - last * MINUTE
            session.last_activity_at = instant
            session.ended = ended
            session.__class__ = Session  # type: ignore[assignment]
            append(session)
            if progress is not None and (done + index + 1) % step == 0:
                progress(done + index + 1, total)


#: The default limits in minutes (both whole): seeded times are whole minutes before the start.
_INACTIVITY = DEFAULT_SETTINGS.max_inactivity_period // MINUTE
_REAUTHENTICATION = DEFAULT_SETTINGS.force_reauthentication_after // MINUTE
_NINETY_DAYS = 90 * 24 * 60
#: More minutes before the start than any seeded time is (the longest: reauthentication due).
_LONGEST = _REAUTHENTICATION + _NINETY_DAYS


class _Times:
    """When a session of each kind was opened and last used, in whole minutes before the start."""

    def __init__(self, random: Callable[[], float]) -> None:
        self.random = random
        #: Each kind's draw of times and how a session of it ended, by the kind's position
        #: in :data:`_KINDS` as :func:`_kind_at` gives it (the last: past them, active).
        of = {
            SessionStatus.ACTIVE: (self.active, None),
            SessionStatus.LOGGED_OUT: (self.ended, Ending.LOGGED_OUT),
            SessionStatus.REVOKED: (self.ended, Ending.REVOKED),
            SessionStatus.INACTIVE: (self.inactive, None),
            SessionStatus.REAUTHENTICATION_DUE: (self.reauthentication_due, None),
        }
        self.by_kind: list[tuple[Callable[[], tuple[int, int]], Ending | None]] = [
            of[kind] for kind, _share in _KINDS
        ] + [of[SessionStatus.ACTIVE]]

    def current(self) -> tuple[int, int]:
        """In use right now: the owner's, first admin's and first member's sessions tie."""
        return 1 + int(self.random() * (8 * 60 - 1)), 0

    def reauthentication_due(self) -> tuple[int, int]:
        """Opened longer ago than the reauthentication limit, used lately."""
        random = self.random
        created = _REAUTHENTICATION + (1 + int(random() * (90 * 24 - 1))) * 60
        return created, int(random() * (9 * 60))

    def inactive(self) -> tuple[int, int]:
        """Last used longer ago than the inactivity limit."""
        random = self.random
        created = 11 * 60 + int(random() * (_NINETY_DAYS - 11 * 60))
        stale = _INACTIVITY + 1
        return created, created - int(random() * (created - stale + 1))

    def active(self) -> tuple[int, int]:
        """Used within the inactivity limit."""
        random = self.random
        created = 10 + int(random() * (_NINETY_DAYS - 10))
        floor = created if created < _INACTIVITY else _INACTIVITY  # min(), without its call
        return created, floor - int(random() * (floor + 1))

    def ended(self) -> tuple[int, int]:
        """Logged out or revoked: used any time after login."""
        random = self.random
        created = 10 + int(random() * (_NINETY_DAYS - 10))
        return created, created - int(random() * (created + 1))


def _kind_at(roll: float) -> int:
    """The position in :data:`_KINDS` of the kind a roll in [0, 1) picks (past them: active)."""
    for position, (_kind, share) in enumerate(_KINDS):
        if roll < share:
            return position
        roll -= share
    return len(_KINDS)


def _kind_bounds() -> list[float]:
    """The least roll that :func:`_kind_at` puts at each position past the first, or 1.0.

    Subtracting a float rounds monotonically, so :func:`_kind_at` never decreases as
    the roll grows: ``bisect(bounds, roll)`` is ``_kind_at(roll)`` for every roll in
    [0, 1), at C speed. Each bound is found by halving over the doubles in [0, 1]
    (whose bit patterns, read as integers, are in the doubles' order).
    """
    bounds = []
    for position in range(1, len(_KINDS) + 1):
        low, high = 0, _bits_of(1.0)  # _kind_at(double(high)) >= position stands for 1.0
        while low < high:
            middle = (low + high) // 2
            if _kind_at(_double_of(middle)) >= position:
                high = middle
            else:
                low = middle + 1
        bounds.append(_double_of(low))
    return bounds


def _bits_of(value: float) -> int:
    return int.from_bytes(struct.pack(">d", value), "big")


def _double_of(bits: int) -> float:
    return float(struct.unpack(">d", bits.to_bytes(8, "big"))[0])


#: Shares of users (past the first three of an organization) without a name, an e-mail,
#: a company or a country, and who are admins (see :meth:`_Seeder._gaps`).
_GAPS = {"name": 0.15, "email": 0.15, "company": 0.25, "country": 0.10, "admin": 0.15}

#: Shares of seeded sessions by the status they are seeded to have at the start instant.
_KINDS = (
    (SessionStatus.ACTIVE, 0.62),
    (SessionStatus.LOGGED_OUT, 0.12),
    (SessionStatus.REVOKED, 0.08),
    (SessionStatus.INACTIVE, 0.12),
    (SessionStatus.REAUTHENTICATION_DUE, 0.06),
)


#: Where each kind's rolls begin (see :func:`_kind_bounds`).
_KIND_BOUNDS = _kind_bounds()


def seed_dataset(options: SeedOptions | None = None, progress: Progress | None = None) -> Dataset:
    """Seeded data for the options (the defaults when None); ``progress`` hears how far it got."""
    with bulk():
        dataset = _Seeder(options or SeedOptions(), progress).run()
        age()  # the collector's young passes would walk every record only to find it alive
    return dataset
