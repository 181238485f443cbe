"""``pytest-logscale serve`` as a user runs it: a subprocess, its printed lines, its signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from serve_process import NAMES, SERVE, ServeProcess, read_lines, run_serve

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
    # more organizations need not change the first one's: test_sizes_are_honoured covers them
    [("--users", "6"), ("--sessions", "10")],
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
        (["--users", "1"], ("users", "from 3 to")),
        (["--sessions", "0"], ("sessions", "from 3 to")),
        (["--organizations", "0"], ("organizations", "from 1 to")),
        (["--seed", "-1"], ("seed",)),
        (["--seed", "abc"], ("--seed", "must be a whole number, not 'abc'")),
        (["--clock", "tomorrow"], ("--clock", "epoch milliseconds or an ISO-8601 instant")),
        (["--clock", "2026-12-02T09:00:00"], ("--clock", "has no time zone")),
        (
            ["--organizations", "20", "--sessions", "100000"],
            (
                "organizations x sessions = 2000000 is more than max_sessions 1000000",
                "--max-sessions",
            ),
        ),
        (["--max-sessions", "0"], ("--max-sessions", "of at least 1, not 0")),
        (["--idle-timeout", "9999999999"], ("--idle-timeout", "from 1 to 86400")),
        (["--max-head-bytes", "99999999999999999999"], ("--max-head-bytes", "from 1 to 16777216")),
        (["--max-headers", "10001"], ("--max-headers", "from 1 to 10000")),
        (["--max-connections", "65537"], ("--max-connections", "from 1 to 65536")),
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


# -- state files, the users table and the wall clock ------------------------------------

STATE_QUERY = (
    "{ sessions(level: Organization, onlyActiveSessions: false, limit: 1000)"
    " { totalResults results { id lastActivityAt isCurrentSession } }"
    " organization { configs { session { maxInactivityPeriod forceReauthenticationAfter } } } }"
)
REVOKE_USER = "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: User}) }"
SETTINGS_MUTATION = (
    "mutation { updateSessionSettings(input: {maxInactivityPeriod: 3600000,"
    " forceReauthenticationAfter: 17280000000}) { id } }"
)


def post(url: str, token: str, query: str) -> requests.Response:
    return requests.post(
        url + "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def arranged_state(path: Path) -> dict[str, str]:
    """Write a state file where the owner revoked all their sessions and logged in again.

    Returns the tokens involved.
    """
    with FakeLogScale(SeedOptions(seed=4)) as fake:
        seeded_owner = fake.token
        assert fake.execute(REVOKE_USER, {"id": fake.owner().id})["data"] == {"revokeSession": True}
        fresh = fake.login(fake.owner(), city="Lyon", country="France")
        api = fake.api_token(fake.member())
        fake.clock.advance(minutes=5)
        fake.dump_state(path)
        return {"seeded_owner": seeded_owner, "fresh": fresh.token, "api": api}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_dump_state_on_a_signal_writes_a_state_the_fixture_replays(
    sig: signal.Signals, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    with ServeProcess("--seed", "3", "--dump-state", str(path)) as server:
        owner, _admin, member = tokens(server)
        assert post(server.url, member, "mutation { logoutOfSession }").status_code == 200
        assert post(server.url, owner, SETTINGS_MUTATION).status_code == 200
        served = graphql(server.url, owner, STATE_QUERY)
        assert not path.exists()
        assert server.stop(sig) == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["seeding"]["seed"] == 3
    with FakeLogScale() as replay:
        replay.load_state(path)
        assert replay.post('{"query": "{ currentUser { id } }"}', token=member)[0] == 401
        assert replay.execute(STATE_QUERY, token=owner) == served


def test_serve_starts_from_a_state_file_and_prints_live_tokens(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    made = arranged_state(path)
    with FakeLogScale() as expected:
        expected.load_state(path)
        with ServeProcess("--state", str(path)) as server:
            assert server.values["LOGSCALE_TOKEN"] == made["fresh"]
            assert (
                post(server.url, made["seeded_owner"], "{ currentUser { id } }").status_code == 401
            )
            assert graphql(server.url, made["api"], "{ currentUser { id } }")["data"]
            for token in (made["fresh"], made["api"]):
                assert graphql(server.url, token, STATE_QUERY) == expected.execute(
                    STATE_QUERY, token=token
                )
            assert server.stop() == 0


def test_state_and_dump_state_may_be_one_file_and_an_idle_run_keeps_it_byte_for_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    arranged_state(path)
    before = path.read_bytes()
    with ServeProcess("--state", str(path), "--dump-state", str(path)) as server:
        assert server.stop() == 0
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "not JSON: Expecting property name"),
        ("[" * 100_000 + "]" * 100_000, "not JSON: nested too deeply"),
        ('{"format": "pytest-logscale-state", "version": 7}', "version 7 is not supported"),
        ('{"format": "pytest-logscale-state", "version": 1, "extra": 1}', "unknown key 'extra'"),
        ('["pytest-logscale-state"]', "must be a JSON object, not an array"),
        (
            '{"format": "pytest-logscale-state", "version": 1, "changedSessions": [{"id": "x"}]}',
            "changedSessions[0].id: no seeded session has id 'x'",
        ),
        (
            '{"format": "pytest-logscale-state", "version": 1, "seeding": {"users": 2}}',
            "seeding: users must be a whole number from 3 to",
        ),
    ],
    # short ids: pytest 7.4 puts the whole id in PYTEST_CURRENT_TEST, and a 200 kB variable
    # makes starting the serve process fail (Argument list too long)
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_a_bad_state_file_exits_2_with_one_line_naming_the_file(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = run_serve(["--state", str(path)])
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"pytest-logscale: state file {str(path)!r}: "), done.stderr
    assert problem in done.stderr
    assert done.stderr.count("\n") == 1


def test_state_with_seeding_options_exits_2_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    arranged_state(path)
    done = run_serve(["--state", str(path), "--seed", "4", "--users", "5"])
    assert done.returncode == 2
    assert "--state takes the seeding options from the file; leave out --seed, --users" in (
        done.stderr
    )


@pytest.mark.parametrize("where", ["missing/state.json", "."])
def test_a_dump_state_path_that_cannot_be_written_exits_2_before_serving(
    tmp_path: Path, where: str
) -> None:
    target = tmp_path / where
    done = run_serve(["--dump-state", str(target)])
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"--dump-state {str(target)!r}: " in done.stderr
    assert "Traceback" not in done.stderr


def test_a_dump_that_fails_at_exit_exits_1_saying_why(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    path = folder / "state.json"
    with bare_serve("--dump-state", str(path)) as process:
        read_lines(process, len(NAMES))
        folder.rmdir()
        _out, err = finish(process)
    assert process.returncode == 1
    assert err.decode().startswith(f"pytest-logscale: state file {str(path)!r}: cannot write: ")
    assert "Traceback" not in err.decode()


@contextmanager
def bare_serve(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Serve as a bare subprocess, for tests that read all it prints; killed if left running."""
    process = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def finish(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """SIGTERM, then what the process printed after what was already read."""
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=TIMEOUT)


