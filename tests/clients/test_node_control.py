"""The Node.js suite in tests/clients/node, run by node's own test runner against ``serve``.

It steers the fake through the control API only (docs/control-api.md), as a
test suite in any language would. Without node the test skips, or fails with CI=true.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import ServeProcess

from clients.programs import TIMEOUT, require_program

SUITE = Path(__file__).parent / "node" / "control.test.mjs"


def node_test(served: ServeProcess, suite: Path) -> subprocess.CompletedProcess[str]:
    """``node --test`` on one file, with the URL and the owner's token serve printed."""
    env = {"LOGSCALE_URL": served.url, "LOGSCALE_TOKEN": served.values["LOGSCALE_TOKEN"]}
    return subprocess.run(
        [require_program("node"), "--test", "--test-reporter=tap", str(suite)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    with ServeProcess() as server:
        yield server


def test_the_node_suite_passes_against_serve(served: ServeProcess) -> None:
    done = node_test(served, SUITE)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = dict(re.findall(r"^# (pass|fail|tests) (\d+)$", done.stdout, re.MULTILINE))
    tests = len(re.findall(r"^test\(", SUITE.read_text(encoding="utf-8"), re.MULTILINE))
    assert tests >= 7
    assert counts == {"tests": str(tests), "pass": str(tests), "fail": "0"}, done.stdout


def test_a_failing_node_test_fails_the_run(served: ServeProcess, tmp_path: Path) -> None:
    failing = tmp_path / "failing.test.mjs"
    failing.write_text(
        SUITE.read_text(encoding="utf-8")
        + "\ntest('the fake has no such endpoint', async () => { await control('GET', '/x'); });\n",
        encoding="utf-8",
    )
    done = node_test(served, failing)
    assert done.returncode == 1, done.stdout
    assert re.search(r"^not ok \d+ - the fake has no such endpoint$", done.stdout, re.MULTILINE)


def test_the_clients_guide_shows_the_suite_as_it_is() -> None:
    guide = (Path(__file__).parent.parent.parent / "docs" / "clients.md").read_text("utf-8")
    section = guide.split("## Node.js: a test suite with the control API\n", 1)[1]
    shown = re.findall(r"^```js\n(.*?)^```\n", section, re.DOTALL | re.MULTILINE)
    assert len(shown) >= 3
    suite = SUITE.read_text(encoding="utf-8")
    for block in shown:
        assert block in suite, block
