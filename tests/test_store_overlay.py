"""Queries over a changed store: the changes laid over the seeded columns give the answers of a
store seeded with the records as they are now, and of the rules written out plainly.

The store keeps the seeded data's columns and lays changed and new sessions over them
(patched bytes, sessions merged in at places found by bisection or one sort). Here a seeded
random run of logins, activity, logouts, revocations, clock moves and new settings checks,
query after query, that nothing of that shows in an answer.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from session_oracle import ORDERS, SORT_KEYS, expected_order, is_active

from pytest_logscale import (
    Caller,
    Level,
    Order,
    RevocationType,
    Role,
    SeedOptions,
    SessionQuery,
    SortBy,
    Store,
)
from pytest_logscale.domain.clock import Clock
from pytest_logscale.domain.dataset import Dataset, search_text
from pytest_logscale.domain.store import Changes
from pytest_logscale.fake import cached_dataset

OPTIONS = SeedOptions(seed=11, organizations=2, users=30, sessions=1_200)
NEEDLES = (None, "", "a", " MOZILLA ", "10.9", "::", "norway", "zz-nothing", "bench")
IPS = ("10.9.0.1", "10.9.0.1", "198.51.100.7", "2001:db8::5", "::1", "0.0.0.0", "255.255.255.255")
CLIENTS = ("Mozilla/5.0 bench", "curl/8.5.0", "aaa", "ZZZ client", "mozilla/5.0 (X11)")
PLACES = (("Norway", "Bergen"), ("Japan", None), (None, None), ("norway", "bergen"))


def fresh_copy(store: Store) -> Store:
    """A store seeded with ``store``'s records as they are now, its settings and its clock."""
    seeded = store.dataset
    organizations = [replace(o, settings=store.settings(o.id)) for o in store.organizations()]
    dataset = Dataset(
        organizations,
        store.users(),
        store.sessions(),
        start_ms=seeded.start_ms,
        seed=seeded.seed,
        instance=seeded.instance,
    )
    return Store(dataset, Clock(store.clock.now_ms()))


def plain_answer(store: Store, caller: Caller, query: SessionQuery) -> tuple[int, list[str]]:
    """The answer the rules give, written out (session_oracle), over the store's records."""
    organization = caller.organization_id
    now, settings = store.clock.now_ms(), store.settings(organization)
    needle = (query.search_filter or "").strip().casefold()
    pool = [
        s
        for s in store.sessions(organization)
        if (not query.only_active or is_active(s, now, settings))
        and needle in search_text(s, store.user(s.user_id))
    ]
    usernames = {u.id: u.username for u in store.users()}
    ids = expected_order(pool, query.sort_by.value, query.order.value, usernames)
    return len(ids), ids[query.skip : query.skip + query.limit]


def random_query(rng: random.Random, size: int) -> SessionQuery:
    return SessionQuery(
        search_filter=rng.choice(NEEDLES),
        level=Level.ORGANIZATION,
        sort_by=SortBy(rng.choice(SORT_KEYS)),
        order=Order(rng.choice(ORDERS)),
        skip=rng.choice([0, 0, 1, rng.randrange(size + 5), max(0, size - 3)]),
        limit=rng.choice([0, 1, 7, 50, 10_000]),
        only_active=rng.random() < 0.5,
    )


def check(store: Store, caller: Caller, rng: random.Random, queries: int) -> None:
    fresh = fresh_copy(store)
    size = len(store.sessions(caller.organization_id))
    for _ in range(queries):
        query = random_query(rng, size)
        page = store.query_sessions(caller, query)
        got = (page.total, [s.id for s in page.sessions])
        again = fresh.query_sessions(caller, query)
        assert got == (again.total, [s.id for s in again.sessions]), query
        assert got == plain_answer(store, caller, query), query
        assert [s for s in page.sessions] == [store.session(s.id) for s in page.sessions]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answers_after_random_changes_are_a_fresh_stores_and_the_rules(seed: int) -> None:
    random_run(seed)


