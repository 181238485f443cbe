"""``pytest-logscale serve`` as a user runs it: a subprocess, its printed lines, its signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serve_process import NAMES, ServeProcess, run_serve

import pytest_logscale
from pytest_logscale import FakeLogScale, SeedOptions

TIMEOUT = 60
ORGANIZATION_SESSIONS = (
    "{ sessions(level: Organization, onlyActiveSessions: false, limit: 0) { totalResults } }"
)
EVERY_SESSION = (
    "{ sessions(level: Organization, onlyActiveSessions: false, limit: 1000)"
    " { totalResults results { id ip user { id username } } } }"
)


def graphql(url: str, token: str, query: str) -> Any:
    response = requests.post(
        url + "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def tokens(server: ServeProcess) -> tuple[str, ...]:
    return tuple(server.values[name] for name in NAMES[1:])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other socket is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_prints_the_four_lines_in_order_while_already_serving() -> None:
    with ServeProcess() as server:
        assert [line.split("=", 1)[0] for line in server.lines] == list(NAMES)
        assert server.url.startswith("http://127.0.0.1:")
        status = requests.get(server.url + "/api/v1/status", timeout=TIMEOUT)
        assert status.json() == {"status": "OK", "version": pytest_logscale.__version__}
        for token in tokens(server):
            assert graphql(server.url, token, "{ currentUser { id } }")["data"]["currentUser"]
        assert server.stop() == 0


def test_the_printed_tokens_are_the_owner_admin_and_member_of_the_first_organization() -> None:
    with ServeProcess() as server:
        roles = [
            graphql(
                server.url, token, "{ organization { isActionAllowed(action: ChangeSessions) } }"
            )
            for token in tokens(server)
        ]
        owner = graphql(
            server.url, server.values["LOGSCALE_TOKEN"], "{ currentUser { isOrgRoot } }"
        )
        assert server.stop() == 0
    allowed = [r["data"]["organization"]["isActionAllowed"] for r in roles]
    assert allowed == [True, True, False]
    assert owner == {"data": {"currentUser": {"isOrgRoot": True}}}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_exits_0_on_a_signal_and_frees_its_port(sig: signal.Signals) -> None:
    port = free_port()
    with ServeProcess("--port", str(port)) as server:
        assert server.stop(sig) == 0
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_host_and_port_are_honoured() -> None:
    port = free_port()
    with ServeProcess("--host", "127.0.0.1", "--port", str(port)) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert requests.get(server.url + "/api/v1/status", timeout=TIMEOUT).status_code == 200
        assert server.stop() == 0


def test_an_ipv6_host_is_served_in_brackets() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with ServeProcess("--host", "::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert requests.get(server.url + "/api/v1/status", timeout=TIMEOUT).status_code == 200
        assert server.stop() == 0


def test_the_same_seed_gives_the_same_tokens_and_another_seed_other_tokens() -> None:
    with ServeProcess("--seed", "7") as first, ServeProcess("--seed", "7") as second:
        with ServeProcess("--seed", "1") as other:
            assert tokens(first) == tokens(second)
            assert first.url != second.url
            assert set(tokens(first)).isdisjoint(tokens(other))
            assert other.stop() == 0
        assert first.stop() == second.stop() == 0


def test_seeding_options_are_honoured() -> None:
    options = SeedOptions(seed=3, organizations=2, users=5, sessions=9)
    expected = FakeLogScale(options)  # never started: only its seeded tokens are read
    args = ("--seed", "3", "--organizations", "2", "--users", "5", "--sessions", "9")
    with ServeProcess(*args) as server:
        owner = server.values["LOGSCALE_TOKEN"]
        total = graphql(server.url, owner, ORGANIZATION_SESSIONS)
        assert server.stop() == 0
    assert tokens(server) == (expected.token, expected.admin_token, expected.member_token)
    assert total == {"data": {"sessions": {"totalResults": 9}}}


@pytest.mark.parametrize(
    ("option", "value"),
    [("--organizations", "1"), ("--users", "6"), ("--sessions", "10")],
)
def test_each_seeding_option_changes_what_is_served(option: str, value: str) -> None:
    base = ["--seed", "3", "--organizations", "2", "--users", "5", "--sessions", "9"]
    changed = list(base)
    changed[changed.index(option) + 1] = value
    with ServeProcess(*base) as before, ServeProcess(*changed) as after:
        listings = [
            graphql(s.url, s.values["LOGSCALE_TOKEN"], EVERY_SESSION) for s in (before, after)
        ]
        assert before.stop() == after.stop() == 0
    assert (tokens(before), listings[0]) != (tokens(after), listings[1])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--users", "1"], ("users", "between 3")),
        (["--sessions", "0"], ("sessions", "between 3")),
        (["--organizations", "0"], ("organizations", "between 1")),
        (["--seed", "-1"], ("seed",)),
        (["--seed", "abc"], ("--seed", "invalid int")),
        (["--port", "70000"], ("port",)),
        (["--host", "no-such-host.invalid"], ("no-such-host.invalid",)),
        (["--bogus"], ("unrecognized arguments", "--bogus")),
    ],
)
def test_bad_options_exit_non_zero_with_a_clear_message_and_no_traceback(
    args: list[str], words: tuple[str, ...]
) -> None:
    done = run_serve(args)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_a_port_in_use_exits_non_zero_saying_so(busy_port: int) -> None:
    done = run_serve(["--port", str(busy_port)])
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"127.0.0.1:{busy_port}" in done.stderr
    assert "in use" in done.stderr


def test_version_prints_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_logscale", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"pytest-logscale {pytest_logscale.__version__}"


def test_the_console_script_runs_the_same_command() -> None:
    script = Path(sys.executable).with_name("pytest-logscale")
    if not script.exists():
        pytest.skip("the package is not installed with its console script here")
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0
    assert pytest_logscale.__version__ in done.stdout


def test_no_command_exits_non_zero_with_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_logscale"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert "usage:" in done.stderr
    assert "Traceback" not in done.stderr