def served_table(args: Sequence[str], rows: int) -> tuple[dict[str, str], list[list[str]]]:
    """Serve with --print-users: the LOGSCALE_* values, and the table's rows split in words.

    Every token in the table is checked to authenticate the user the row names.
    """
    with bare_serve("--print-users", *args) as process:
        lines = read_lines(process, len(NAMES) + 2 + rows)
        values = dict(line.split("=", 1) for line in lines[: len(NAMES)])
        assert lines[len(NAMES)] == ""
        table = [line.split() for line in lines[len(NAMES) + 1 :]]
        for row in table[1:]:
            if row[-1] != "-":
                answer = graphql(values["LOGSCALE_URL"], row[-1], "{ currentUser { id } }")
                assert answer["data"]["currentUser"]["id"] == row[-3], row
        out, _err = finish(process)
    assert process.returncode == 0
    assert out == b""  # the table was complete: nothing came after it
    return values, table


def test_print_users_lists_every_user_with_role_and_a_working_token() -> None:
    fake = FakeLogScale(SeedOptions(organizations=2, users=4))
    values, table = served_table(["--organizations", "2", "--users", "4"], len(fake.users))
    assert table[0] == ["ORGANIZATION", "ROLE", "USERNAME", "USER", "ID", "KIND", "TOKEN"]
    expected = [
        [*fake.store.organization(u.organization_id).name.split(), u.role.value, u.username, u.id]
        for u in fake.users
    ]
    assert [row[:-2] for row in table[1:]] == expected
    assert {row[-2] for row in table[1:]} == {"session"}
    first_org = {row[-5]: row[-1] for row in reversed(table[1:5])}
    assert (first_org["owner"], first_org["admin"]) == (
        values["LOGSCALE_TOKEN"],
        values["LOGSCALE_ADMIN_TOKEN"],
    )


