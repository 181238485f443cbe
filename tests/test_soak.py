"""Soak: 5,000 tests through ``logscale_server``, each with a query and a mutation.

The same suite runs twice in subprocesses (``pytester``), once with the fake and
once with a fixture that does nothing; a conftest hook inside each run reads
VmRSS, Threads and the open descriptors every 1,000 tests. The fake may grow
the process by at most 1 MB per 1,000 tests more than pytest alone does, and
its threads and descriptors stay flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = 5_000
EVERY = 1_000
MIB = 1 << 20
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:faker")

CONFTEST = f"""
import json, os

_seen = 0


def pytest_runtest_logfinish(nodeid, location):
    global _seen
    _seen += 1
    if _seen % {EVERY} == 0:
        status = dict(
            line.split(":", 1) for line in open("/proc/self/status").read().splitlines()
        )
        sample = {{
            "tests": _seen,
            "rss": int(status["VmRSS"].split()[0]) * 1024,
            "threads": int(status["Threads"]),
            "fds": len(os.listdir("/proc/self/fd")),
        }}
        with open(os.environ["SOAK_OUT"], "a") as out:
            out.write(json.dumps(sample) + "\\n")
"""

SUITE = f"""
import os

import pytest

WITH_FAKE = os.environ["SOAK_FAKE"] == "1"


@pytest.fixture
def nothing():
    return None


@pytest.fixture
def server(request):
    return request.getfixturevalue("logscale_server" if WITH_FAKE else "nothing")


@pytest.mark.parametrize("n", range({TESTS}))
def test_one(server, n):
    if server is None:
        return
    answer = server.execute("{{ sessions(limit: 2) {{ results {{ id lastActivityAt }} }} }}")
    assert len(answer["data"]["sessions"]["results"]) == 2
    logout = server.execute("mutation {{ logoutOfSession }}")
    assert logout == {{"data": {{"logoutOfSession": True}}}}
"""


def start(directory: Path, with_fake: bool) -> tuple[subprocess.Popen[str], Path]:
    """Run the suite in a subprocess (both runs go side by side, under the same load)."""
    out = directory / f"soak-{int(with_fake)}.jsonl"
    env = {**os.environ, "SOAK_OUT": str(out), "SOAK_FAKE": str(int(with_fake))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *QUIET, "test_soak.py"]
    process = subprocess.Popen(
        command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return process, out


def finish(process: subprocess.Popen[str], out: Path) -> list[dict[str, int]]:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert f"{TESTS} passed" in output, output[-3000:]
    return [json.loads(line) for line in out.read_text().splitlines()]


def growth_per_thousand(samples: list[dict[str, int]]) -> float:
    """RSS growth per 1,000 tests after the first 1,000 (which warm up imports and caches)."""
    first, last = samples[0], samples[-1]
    return (last["rss"] - first["rss"]) / ((last["tests"] - first["tests"]) / 1000)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_5000_tests_through_the_fake_grow_no_more_than_pytest_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_soak=SUITE)
    runs = [start(pytester.path, with_fake) for with_fake in (False, True)]
    baseline, with_fake = (finish(*run) for run in runs)
    assert [s["tests"] for s in with_fake] == list(range(EVERY, TESTS + 1, EVERY))
    alone, fake = growth_per_thousand(baseline), growth_per_thousand(with_fake)
    report = f"pytest alone {alone / MIB:+.2f} MiB, with the fake {fake / MIB:+.2f} MiB per 1,000"
    Path(pytester.path / "soak.txt").write_text(report)
    print(report)
    assert fake <= alone + MIB, report
    for key in ("threads", "fds"):  # flat: a leak over 4,000 tests would show in thousands
        values = [s[key] for s in with_fake]
        assert max(values) <= values[0] + 2, f"{key} grow: {values}"