def test_answers_are_the_same_when_few_changes_are_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlays that fall behind the kept log of changes are laid out anew."""
    import pytest_logscale.domain.store as store_module

    monkeypatch.setattr(store_module, "_LOG_MOST", 5)
    random_run(4)


def random_run(seed: int) -> None:
    rng = random.Random(seed)
    store = Store(cached_dataset(OPTIONS))
    owner = next(u for u in store.users(role=Role.OWNER))
    caller = Caller(owner)
    organization = owner.organization_id
    members = store.users(organization)
    check(store, caller, rng, 6)
    for step in range(240):
        roll = rng.random()
        if roll < 0.3:
            country, city = rng.choice(PLACES)
            user = rng.choice(members if rng.random() < 0.8 else store.users())
            store.login(
                user.id,
                ip=rng.choice(IPS),
                client_info=rng.choice(CLIENTS),
                country=country,
                city=city,
            )
        elif roll < 0.5:
            target = rng.choice(store.sessions(organization))
            store.revoke(caller, target.id, RevocationType.SESSION)
        elif roll < 0.7:
            live = [s for s in store.sessions() if store.is_active(s)]
            if live:
                session = rng.choice(live)
                signed = store.authenticate(session.token)
                if rng.random() < 0.3:
                    store.logout(signed)
        elif roll < 0.8:
            store.clock.advance(minutes=rng.choice([1, 7, 90, 60 * 30]))
        elif roll < 0.83:
            store.revoke(caller, rng.choice(members).id, RevocationType.USER)
        elif roll < 0.85:
            store.update_session_settings(
                caller, rng.choice([3_600_000, 86_400_000]), rng.choice([86_400_000, 10**10])
            )
        if step % 20 == 19:
            check(store, caller, rng, 4)
    store.revoke(caller, organization, RevocationType.ORGANIZATION)
    store.login(owner.id, ip="10.9.0.1")
    check(store, caller, rng, 8)


def test_answers_survive_export_import_and_reset() -> None:
    rng = random.Random(5)
    dataset = cached_dataset(OPTIONS)
    store = Store(dataset)
    owner = next(u for u in store.users(role=Role.OWNER))
    caller = Caller(owner)
    queries = [random_query(rng, 600) for _ in range(40)]

    def answers(of: Store) -> list[tuple[int, list[str]]]:
        found = []
        for query in queries:
            page = of.query_sessions(caller, query)
            found.append((page.total, [s.id for s in page.sessions]))
        return found

    seeded = answers(store)
    for user in store.users(owner.organization_id)[:10]:
        store.login(user.id, ip="10.9.0.1", client_info="Mozilla/5.0 bench")
    for session in store.sessions(owner.organization_id)[::17]:
        store.revoke(caller, session.id, RevocationType.SESSION)
    store.clock.advance(minutes=3)
    changed = answers(store)
    assert changed != seeded
    loaded = Store(dataset)
    loaded.import_changes(dataset, store.export_changes())
    assert answers(loaded) == changed
    store.reset()
    assert answers(store) == seeded
    loaded.reset()
    assert answers(loaded) == seeded


def test_a_query_between_changes_sees_each_change() -> None:
    """Laid-out changes are kept between queries and laid out again after every change."""
    store = Store(cached_dataset(OPTIONS))
    owner = next(u for u in store.users(role=Role.OWNER))
    caller = Caller(owner)
    query = SessionQuery(
        level=Level.ORGANIZATION,
        sort_by=SortBy.LAST_ACTIVITY_TIME,
        order=Order.DESC,
        skip=0,
        limit=5,
        only_active=True,
    )
    rng = random.Random(9)
    for _ in range(30):
        live = [s for s in store.sessions(owner.organization_id) if store.is_active(s)]
        session = rng.choice(live)
        store.clock.advance(seconds=1)
        store.authenticate(session.token)
        first = store.query_sessions(caller, query).sessions[0]
        assert first.id == session.id
        store.revoke(caller, session.id, RevocationType.SESSION)
        assert session.id not in [s.id for s in store.query_sessions(caller, query).sessions]
        assert store.query_sessions(caller, query).total == plain_answer(store, caller, query)[0]


def test_seeded_sessions_loaded_with_other_fields_answer_as_fresh_ones() -> None:
    """A state file may change what a seeded session's search reads or its sort keys."""
    rng = random.Random(13)
    dataset = cached_dataset(OPTIONS)
    owner = next(u for u in dataset.users.values() if u.role is Role.OWNER)
    caller = Caller(owner)
    seeded = dataset.org_sessions[owner.organization_id]
    changed = []
    for index, session in enumerate(rng.sample(seeded, 60)):
        country, city = rng.choice(PLACES)
        fields: dict[str, object] = {
            "ip": rng.choice(IPS),
            "client_info": rng.choice(CLIENTS),
            "country": country,
            "city": city,
            "last_activity_at": session.last_activity_at,
        }
        # some keep every searched field, some one sort key only
        if index % 3 == 0:
            fields = {"ended": None, "last_activity_at": dataset.start_ms - index}
        changed.append(replace(session, **fields))  # type: ignore[arg-type]
    store = Store(dataset)
    store.import_changes(dataset, Changes(sessions=tuple(changed), now_ms=dataset.start_ms))
    check(store, caller, rng, 60)