def test_print_users_shows_api_tokens_and_users_without_a_live_session(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with FakeLogScale(SeedOptions(users=3)) as fake:
        api = fake.api_token(fake.member())
        assert fake.execute(REVOKE_USER, {"id": fake.member().id})["data"]
        fake.dump_state(path)
    _values, table = served_table(["--state", str(path)], 3 + 1)
    member_rows = [row for row in table[1:] if row[-5] == "member"]
    assert [row[-2:] for row in member_rows] == [["-", "-"], ["api", api]]


def test_without_print_users_nothing_follows_the_four_lines() -> None:
    with bare_serve() as process:
        read_lines(process, len(NAMES))
        out, _err = finish(process)
    assert out == b""


def owner_activity(url: str, token: str) -> int:
    """The instant the fake stamps on the owner's session for this very request."""
    answer = graphql(url, token, "{ sessions { results { isCurrentSession lastActivityAt } } }")
    [current] = [s for s in answer["data"]["sessions"]["results"] if s["isCurrentSession"]]
    instant: int = current["lastActivityAt"]
    return instant


def test_the_served_clock_stands_still_by_default() -> None:
    start = FakeLogScale().store.dataset.start_ms
    with ServeProcess() as server:
        stamps = [owner_activity(server.url, server.values["LOGSCALE_TOKEN"]) for _ in range(3)]
        assert server.stop() == 0
    assert stamps == [start] * 3


def test_wall_clock_runs_on_real_time_from_now() -> None:
    began = time.time_ns() // 1_000_000
    with ServeProcess("--wall-clock") as server:
        first = owner_activity(server.url, server.values["LOGSCALE_TOKEN"])
        second = owner_activity(server.url, server.values["LOGSCALE_TOKEN"])
        ended = time.time_ns() // 1_000_000
        assert server.stop() == 0
    # seeded relative to the instant serve started, and running on from there
    assert began <= first <= second <= ended


def test_wall_clock_runs_on_from_a_state_files_instant(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    arranged_state(path)
    now = FakeLogScale()
    now.load_state(path)
    instant = now.clock.now_ms()
    began = time.monotonic()
    with ServeProcess("--wall-clock", "--state", str(path)) as server:
        first = owner_activity(server.url, server.values["LOGSCALE_TOKEN"])
        elapsed = round((time.monotonic() - began) * 1000)
        assert server.stop() == 0
    assert instant < first <= instant + elapsed + 1


def test_serve_help_states_each_server_options_upper_bound() -> None:
    done = subprocess.run([*SERVE, "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(done.stdout.split())
    for option, high in (
        ("--max-connections", "65536"),
        ("--max-head-bytes", "16777216"),
        ("--max-headers", "10000"),
        ("--idle-timeout", "86400"),
    ):
        section = text.rsplit(option + " N", 1)[1].split(" --", 1)[0]
        assert f"at most {high})" in section, section
