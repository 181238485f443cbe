"""docs/control-api.md: its curl walk-through runs against ``serve`` as printed."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clients.programs import TIMEOUT, require_program
from serve_process import ServeProcess

from pytest_logscale.control import endpoints

PAGE = Path(__file__).parent.parent / "docs" / "control-api.md"
FENCE = re.compile(r"^```sh\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def shell_blocks() -> list[str]:
    """The page's ``sh`` blocks in order, but the one exporting the URL (the test sets it)."""
    blocks = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.startswith("export LOGSCALE_URL=")]


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    with ServeProcess() as server:
        yield server


def test_every_endpoint_has_a_section_with_an_example() -> None:
    text = PAGE.read_text(encoding="utf-8")
    headings = re.findall(r"^### (.*)$", text, re.MULTILINE)
    for endpoint in endpoints():
        (section,) = [h for h in headings if f"`{endpoint}`" in h]
        body = text.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
        method, path = endpoint.split(" ")
        assert path in "".join(FENCE.findall(body + "\n")), endpoint
        if method != "GET":
            assert f"-X {method} " in body, endpoint


def test_the_pytest_example_passes_with_the_fixture(pytester: pytest.Pytester) -> None:
    require_program("curl")
    (code,) = re.findall(r"^```python\n(.*?)^```\n", PAGE.read_text("utf-8"), re.S | re.M)
    pytester.makepyfile(test_example=code)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_curl_walk_through_runs_against_serve(served: ServeProcess, tmp_path: Path) -> None:
    require_program("curl")
    script = "set -euo pipefail\n" + "\n".join(shell_blocks())
    done = subprocess.run(
        [require_program("bash"), "-c", script],
        cwd=tmp_path,
        env={**os.environ, "LOGSCALE_URL": served.url},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"field": "advance"' in done.stdout
    assert re.search(r'"status": 401, .*"reason": "[^"]*not valid[^"]*"', done.stdout)
    assert '{"faults": []}' in done.stdout
    assert '{"rateLimit": null}' in done.stdout
    assert (tmp_path / "scenario.json").read_text().startswith('{"format": "pytest-logscale-state"')
