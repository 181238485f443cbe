"""pytest-logscale's benchmarks: each figure against a baseline measured in the same run.

Usage: ``python benchmarks/run.py [--quick] {throughput,per-test,fixture,seeding,query,
startstop,scale,all}``. Each sub-command prints a table: the case, the baseline, ours, the ratio
ours/baseline (or baseline/ours for rates, so that below 1 is always "slower than the
baseline" for throughput), the target and whether it is met. ``--quick`` is a smoke run
with small counts; its figures are noise. docs/performance.md explains every row.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import per_test  # beside this script
from werkzeug.serving import WSGIRequestHandler, make_server

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.clock import Clock
from pytest_logscale.domain.records import Level, Order, RevocationType, SortBy
from pytest_logscale.domain.store import SessionQuery, Store
from pytest_logscale.fake import cached_dataset
from pytest_logscale.http.server import ThreadedServer
from pytest_logscale.seeding import SeedOptions, seed_dataset

SESSION_FIELDS = """
      id clientInfo city country ip createdAt lastActivityAt isCurrentSession
      user { id displayName username isRoot isOrgRoot fullName firstName lastName
             phoneNumber email picture createdAt countryCode stateCode company }
"""
#: The throughput query: one page of 50 sessions of the organization, every field.
PAGE_QUERY = (
    "query Page { sessions(level: Organization, onlyActiveSessions: false, limit: 50) {"
    f" totalResults results {{ {SESSION_FIELDS} }} }} }}"
)
#: The per-test query of the plugin issue.
SMALL_QUERY = "query { sessions(limit: 10) { totalResults results { id ip clientInfo } } }"


@dataclass(frozen=True)
class Row:
    """One line of a table: ``ratio`` is ours relative to the baseline, as the target states."""

    case: str
    baseline: str
    ours: str
    ratio: float | None
    target: str
    met: bool | None


def print_table(title: str, rows: Iterable[Row]) -> None:
    """Print rows as a Markdown table (docs/performance.md takes it as it is)."""
    print(f"\n### {title}\n")
    print("| case | baseline | ours | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        print(f"| {row.case} | {row.baseline} | {row.ours} | {ratio} | {row.target} | {met} |")
    sys.stdout.flush()


def ms(seconds: float) -> str:
    """Seconds as milliseconds (microseconds below 0.1 ms)."""
    if seconds < 0.0001:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1000:.2f} ms"


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of ``repeats`` timings of ``work`` in seconds (garbage collection off)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return min(times)


# -- throughput -------------------------------------------------------------------------------


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (http.client reconnects only if the server closes)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        host, _, port = url.removeprefix("http://").rpartition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.connects = 0

    def post(self, body: bytes) -> bytes:
        """POST ``body`` to /graphql and return the answer's body."""
        if self.connection.sock is None:
            self.connects += 1
        self.connection.request("POST", "/graphql", body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
        return data

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def fixed_app(
    answers: dict[bytes, bytes],
) -> Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]:
    """A bare WSGI app answering each request body with its canned JSON answer (the baseline)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        payload = answers[environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))]
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response("200 OK", headers)
        return [payload]

    return app


@dataclass(frozen=True)
class Load:
    """What one keep-alive client measured: requests per second, CPU per request, reconnections.

    ``cpu`` is this process's CPU time per request (client and server threads together,
    as both run here): on a shared machine it moves far less than the requests per second.
    """

    per_second: float
    cpu: float
    connects: int


def measure_load(url: str, token: str | None, bodies: list[bytes], seconds: float) -> Load:
    """One keep-alive client sending ``bodies`` in turn for ``seconds`` (see :class:`Load`)."""
    client = KeepAliveClient(url, token)
    try:
        for body in bodies[:20] * (1 + 20 // len(bodies)):  # warm up: caches, connection
            client.post(body)
        client.connects = 0
        count, started, turn = 0, time.perf_counter(), 0
        cpu_started = time.process_time()
        deadline = started + seconds
        while True:
            for _ in range(10):
                client.post(bodies[turn])
                turn = (turn + 1) % len(bodies)
            count += 10
            now = time.perf_counter()
            if now >= deadline:
                cpu = (time.process_time() - cpu_started) / count
                return Load(count / (now - started), cpu, client.connects)
    finally:
        client.close()


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log (pytest captures that log; here it would print)."""

    def log_request(self, *_args: Any, **_kwargs: Any) -> None:
        pass


