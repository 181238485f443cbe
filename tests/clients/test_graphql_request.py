"""graphql-request, a Node.js GraphQL client, against the fake (issue 13's client answers).

The client is pinned in tests/clients/node/package.json and package-lock.json and
installed once per run by ``npm ci`` into tests/clients/node/node_modules (git-ignored).
Without node or npm, or when the install fails, the tests skip; with CI=true they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clients.programs import missing, require_program
from pytest_logscale import FakeLogScale
from pytest_logscale.domain.records import ALL_ACTIONS

NODE_PROJECT = Path(__file__).parent / "node"
SCRIPT = NODE_PROJECT / "graphql-request.mjs"
UNAUTHORIZED = "The supplied authentication is invalid"


def installed_version(package: str) -> str | None:
    manifest = NODE_PROJECT / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


@pytest.fixture(scope="session")
def node_project() -> Iterator[Path]:
    """tests/clients/node with its locked packages installed (``npm ci``, once, under a lock)."""
    require_program("node")
    npm = require_program("npm")
    pinned = json.loads((NODE_PROJECT / "package.json").read_text(encoding="utf-8"))
    wanted = pinned["dependencies"]
    with open(NODE_PROJECT / ".install.lock", "w") as lock:  # xdist workers install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if any(installed_version(name) != version for name, version in wanted.items()):
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=NODE_PROJECT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                missing(f"npm ci failed in {NODE_PROJECT}: {done.stderr[-500:]}")
    yield NODE_PROJECT


@pytest.fixture
def outcomes(node_project: Path, logscale_server: FakeLogScale) -> dict[str, Any]:
    """What each graphql-request call of the script answered or how it failed."""
    env = {
        **os.environ,
        "LOGSCALE_URL": logscale_server.graphql_url,
        "TOKEN": logscale_server.token,
        "MEMBER_TOKEN": logscale_server.member_token,
    }
    done = subprocess.run(
        ["node", str(SCRIPT)],
        cwd=node_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_graphql_request_sees_the_documented_sessions_defaults(
    outcomes: dict[str, Any], logscale_server: FakeLogScale
) -> None:
    defaults, explicit = outcomes["defaults"]["data"], outcomes["explicit"]["data"]
    assert defaults == explicit
    times = [row["lastActivityAt"] for row in defaults["sessions"]["results"]]
    assert times == sorted(times), "ascending by last activity"
    users = {s.user_id for s in logscale_server.sessions}
    assert len(users) > 1
    member = outcomes["memberDefaults"]
    assert member["status"] == 200
    assert "ChangeSessions" in member["errors"][0]["message"]


def test_graphql_request_reads_viewer_and_allowed_actions(outcomes: dict[str, Any]) -> None:
    data = outcomes["viewer"]["data"]
    assert data["viewer"]["username"].endswith("@company.com")
    assert data["currentUser"]["allowedOrganizationActions"] == list(ALL_ACTIONS)


def test_graphql_request_gets_plain_answers_to_what_the_fake_refuses(
    outcomes: dict[str, Any],
) -> None:
    assert outcomes["longAsText"]["status"] == 400
    assert "never text" in outcomes["longAsText"]["errors"][0]["message"]
    assert outcomes["get"]["status"] == 405
    assert "POST" in outcomes["get"]["errors"][0]["message"]
    assert outcomes["batch"]["status"] == 400
    assert "Batching is not supported" in outcomes["batch"]["errors"][0]["message"]
    assert outcomes["unauthorized"]["status"] == 401
    assert UNAUTHORIZED in outcomes["unauthorized"]["error"]
    assert outcomes["unserved"]["status"] == 400
    assert "does not implement it" in outcomes["unserved"]["errors"][0]["message"]
