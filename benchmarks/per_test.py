"""Per-test cost as a user's CI pays it: whole pytest processes, interpreter start included.

A suite of ``small`` tests and one of ``large`` tests of the same kind are each run by
``python -m pytest`` in a fresh process; the kind's cost per test is the slope between
the two wall-clock times, less the slope of a suite of empty tests. What every run pays
once (interpreter start, imports, seeding, starting a server) cancels in the slope; what
each test pays (collection, assertion rewriting, set-up, the call, tear-down, reporting)
stays. Kinds are interleaved within each repeat, so drift of a shared machine hits every
kind alike, and the median of the repeats is taken.

Bytecode caching is on (``PYTHONDONTWRITEBYTECODE`` is removed from the environment; a
warm-up run writes the caches): with it off, pytest rewrites the asserts of every test
module on every run, a cost that grows with the length of the test body and so favours
short tests.

The same runs also time each test's run protocol from inside pytest (a conftest hook),
the project's earlier measure: the difference between the two explains why that measure
read lower than the whole-process one.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The per-test query of the plugin issue.
SMALL_QUERY = "query { sessions(limit: 10) { totalResults results { id ip clientInfo } } }"
#: The realistic test's query: it needs ids to revoke one.
PAGE_QUERY = "query Page { sessions(limit: 10) { results { id isCurrentSession } } }"
REVOKE = (
    "mutation Revoke($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }"
)

_HEAD = """
import json

import {client}

URL_PATH = "/graphql"
SMALL_QUERY = {small!r}
PAGE_QUERY = {page!r}
REVOKE = {revoke!r}
CANNED = json.loads({canned!r})
CANNED_PAGE = json.loads({canned_page!r})
REVOKED = {{"data": {{"revokeSession": True}}}}
VICTIM = {victim!r}


def revoke_body(session_id):
    return {{"query": REVOKE, "variables": {{"id": session_id}}}}


def revoke_one(post, url, headers):
    page = post(url, json={{"query": PAGE_QUERY}}, headers=headers).json()
    victim = next(s["id"] for s in page["data"]["sessions"]["results"] if not s["isCurrentSession"])
    assert post(url, json=revoke_body(victim), headers=headers).json() == REVOKED
    return victim
