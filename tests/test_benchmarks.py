"""The benchmark script runs (a smoke run; no figure is checked, as timings are machine noise)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "run.py"


def test_the_benchmark_script_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "startstop"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| case | baseline | ours | ratio | target | met |" in done.stdout
    assert "| start + stop |" in done.stdout
    assert "Python 3." in done.stdout  # the machine line


def test_an_unknown_benchmark_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "nonsense"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "invalid choice: 'nonsense'" in done.stderr
