"""What installing pytest-logscale costs a pytest run that never uses its fixtures.

Usage: ``python benchmarks/installed.py [--quick] [--rounds N]``. Runs one small
test file (21 trivial tests, no fixture of ours) in whole pytest processes,
interleaved: with the plugins loaded as installed, and with
``-p no:logscale -p no:logscale_contract``. Each round runs both, in turn; the
table gives the medians and ours minus the baseline (target: under 50 ms).
A second row does the same for Faker's own pytest plugin (``-p no:faker``),
which is Faker's and loads whenever Faker is installed. docs/performance.md
explains the rows.

Times are the CPU seconds (user + system) of each pytest process, from
``getrusage``: eight engineers share this machine's two cores, and wall time
there measures the neighbours more than the plugin.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = "\n".join(f"def test_{n}():\n    assert {n} + 1 > {n}\n" for n in range(21))
OURS = ("-p", "no:logscale", "-p", "no:logscale_contract")
TARGET_MS = 50.0


def run_once(folder: Path, *extra: str) -> float:
    """CPU seconds of one whole ``pytest -q`` process over the test file."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*command, "test_plain.py"], cwd=folder, env=environment, capture_output=True, text=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0 or "21 passed" not in done.stdout:
        raise SystemExit(f"the benchmark's pytest run failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def compare(folder: Path, rounds: int, without: tuple[str, ...]) -> tuple[float, float]:
    """Median seconds with everything loaded and with ``without`` switched off, interleaved."""
    loaded: list[float] = []
    baseline: list[float] = []
    run_once(folder)  # warm the file system and the byte-code caches of both
    run_once(folder, *without)
    for _ in range(rounds):
        loaded.append(run_once(folder))
        baseline.append(run_once(folder, *without))
    return statistics.median(baseline), statistics.median(loaded)


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 0 (timings are reported, not enforced: machines are noisy)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="one round of the first row: a smoke run"
    )
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "test_plain.py").write_text(TESTS)
        cases = [
            ("pytest-logscale installed, fixtures unused", OURS, f"< {TARGET_MS:g} ms"),
            ("Faker's own pytest plugin (Faker's, -p no:faker)", ("-p", "no:faker"), "-"),
        ]
        print(f"## Installed but unused ({rounds} interleaved rounds, median CPU time)\n")
        print("| case | baseline | ours | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        for case, without, target in cases[:1] if args.quick else cases:
            base, ours = compare(folder, rounds, without)
            added = (ours - base) * 1000
            met = ("yes" if added < TARGET_MS else "no") if without is OURS else "-"
            print(
                f"| {case} | {base * 1000:.0f} ms | {ours * 1000:.0f} ms ({added:+.0f} ms) "
                f"| {ours / base:.2f}x | {target} | {met} |"
            )
    print(f"\nPython {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