class WerkzeugServer:
    """Werkzeug's ``make_server`` in a thread, as pytest-httpserver runs it (not threaded)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.server = make_server("127.0.0.1", 0, app, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WerkzeugServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def mixed_bodies() -> list[bytes]:
    """Different pages (skip, searchFilter, sortBy vary) and a mutation every fifth request."""
    sorts = ["LastActivityTime", "LoginTime", "IPAddress", "Location", "ClientInfo", "User"]
    needles = [None, "a", "e", "mozilla", "10.", "an", "o", "chrome"]
    bodies = []
    for n in range(40):
        if n % 5 == 4:  # the same settings again: a real write, and the state stays comparable
            query = (
                "mutation { updateSessionSettings(input: {maxInactivityPeriod: 1209600000,"
                " forceReauthenticationAfter: 2592000000}) { id } }"
            )
            bodies.append(json.dumps({"query": query}).encode())
            continue
        needle = needles[n % len(needles)]
        search = "" if needle is None else f", searchFilter: {json.dumps(needle)}"
        query = (
            f"query Mix {{ sessions(level: Organization, onlyActiveSessions: false,"
            f" sortBy: {sorts[n % len(sorts)]}, skip: {(n * 7) % 60}, limit: 50{search}) {{"
            f" totalResults results {{ {SESSION_FIELDS} }} }} }}"
        )
        bodies.append(json.dumps({"query": query}).encode())
    return bodies


def bench_throughput(quick: bool) -> list[Row]:
    """Computed answers against the same answers canned, on Werkzeug's server and on ours.

    Two loads: the page of 50 sessions with every field asked again and again, and a mix
    of different pages with a mutation every fifth request. Every answer is computed.
    """
    seconds = 0.3 if quick else 2.0
    rows = []
    with FakeLogScale(SeedOptions(), journal_size=1000) as fake:  # as `serve` keeps it
        client = KeepAliveClient(fake.url, fake.token)
        loads = {"page": [json.dumps({"query": PAGE_QUERY}).encode()], "mix": mixed_bodies()}
        canned = {body: client.post(body) for bodies in loads.values() for body in bodies}
        client.close()
        page = canned[loads["page"][0]]
        assert len(json.loads(page)["data"]["sessions"]["results"]) == 50
        app = fixed_app(canned)
        with ThreadedServer(app) as ours_fixed, WerkzeugServer(app) as werkzeug_fixed:
            for load, bodies in loads.items():
                rounds: list[tuple[Load, Load, Load]] = []
                for _ in range(1 if quick else 5):  # interleaved, so drift hits all alike
                    rounds.append(
                        (
                            measure_load(werkzeug_fixed.url, None, bodies, seconds),
                            measure_load(ours_fixed.url, None, bodies, seconds),
                            measure_load(fake.url, fake.token, bodies, seconds),
                        )
                    )
                werkzeug, fixed, ours = (
                    statistics.median(r[i].per_second for r in rounds) for i in (0, 1, 2)
                )
                ratios = [
                    statistics.median(r[2].per_second / r[i].per_second for r in rounds)
                    for i in (0, 1)
                ]
                cpus = [statistics.median(r[i].cpu for r in rounds) for i in (0, 1, 2)]
                cpu_ratios = [
                    statistics.median(r[i].cpu / r[2].cpu for r in rounds) for i in (0, 1)
                ]
                connects = rounds[-1][2].connects
                what = (
                    f"sessions(limit: 50), all fields, {len(page)} bytes"
                    if load == "page"
                    else f"a mix of {len(bodies)} requests: pages varying skip, searchFilter,"
                    " sortBy; every fifth an updateSessionSettings mutation"
                )
                rows += [
                    Row(
                        f"{what}; computed vs canned on Werkzeug's make_server",
                        f"{werkzeug:,.0f} req/s",
                        f"{ours:,.0f} req/s",
                        ratios[0],
                        ">= 1.0x",
                        ratios[0] >= 1.0,
                    ),
                    Row(
                        f"{what}; computed vs canned on our ThreadedServer"
                        f" (keep-alive, {connects} reconnection{'s' if connects != 1 else ''})",
                        f"{fixed:,.0f} req/s",
                        f"{ours:,.0f} req/s",
                        ratios[1],
                        ">= 0.5x",
                        ratios[1] >= 0.5,
                    ),
                    *(
                        Row(
                            f"{what}; CPU per request (this process: client and server),"
                            f" canned on {server} ÷ computed",
                            f"{cpus[i] * 1e6:,.0f} µs",
                            f"{cpus[2] * 1e6:,.0f} µs",
                            cpu_ratios[i],
                            "(informative)",
                            None,
                        )
                        for i, server in enumerate(("Werkzeug's make_server", "our ThreadedServer"))
                    ),
                ]
    return rows


# -- per test, through pytest -----------------------------------------------------------------

_CLIENT = """
import http.client
import json

