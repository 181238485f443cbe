"""The benchmark script runs (a smoke run; no figure is checked, as timings are machine noise)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "run.py"


def run_script(*arguments: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=timeout
    )


def per_test_module() -> Any:
    """benchmarks/per_test.py, imported (its baselines must be installed, or the test skips)."""
    for baseline in ("respx", "responses", "pytest_httpserver"):
        pytest.importorskip(baseline)
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import per_test
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return per_test


def test_the_benchmark_script_prints_its_table() -> None:
    done = run_script("--quick", "startstop", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| case | baseline | ours | ratio | target | met |" in done.stdout
    assert "| start + stop |" in done.stdout
    assert "Python 3." in done.stdout  # the machine line


def test_an_unknown_benchmark_is_refused() -> None:
    done = run_script("nonsense", timeout=60)
    assert done.returncode == 2
    assert "invalid choice: 'nonsense'" in done.stderr


def test_the_query_benchmark_reports_fresh_and_kept_filters() -> None:
    done = run_script("--quick", "query")
    assert done.returncode == 0, done.stderr
    assert "seeded: new search text, clock moved (filters computed afresh;" in done.stdout
    assert "after 50 logins and 200 revocations: filtered, sorted by IP, limit 50 |" in done.stdout


def test_the_throughput_benchmark_prints_both_loads_against_both_baselines() -> None:
    done = run_script("--quick", "throughput")
    assert done.returncode == 0, done.stderr
    for load in ("sessions(limit: 50), all fields", "a mix of 40 requests"):
        assert f"| {load}" in done.stdout
    assert done.stdout.count("computed vs canned on Werkzeug's make_server") == 2
    assert done.stdout.count("computed vs canned on our ThreadedServer") == 2
    assert done.stdout.count("CPU per request (this process: client and server)") == 4


def test_every_per_test_suite_passes_as_written(tmp_path: Path) -> None:
    # the whole-process per-test benchmark times suites it writes; they must pass to count
    per_test = per_test_module()
    output = per_test.check(tmp_path)
    assert output.count("2 passed in") == len(per_test.KINDS) == len(per_test._BODIES)


def test_every_per_test_body_runs_in_one_process_with_its_fixture_steps() -> None:
    # the one-process rows call the same test functions with fixtures made by hand: each must
    # pass as written (a test's failed assert, or a fixture wired wrong, raises here)
    per_test = per_test_module()
    costs = per_test.body_costs(list(per_test.KINDS), rounds=1, calls=2)
    assert set(costs) == set(per_test.KINDS)
    assert all(len(seconds) == 1 and seconds[0] > 0 for seconds in costs.values())