"""

#: Test bodies by kind; ``{n}`` numbers the tests. Each kind's client is named in KINDS.
_BODIES = {
    "empty": "def test_{n}():\n    pass\n",
    "query-ours": """
        def test_{n}(logscale_server):
            headers = {{"Authorization": "Bearer " + logscale_server.token}}
            answer = requests.post(logscale_server.graphql_url, json={{"query": SMALL_QUERY}},
                                   headers=headers)
            assert answer.status_code == 200 and answer.json() == CANNED
        """,
    "query-httpserver": """
        def test_{n}(httpserver):
            httpserver.expect_request(URL_PATH, method="POST").respond_with_json(CANNED)
            answer = requests.post(httpserver.url_for(URL_PATH), json={{"query": SMALL_QUERY}})
            assert answer.status_code == 200 and answer.json() == CANNED
        """,
    "realistic-ours": """
        def test_{n}(logscale_server):
            headers = {{"Authorization": "Bearer " + logscale_server.token}}
            victim = revoke_one(requests.post, logscale_server.graphql_url, headers)
            assert logscale_server.journal[-1].variables == {{"id": victim}}
        """,
    "realistic-ours-httpx": """
        def test_{n}(logscale_server):
            headers = {{"Authorization": "Bearer " + logscale_server.token}}
            victim = revoke_one(CLIENT.post, logscale_server.graphql_url, headers)
            assert logscale_server.journal[-1].variables == {{"id": victim}}
        """,
    "realistic-httpserver": """
        def test_{n}(httpserver):
            httpserver.expect_request(URL_PATH, json={{"query": PAGE_QUERY}}).respond_with_json(
                CANNED_PAGE)
            httpserver.expect_request(URL_PATH, json=revoke_body(VICTIM)).respond_with_json(
                REVOKED)
            victim = revoke_one(requests.post, httpserver.url_for(URL_PATH), {{}})
            assert json.loads(httpserver.log[-1][0].data)["variables"] == {{"id": victim}}
        """,
    "realistic-responses": """
        @responses.activate
        def test_{n}():
            url = "http://logscale.test" + URL_PATH
            responses.post(url, json=CANNED_PAGE,
                           match=[responses.matchers.json_params_matcher({{"query": PAGE_QUERY}})])
            responses.post(url, json=REVOKED,
                           match=[responses.matchers.json_params_matcher(revoke_body(VICTIM))])
            victim = revoke_one(requests.post, url, {{}})
            assert json.loads(responses.calls[-1].request.body)["variables"] == {{"id": victim}}
        """,
    "realistic-respx": """
        def test_{n}(respx_mock):
            url = "http://logscale.test" + URL_PATH
            respx_mock.post(url, json={{"query": PAGE_QUERY}}).respond(json=CANNED_PAGE)
            respx_mock.post(url, json=revoke_body(VICTIM)).respond(json=REVOKED)
            victim = revoke_one(CLIENT.post, url, {{}})
            sent = json.loads(respx_mock.calls.last.request.content)
            assert sent["variables"] == {{"id": victim}}
        """,
}

#: A real socket server doing no work: every request gets its canned answer back (chosen by
#: whether the body is a mutation). What any fake answering over HTTP costs at the least.
_BODIES["realistic-socket-floor"] = """
    def test_{n}(socket_floor):
        victim = revoke_one(requests.post, socket_floor.url, {{}})
        assert json.loads(socket_floor.bodies[-1])["variables"] == {{"id": victim}}
    """
#: The same tests as their HTTP kinds, run with ``--logscale-transport=in-process``.
IN_PROCESS = {
    "query-ours-in-process": "query-ours",
    "realistic-ours-in-process": "realistic-ours",
    "realistic-ours-httpx-in-process": "realistic-ours-httpx",
}
for _kind, _same in IN_PROCESS.items():
    _BODIES[_kind] = _BODIES[_same]

#: httpx's top-level ``httpx.post`` builds a client, and so an SSL context, per call (tens
#: of milliseconds, which would drown every other cost): its tests share one client, as
#: real suites do.
_HTTPX = "httpx\n\nCLIENT = httpx.Client()"

#: The client module each kind imports.
KINDS = {
    "empty": "json",
    "query-ours": "requests",
    "query-httpserver": "requests",
    "realistic-ours": "requests",
    "realistic-ours-httpx": _HTTPX,
    "realistic-httpserver": "requests",
    "realistic-responses": "requests, responses, responses.matchers",
    "realistic-respx": _HTTPX,
    "realistic-socket-floor": "requests",
}
for _kind, _same in IN_PROCESS.items():
    KINDS[_kind] = KINDS[_same]

#: Command-line arguments of each kind's pytest run (none for the others).
ARGUMENTS = dict.fromkeys(IN_PROCESS, ("--logscale-transport=in-process",))

#: Times each test's run protocol from inside pytest (the project's earlier, in-process measure).
TIMING_CONFTEST = """
import json
import os
import re
import socket
import threading
import time

import pytest

PAGE = os.environ.get("LOGSCALE_BENCH_PAGE", "").encode()
REVOKED = b'{"data":{"revokeSession":true}}'

TIMES = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    yield
    TIMES.append(time.perf_counter() - started)