BODY = json.dumps({"query": QUERY}).encode()


def post(url, token=None):
    host, _, port = url.removeprefix("http://").rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        connection.request("POST", "/graphql", body=BODY, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
"""

_SUITES = {
    "empty": "def test_{n}():\n    pass\n",
    "ours": textwrap.dedent(
        """
        def test_{n}(logscale_server):
            status, answer = post(logscale_server.url, logscale_server.token)
            assert status == 200 and answer == CANNED
        """
    ),
    "fixture": "def test_{n}(logscale_server):\n    pass\n",
    "floor": "def test_{n}(do_nothing):\n    pass\n",
    "httpserver": textwrap.dedent(
        """
        def test_{n}(httpserver):
            httpserver.expect_request("/graphql", method="POST").respond_with_json(CANNED)
            status, answer = post(httpserver.url_for("/").rstrip("/"))
            assert status == 200 and answer == CANNED
        """
    ),
}


#: The least a fixture shaped like logscale_server costs: function scope over a session one.
_FLOOR_FIXTURES = textwrap.dedent(
    """
    import pytest


    @pytest.fixture(scope="session")
    def shared_thing():
        return object()


    @pytest.fixture
    def do_nothing(request, shared_thing):
        return shared_thing

    """
)


def write_suite(folder: Path, kind: str, count: int, canned: dict[str, Any]) -> Path:
    """A test file of ``count`` tests of one kind."""
    path = folder / f"test_{kind.replace('-', '_')}.py"
    head = f"QUERY = {SMALL_QUERY!r}\n" + _CLIENT + f"\nCANNED = {canned!r}\n\n"
    if kind == "floor":
        head += _FLOOR_FIXTURES
    path.write_text(head + "\n".join(_SUITES[kind].format(n=n) for n in range(count)))
    return path


def pytest_per_test(path: Path, *extra: str) -> float:
    """Mean seconds per test of one file run by pytest in a fresh interpreter.

    The first and last tests are left out: they carry the session-scoped set-up
    (seeding, starting servers) and tear-down, paid once per run, not per test.
    """
    (path.parent / "conftest.py").write_text(per_test.TIMING_CONFTEST)
    times_file = path.with_suffix(".times.json")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(path)]
    environment = {**os.environ, "LOGSCALE_BENCH_TIMES": str(times_file)}
    done = subprocess.run(command, cwd=path.parent, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"pytest failed on {path.name}:\n{done.stdout[-3000:]}{done.stderr}")
    times: list[float] = json.loads(times_file.read_text())[1:-1]
    return statistics.fmean(times)


def per_test_costs(kinds: list[str], count: int, repeats: int, *extra: str) -> dict[str, float]:
    """Seconds per test of each kind less an empty test's, the median of ``repeats`` runs."""
    with FakeLogScale(SeedOptions()) as fake:
        canned = fake.execute(SMALL_QUERY)
    with tempfile.TemporaryDirectory(prefix="logscale-bench-") as folder:
        paths = {k: write_suite(Path(folder), k, count, canned) for k in ["empty", *kinds]}
        runs: dict[str, list[float]] = {k: [] for k in paths}
        for _ in range(repeats):
            for kind, path in paths.items():  # interleaved, so drift hits every kind alike
                runs[kind].append(pytest_per_test(path, *extra))
    empty = statistics.median(runs["empty"])
    return {k: statistics.median(runs[k]) - empty for k in kinds}


def bench_per_test(quick: bool) -> list[Row]:
    """Per-test cost as whole pytest processes (benchmarks/per_test.py): ours against others."""
    small, large, repeats = (5, 20, 1) if quick else (30, 300, 5)
    httpserver, respx, responses = "httpserver, canned JSON", "respx, in process", "responses"
    query, realistic, with_httpx = "one sessions(limit: 10) query", "realistic test", "httpx"
    cases = [
        ("query-ours", "query-httpserver", query, httpserver),
        ("realistic-ours", "realistic-httpserver", realistic, httpserver),
        ("realistic-ours-httpx", "realistic-respx", f"{realistic}, {with_httpx}", respx),
        ("realistic-ours", "realistic-responses", realistic, responses),
        ("query-ours-in-process", "query-httpserver", query, httpserver),
        ("realistic-ours-in-process", "realistic-httpserver", realistic, httpserver),
        ("realistic-ours-httpx-in-process", "realistic-respx", f"{realistic}, {with_httpx}", respx),
        ("realistic-ours-in-process", "realistic-responses", realistic, responses),
    ]
    floor = ("realistic-socket-floor", "realistic-responses", realistic, responses)
    kinds = sorted({kind for case in (*cases, floor) for kind in case[:2]})
    cost = per_test.per_test_costs(kinds, small, large, repeats)
    rows = []
    how = f"slope {small}->{large} tests less empty, median of {repeats}"
    labels = {floor[0]: "a do-nothing socket server: the floor over HTTP"}
    labels.update(dict.fromkeys(per_test.IN_PROCESS, "logscale_server, in-process transport"))
    for ours, baseline, what, against in (*cases, floor):
        ratio = cost[ours].median / cost[baseline].median
        target, met = ("(floor)", None) if ours == floor[0] else ("<= 1.0x", ratio <= 1.0)
        rows.append(
            Row(
                f"{what}, whole process ({how})",
                f"{per_test.describe(cost[baseline])} ({against})",
                f"{per_test.describe(cost[ours])} ({labels.get(ours, 'logscale_server, HTTP')})",
                ratio,
                target,
                met,
            )
        )
    for ours, baseline, what, against in (*cases, floor):  # CPU time: what load moves least
        mine, theirs = cost[ours].cpu_median, cost[baseline].cpu_median
        rows.append(
            Row(
                f"{what}, CPU time of the pytest process ({how})",
                f"{ms(theirs)} ({against})",
                f"{ms(mine)} ({labels.get(ours, 'logscale_server, HTTP')})",
                mine / theirs,
                "(informative)",
                None,
            )
        )
    rounds, calls = (2, 10) if quick else (9, 100)
    body = per_test.body_costs(kinds, rounds, calls)
    for ours, baseline, what, against in (*cases, floor):  # no process start: the least noise
        mine, theirs = statistics.median(body[ours]), statistics.median(body[baseline])
        rows.append(
            Row(
                f"{what}, the test and its fixture's steps in one process"
                f" (CPU, median of {rounds} rounds of {calls}, kinds interleaved)",
                f"{ms(theirs)} ({against})",
                f"{ms(mine)} ({labels.get(ours, 'logscale_server, HTTP')})",
                mine / theirs,
                "(informative)",
                None,
            )
        )
    for ours, baseline, what, against in cases[:2]:
        inside = cost[ours].in_process_median
        base = cost[baseline].in_process_median
        rows.append(
            Row(
                f"{what}, in process (run protocol only, the earlier measure, same runs)",
                f"{ms(base)} ({against})",
                f"{ms(inside)} (logscale_server)",
                inside / base,
                "(informative)",
                None,
            )
        )
    return rows


# -- the fixture alone --------------------------------------------------------------------------


def bench_fixture(quick: bool) -> list[Row]:
    """Reset and handle per test, in process and through pytest; Faker's autouse fixture."""
    rounds = 2_000 if quick else 20_000
    with FakeLogScale(SeedOptions()) as fake:
        options = SeedOptions()
        fake.execute(SMALL_QUERY)  # something to forget
        per_reset = best_of(5, lambda: [fake.reseed(options) for _ in range(rounds)]) / rounds
        per_call = best_of(5, lambda: [options.__hash__() for _ in range(rounds)]) / rounds
    count, repeats = (50, 1) if quick else (300, 5)
    costs = per_test_costs(["floor", "fixture"], count, repeats, "-p", "no:faker")
    through_pytest, floor = costs["fixture"], costs["floor"]
    faker = faker_fixture_cost(count, repeats)
    return [
        Row(
            "reset + handle, in process (default seed)",
            f"{ms(per_call)} (a bare call)",
            ms(per_reset),
            None,
            "< 0.1 ms",
            per_reset < 0.0001,
        ),
        Row(
            f"a test asking for logscale_server, no request ({count} tests, through pytest)",
            "empty test",
            f"+{ms(through_pytest)}",
            None,
            "(informative)",
            None,
        ),
        Row(
            "the fixture's own share: the same less a do-nothing fixture of the same shape",
            f"+{ms(floor)} (do-nothing fixture)",
            f"{'+' if through_pytest >= floor else '-'}{ms(abs(through_pytest - floor))}",
            None,
            "< 0.1 ms",
            through_pytest - floor < 0.0001,
        ),
        Row(
            "Faker's own autouse fixture, per empty test",
            "-p no:faker",
            f"+{ms(faker)}",
            None,
            "(informative)",
            None,
        ),
    ]


def faker_fixture_cost(count: int, repeats: int) -> float:
    """What Faker's pytest plugin adds to each empty test."""
    with tempfile.TemporaryDirectory(prefix="logscale-bench-") as folder:
        path = write_suite(Path(folder), "empty", count, {})
        with_faker, without = [], []
        for _ in range(repeats):
            with_faker.append(pytest_per_test(path))
            without.append(pytest_per_test(path, "-p", "no:faker"))
    return statistics.median(with_faker) - statistics.median(without)


# -- seeding -----------------------------------------------------------------------------------


def bare_records(seed: int, count: int) -> list[dict[str, Any]]:
    """Session-shaped records from a bare seeded random.Random: the seeding baseline."""
    rng = random.Random(seed)
    return [
        {
            "id": f"{rng.getrandbits(64):016x}",
            "token": f"{rng.getrandbits(128):032x}",
            "ip": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            "client": rng.choice(("Firefox", "Chrome", "Safari")),
            "city": rng.choice(("Aarhus", "Lyon", None)),
            "created": rng.randrange(1_700_000_000_000, 1_800_000_000_000),
            "active": rng.random() < 0.5,
        }
        for _ in range(count)
    ]


def fingerprint(options: SeedOptions) -> int:
    """A hash of every seeded session, to show that one seed gives one dataset."""
    dataset = seed_dataset(options)
    return hash(tuple(dataset.sessions.values()))


def bench_seeding(quick: bool) -> list[Row]:
    """Seeding 10,000 and 100,000 sessions, against as many records from a bare Random."""
    rows = []
    sizes = ((10_000, 0.5),) if quick else ((10_000, 0.5), (100_000, 5.0))
    for sessions, limit in sizes:
        options = SeedOptions(seed=7, users=max(3, sessions // 20), sessions=sessions)
        repeats = 1 if quick or sessions > 10_000 else 3
        base = best_of(repeats, lambda n=sessions: bare_records(7, n))  # type: ignore[misc]
        ours = best_of(repeats, lambda o=options: seed_dataset(o))  # type: ignore[misc]
        rows.append(
            Row(
                f"seed {sessions:,} sessions ({options.users:,} users)",
                ms(base),
                ms(ours),
                ours / base,
                f"< {limit:g} s",
                ours < limit,
            )
        )
    small = SeedOptions(seed=7, users=50, sessions=1_000)
    same = fingerprint(small) == fingerprint(small)
    rows.append(
        Row(
            "same seed, same data (two seedings)",
            "",
            "identical" if same else "DIFFERENT",
            None,
            "identical",
            same,
        )
    )
    return rows


# -- queries over a large dataset ----------------------------------------------------------------


def organization_page(
    store: Store, caller: Any, skip: int, search: str | None, only_active: bool
) -> Callable[[], object]:
    """A page of 50 of the organization's sessions by IP, to time."""
    query = SessionQuery(
        search_filter=search,
        level=Level.ORGANIZATION,
        sort_by=SortBy.IP_ADDRESS,
        order=Order.ASC,
        skip=skip,
        limit=50,
        only_active=only_active,
    )
    return lambda: store.query_sessions(caller, query)


def bench_query(quick: bool) -> list[Row]:
    """Filtered and sorted pages of 50 over 100,000 sessions, first page and deep, before and
    after changes; the baseline is the same filter and sort over plain tuples."""
    sessions = 20_000 if quick else 100_000
    dataset = cached_dataset(SeedOptions(seed=3, users=2_000, sessions=sessions))
    store = Store(dataset, Clock(dataset.start_ms))
    org_id = next(iter(dataset.organizations))
    owner = next(u for u in dataset.org_users[org_id] if u.is_org_root)
    token = next(s.token for s in dataset.user_sessions[owner.id] if s.ended is None)
    caller = store.authenticate(token)
    repeats = 3 if quick else 7

    def page(skip: int, search: str | None, only_active: bool) -> Callable[[], object]:
        return organization_page(store, caller, skip, search, only_active)

    cold = best_of(1, page(0, "a", False))  # builds the cached order once
    plain = [(s.ip, s.id, s) for s in dataset.org_sessions[org_id]]

    def baseline() -> object:
        kept = [t for t in plain if "a" in t[2].client_info.casefold()]
        kept.sort(key=lambda t: (t[0], t[1]))
        return kept[:50]

    base = best_of(repeats, baseline)
    deep = 9 * sessions // 10
    rows = [
        Row(
            f"first query over {sessions:,} sessions (sorts once, then cached)",
            "",
            ms(cold),
            None,
            "(one-off)",
            None,
        )
    ]

    def measure(label: str) -> None:
        # A search text and a clock instant not seen before: the filters are computed, not kept.
        # Each sample needs its own (a second one would find them kept): the median of three.
        samples = []
        for sample in range(3):
            store.clock.advance(seconds=1)
            samples.append(best_of(1, page(0, f"{(len(rows) + sample) % 10}", True)))
        fresh = statistics.median(samples)
        first = best_of(repeats, page(0, "a", False))
        active = best_of(repeats, page(0, "mozilla", True))
        deep_page = best_of(repeats, page(deep, None, False))
        first_unfiltered = best_of(repeats, page(0, None, False))
        rows.extend(
            [
                Row(
                    f"{label}: new search text, clock moved (filters computed afresh;"
                    " median of 3 such)",
                    ms(base) + " (list sort)",
                    ms(fresh),
                    fresh / base,
                    "< 50 ms",
                    fresh < 0.05,
                ),
                Row(
                    f"{label}: filtered, sorted by IP, limit 50",
                    ms(base) + " (list sort)",
                    ms(first),
                    first / base,
                    "< 50 ms",
                    first < 0.05,
                ),
                Row(
                    f"{label}: active only, filtered, limit 50",
                    ms(base) + " (list sort)",
                    ms(active),
                    active / base,
                    "< 50 ms",
                    active < 0.05,
                ),
                Row(
                    f"{label}: skip {deep:,} vs first page (unfiltered)",
                    ms(first_unfiltered) + " (first page)",
                    ms(deep_page),
                    deep_page / first_unfiltered,
                    "<= 2x",
                    deep_page <= 2 * first_unfiltered,
                ),
            ]
        )

    measure("seeded")
    members = dataset.org_users[org_id][:50]
    for user in members:
        store.login(user.id, ip="10.1.2.3", client_info="Mozilla/5.0 bench")
    for session in list(dataset.org_sessions[org_id])[:200]:
        store.revoke(caller, session.id, RevocationType.SESSION)
    store.clock.advance(minutes=5)
    measure("after 50 logins and 200 revocations")
    return rows


# -- scale ---------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    """The process's resident memory now (Linux), 0 where unknown."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _serve_first_answer(sessions: int) -> float:
    """Seconds from starting ``serve`` with this many sessions to its first answered query."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_logscale",
            "serve",
            "--sessions",
            str(sessions),
            "--users",
            str(max(3, sessions // 20)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        values = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        client = KeepAliveClient(values["LOGSCALE_URL"], values["LOGSCALE_TOKEN"])
        client.post(json.dumps({"query": PAGE_QUERY}).encode())
        client.close()
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)


_SERVE_PARTS = """
import time
started = time.perf_counter()
import pytest_logscale.cli
imported = time.perf_counter()
from pytest_logscale.domain.records import Level, Order, SortBy
from pytest_logscale.domain.store import SessionQuery, Store
from pytest_logscale.seeding import SeedOptions, seed_dataset
dataset = seed_dataset(SeedOptions(users={users}, sessions={sessions}))
seeded = time.perf_counter()
store = Store(dataset)
org_id = next(iter(dataset.organizations))
owner = next(u for u in dataset.org_users[org_id] if u.is_org_root)
caller = store.authenticate(
    next(s.token for s in dataset.user_sessions[owner.id] if s.ended is None)
)
query = SessionQuery(
    level=Level.ORGANIZATION, sort_by=SortBy.LAST_ACTIVITY_TIME, order=Order.DESC,
    skip=0, limit=50, only_active=False,
)
store.query_sessions(caller, query)
print(imported - started, seeded - imported, time.perf_counter() - seeded)
"""


def _serve_parts(sessions: int) -> tuple[float, float, float]:
    """What ``serve``'s first answer is made of, in a fresh process: the imports, seeding, and
    the first query in the store (sorting and the organization's columns)."""
    script = _SERVE_PARTS.format(users=max(3, sessions // 20), sessions=sessions)
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    imports, seeding, first = (float(part) for part in output.split())
    return imports, seeding, first


def bench_scale(quick: bool) -> list[Row]:
    """Seeding and paging at a million sessions (100,000 with --quick), serve's first answer."""
    big = 100_000 if quick else 1_000_000
    small = big // 10
    rows = []
    base_small = best_of(1, lambda: bare_records(7, small))
    base_big = best_of(1, lambda: bare_records(7, big))
    options_small = SeedOptions(seed=7, users=max(3, small // 20), sessions=small)
    ours_small = best_of(1, lambda: seed_dataset(options_small))
    options = SeedOptions(seed=7, users=min(100_000, big // 20), sessions=big)
    gc.collect()
    before = _rss_bytes()
    started = time.perf_counter()
    dataset = seed_dataset(options)
    ours_big = time.perf_counter() - started
    gc.collect()
    per_session = (_rss_bytes() - before) / big
    rows += [
        Row(
            f"seed {big:,} sessions ({options.users:,} users)",
            ms(base_big) + " (bare Random)",
            ms(ours_big),
            ours_big / base_big,
            "< 10 s",
            ours_big < 10,
        ),
        Row(
            f"memory per seeded session ({big:,})",
            "",
            f"{per_session:,.0f} B",
            None,
            "< 1 KB",
            per_session < 1024,
        ),
        Row(
            f"seeding cost per session, {big:,} over {small:,}",
            f"{(base_big / big) / (base_small / small):.2f}x (bare Random)",
            f"{(ours_big / big) / (ours_small / small):.2f}x",
            None,
            "linear (<= 1.5x)",
            (ours_big / big) <= 1.5 * (ours_small / small),
        ),
    ]
    store = Store(dataset, Clock(dataset.start_ms))
    org_id = next(iter(dataset.organizations))
    owner = next(u for u in dataset.org_users[org_id] if u.is_org_root)
    caller = store.authenticate(
        next(s.token for s in dataset.user_sessions[owner.id] if s.ended is None)
    )

    def page(search: str | None, skip: int = 0) -> Callable[[], object]:
        return organization_page(store, caller, skip, search, True)

    cold = best_of(1, page("mozilla"))
    plain = [(s.ip, s.id, s) for s in dataset.org_sessions[org_id]]

    def baseline() -> object:
        kept = [t for t in plain if "mozilla" in t[2].client_info.casefold()]
        kept.sort(key=lambda t: (t[0], t[1]))
        return kept[:50]

    base = best_of(3, baseline)
    warm = best_of(5, page("mozilla"))
    deep = best_of(5, page("mozilla", skip=big // 2))
    rows += [
        Row(
            f"first query over {big:,} sessions (sorts and builds columns once)",
            "",
            ms(cold),
            None,
            "(one-off)",
            None,
        ),
        Row(
            f"active, filtered, sorted by IP, limit 50, over {big:,}",
            ms(base) + " (list sort)",
            ms(warm),
            warm / base,
            "< 100 ms",
            warm < 0.1,
        ),
        Row(
            f"the same, skip {big // 2:,}",
            ms(base) + " (list sort)",
            ms(deep),
            deep / base,
            "< 100 ms",
            deep < 0.1,
        ),
    ]
    serve_sessions = 20_000 if quick else 100_000
    first = _serve_first_answer(serve_sessions)
    rows.append(
        Row(
            f"serve --sessions {serve_sessions:,}: process start to first page answered",
            "",
            ms(first),
            None,
            "< 3 s",
            first < 3,
        )
    )
    parts = _serve_parts(serve_sessions)
    for label, seconds in zip(
        ("imports (pytest_logscale.cli)", "seeding", "first query in the store (order, columns)"),
        parts,
        strict=True,
    ):
        rows.append(Row(f"  of which {label}", "", ms(seconds), None, "(breakdown)", None))
    return rows


# -- start and stop --------------------------------------------------------------------------


def bench_startstop(quick: bool) -> list[Row]:
    """ThreadedServer start + stop, against werkzeug's make_server + serve_forever/shutdown."""
    app = fixed_app(b"{}")

    def werkzeug_once() -> None:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        server.shutdown()
        thread.join()
        server.server_close()

    def ours_once() -> None:
        ThreadedServer(app).start().stop()

    base = statistics.median(best_of(1, werkzeug_once) for _ in range(1 if quick else 3))
    ours = statistics.median(best_of(1, ours_once) for _ in range(20 if quick else 200))
    return [
        Row(
            "start + stop",
            ms(base) + " (werkzeug make_server)",
            ms(ours),
            ours / base,
            "< 10 ms",
            ours < 0.01,
        )
    ]


# -- the command line ------------------------------------------------------------------------

BENCHES: dict[str, tuple[str, Callable[[bool], list[Row]]]] = {
    "throughput": ("Throughput over HTTP (keep-alive client)", bench_throughput),
    "per-test": ("Per-test cost through pytest", bench_per_test),
    "fixture": ("The fixture's own cost", bench_fixture),
    "seeding": ("Seeding", bench_seeding),
    "query": ("Queries over a large dataset (store, in process)", bench_query),
    "startstop": ("Server start and stop", bench_startstop),
    "scale": ("Scale: a million sessions", bench_scale),
}


def machine() -> str:
    """CPU, Python and package versions, for the record."""
    from importlib.metadata import version

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "pytest-logscale",
            "ariadne",
            "graphql-core",
            "werkzeug",
            "faker",
            "pytest",
            "pytest-httpserver",
        )
    )
    return f"{cpu}, {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; {packages}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named on the command line (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("benchmark", nargs="?", default="all", choices=[*BENCHES, "all"])
    parser.add_argument("--quick", action="store_true", help="a smoke run with small counts")
    arguments = parser.parse_args(argv)
    names = list(BENCHES) if arguments.benchmark == "all" else [arguments.benchmark]
    print(f"Machine: {machine()}")
    missed = []
    for name in names:
        title, bench = BENCHES[name]
        started = time.perf_counter()
        rows = bench(arguments.quick)
        print_table(f"{title} ({time.perf_counter() - started:.1f} s)", rows)
        missed += [row.case for row in rows if row.met is False]
    if missed:
        print(f"\nTargets not met: {len(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