class _Floor(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d/graphql" % self.listener.getsockname()[1]
        self.bodies = []

    def run(self):
        while True:
            connection, _ = self.listener.accept()
            with connection:
                data = connection.recv(65536)
                head, _, body = data.partition(b"\\r\\n\\r\\n")
                length = int(re.search(rb"(?i)content-length: *(\\d+)", head).group(1))
                while len(body) < length:
                    body += connection.recv(65536)
                self.bodies.append(body)
                answer = REVOKED if b"mutation" in body else PAGE
                head = b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                head += b"Content-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(answer)
                connection.sendall(head + answer)


@pytest.fixture(scope="session")
def socket_floor():
    floor = _Floor()
    floor.start()
    return floor


def pytest_sessionfinish(session):
    with open(os.environ["LOGSCALE_BENCH_TIMES"], "w") as out:
        json.dump(TIMES, out)
"""


@dataclass(frozen=True)
class Cost:
    """Seconds per test of one kind, less the empty suite's: both measures, every repeat."""

    whole: list[float]
    in_process: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        """The whole-process cost (the target's measure)."""
        return statistics.median(self.whole)

    @property
    def cpu_median(self) -> float:
        """The same slope in the pytest process's CPU time (user + system): load moves it least."""
        return statistics.median(self.cpu)

    @property
    def in_process_median(self) -> float:
        """The in-process cost (first and last test left out)."""
        return statistics.median(self.in_process)


def _canned() -> tuple[str, str, str]:
    """The answers the fake gives the two queries in its default state, and a victim id."""
    from pytest_logscale import FakeLogScale

    with FakeLogScale() as fake:
        small = fake.execute(SMALL_QUERY)
        page = fake.execute(PAGE_QUERY)
    victim = next(s["id"] for s in page["data"]["sessions"]["results"] if not s["isCurrentSession"])
    return json.dumps(small), json.dumps(page), victim


def _write(folder: Path, kind: str, count: int, canned: tuple[str, str, str]) -> Path:
    body = textwrap.dedent(_BODIES[kind]).lstrip("\n")
    head = _HEAD.format(
        client=KINDS[kind],
        small=SMALL_QUERY,
        page=PAGE_QUERY,
        revoke=REVOKE,
        canned=canned[0],
        canned_page=canned[1],
        victim=canned[2],
    )
    path = folder / f"test_{kind.replace('-', '_')}_{count}.py"
    path.write_text(head + "\n\n" + "\n\n".join(body.format(n=n) for n in range(count)))
    return path


def _environment(times: Path, page: str = "") -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["LOGSCALE_BENCH_TIMES"] = str(times)
    environment["LOGSCALE_BENCH_PAGE"] = page  # the socket floor's canned page
    return environment


def _run(path: Path, kind: str, page: str) -> tuple[float, float, float]:
    """Wall and CPU seconds of one pytest process on ``path``, and its in-process mean per test."""
    times = path.with_suffix(".times.json")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *ARGUMENTS.get(kind, ())]
    command.append(str(path))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=path.parent, capture_output=True, text=True, env=_environment(times, page)
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"pytest failed on {path.name}:\n{done.stdout[-3000:]}{done.stderr}")
    inside: list[float] = json.loads(times.read_text())
    return wall, cpu, statistics.fmean(inside[1:-1] or inside)


def per_test_costs(
    kinds: list[str], small: int = 30, large: int = 300, repeats: int = 5
) -> dict[str, Cost]:
    """Each kind's cost per test less the empty suite's, whole-process and in-process."""
    canned = _canned()
    everything = ["empty", *kinds]
    whole: dict[str, list[float]] = {k: [] for k in everything}
    cpu: dict[str, list[float]] = {k: [] for k in everything}
    inside: dict[str, list[float]] = {k: [] for k in everything}
    with tempfile.TemporaryDirectory(prefix="logscale-per-test-") as name:
        folder = Path(name)
        (folder / "conftest.py").write_text(TIMING_CONFTEST)
        (folder / "pytest.ini").write_text("[pytest]\n")  # the rootdir: no outside config
        paths = {
            k: (_write(folder, k, small, canned), _write(folder, k, large, canned))
            for k in everything
        }
        for kind, pair in paths.items():  # warm-up: bytecode caches, files in the page cache
            for path in pair:
                _run(path, kind, canned[1])
        for _ in range(repeats):
            for kind, (few, many) in paths.items():
                few_wall, few_cpu, _ = _run(few, kind, canned[1])
                many_wall, many_cpu, many_inside = _run(many, kind, canned[1])
                whole[kind].append((many_wall - few_wall) / (large - small))
                cpu[kind].append((many_cpu - few_cpu) / (large - small))
                inside[kind].append(many_inside)

    def less_empty(measured: dict[str, list[float]], kind: str) -> list[float]:
        return [m - e for m, e in zip(measured[kind], measured["empty"], strict=True)]

    return {k: Cost(less_empty(whole, k), less_empty(inside, k), less_empty(cpu, k)) for k in kinds}


def check(folder: Path, count: int = 2) -> str:
    """Run every kind's suite once in one pytest process; its output, or RuntimeError."""
    canned = _canned()
    (folder / "conftest.py").write_text(TIMING_CONFTEST)
    (folder / "pytest.ini").write_text("[pytest]\n")
    outputs = []
    for kind in _BODIES:
        path = _write(folder, kind, count, canned)
        times = folder / "times.json"
        command = [sys.executable, "-m", "pytest", "-q", *ARGUMENTS.get(kind, ()), str(path)]
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, env=_environment(times, canned[1])
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"the benchmark's {kind} suite fails:\n{done.stdout[-3000:]}{done.stderr}"
            )
        outputs.append(done.stdout)
    return "".join(outputs)


def describe(cost: Cost) -> str:
    """A cost as milliseconds per test with the spread of its repeats."""
    low, high = min(cost.whole), max(cost.whole)
    return f"{cost.median * 1000:.2f} ms ({low * 1000:.2f} to {high * 1000:.2f})"


# -- the same test bodies in one process: what a test costs beyond pytest's own work -----------


class _Formatting(logging.Handler):
    """Formats each record and keeps nothing, as pytest's log capture formats what it keeps."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def _fixtures(canned: tuple[str, str, str]) -> dict[str, Any]:
    """Each fixture the test bodies take, made as its plugin makes it, with its per-test step.

    Values are ``(object, around)``: ``around`` wraps one call of a test the way the
    fixture brackets a test (a reset before it, a ``with`` block around it).
    """
    from pytest_httpserver import HTTPServer

    from pytest_logscale import FakeLogScale
    from pytest_logscale.seeding import SeedOptions

    # pytest captures log records (Werkzeug logs each request pytest-httpserver answers):
    # a root handler formatting and dropping them stands in for its capture
    logging.root.addHandler(_Formatting())
    os.environ["LOGSCALE_BENCH_PAGE"] = canned[1]
    conftest: dict[str, Any] = {}
    exec(TIMING_CONFTEST, conftest)  # the socket floor's server, as the pytest runs use it
    floor = conftest["_Floor"]()
    floor.start()
    fake = FakeLogScale().start()
    server = HTTPServer()
    server.start()
    return {"fake": fake, "options": SeedOptions(), "httpserver": server, "floor": floor}


def _caller(kind: str, test: Any, made: dict[str, Any]) -> Any:
    """A no-argument call running one test of ``kind`` with its fixture's steps around it."""
    import contextlib

    import respx

    fake, options = made["fake"], made["options"]
    if kind.startswith(("query-ours", "realistic-ours")):
        in_process = kind in IN_PROCESS

        def ours() -> None:
            fake.reseed(options)  # what logscale_server does before each test
            with fake.in_process() if in_process else contextlib.nullcontext():
                test(fake)

        return ours
    if kind.endswith("httpserver"):
        server = made["httpserver"]

        def httpserver() -> None:
            test(server)
            server.clear()  # what the httpserver fixture does after each test

        return httpserver
    if kind == "realistic-respx":

        def with_respx() -> None:
            with respx.mock() as mock:  # what the respx_mock fixture does around each test
                test(mock)

        return with_respx
    if kind == "realistic-socket-floor":
        return lambda: test(made["floor"])
    return test  # responses: the decorator brackets the test itself


def body_costs(kinds: list[str], rounds: int = 9, calls: int = 100) -> dict[str, list[float]]:
    """CPU seconds per test of each kind's body and fixture steps, in this one process.

    The whole-process slopes count everything a test costs but carry the noise of
    whole interpreter runs (a 30-test process varies by ±20 % on a quiet machine).
    This runs the same test functions (from the same generated modules) in a loop,
    kinds interleaved, ``rounds`` rounds of ``calls`` calls each; pytest's own work per
    test (collection, reporting), which is the same for every kind, is left out.
    """
    import importlib.util

    canned = _canned()
    made = _fixtures(canned)
    calls_of: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="logscale-body-") as name:
            for kind in kinds:
                path = _write(Path(name), kind, 1, canned)
                spec = importlib.util.spec_from_file_location(path.stem, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                calls_of[kind] = _caller(kind, module.test_0, made)
        for call in calls_of.values():  # warm-up: documents compiled, pools filled
            for _ in range(20):
                call()
        costs: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(rounds):
            for kind, call in calls_of.items():
                started = time.process_time()
                for _ in range(calls):
                    call()
                costs[kind].append((time.process_time() - started) / calls)
        return costs
    finally:
        made["fake"].stop()
        made["httpserver"].stop()
