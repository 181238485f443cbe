"""The clock anchor: the fake's clock starts where the user says, with the data seeded around it.

Through the marker, ``--logscale-clock``, the ``logscale_clock`` ini setting, the
factory, ``serve --clock`` and ``serve --wall-clock``; and seeding progress,
which large seeds show in the terminal and on serve's stderr.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest
import requests
from serve_process import SERVE, ServeProcess, read_lines, run_serve

from pytest_logscale import FakeLogScale, SeedOptions

FAST = ("-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:logscale_contract")
ANCHOR = "2026-12-02T09:00:00Z"
ANCHOR_MS = 1_796_202_000_000

OWN = "{ sessions { results { isCurrentSession createdAt lastActivityAt } } }"

REPORT = '''
import json


def test_report(logscale_server):
    answer = logscale_server.execute("""QUERY""")
    print("ANCHORED " + json.dumps({
        "now": logscale_server.clock.now_ms(),
        "start": logscale_server.store.dataset.start_ms,
        "sessions": answer["data"]["sessions"]["results"],
    }))
'''.replace("QUERY", OWN)


def _reported(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    result = pytester.runpytest(*FAST, "-s", *args)
    result.assert_outcomes(passed=1)
    [line] = [line for line in result.outlines if "ANCHORED " in line]
    found: dict[str, Any] = json.loads(line[line.index("ANCHORED ") + 9 :])
    return found


def test_the_default_clock_is_an_instant_fixed_by_the_seed() -> None:
    assert FakeLogScale().clock.now_ms() == FakeLogScale().clock.now_ms() < ANCHOR_MS
    assert FakeLogScale(SeedOptions(seed=2)).clock.now_ms() != FakeLogScale().clock.now_ms()


@pytest.mark.parametrize(
    "how",
    ["marker", "option", "ini"],
)
def test_the_clock_starts_at_the_anchor_with_sessions_seeded_around_it(
    pytester: pytest.Pytester, how: str
) -> None:
    args: tuple[str, ...] = ()
    source = REPORT
    if how == "marker":
        source = "import pytest\n" + REPORT.replace(
            "def test_report", f"@pytest.mark.logscale(clock={ANCHOR!r})\ndef test_report"
        )
    elif how == "option":
        args = (f"--logscale-clock={ANCHOR_MS}",)
    else:
        pytester.makeini(f"[pytest]\nlogscale_clock = {ANCHOR}\n")
    pytester.makepyfile(source)
    got = _reported(pytester, *args)
    assert got["now"] == got["start"] == ANCHOR_MS
    # the owner's seeded session is current at the anchor: used minutes ago, opened hours ago
    current = [s for s in got["sessions"] if s["isCurrentSession"]]
    assert [s["lastActivityAt"] for s in current] == [ANCHOR_MS]
    assert all(ANCHOR_MS - 10 * 3600_000 < s["createdAt"] <= ANCHOR_MS for s in current)


def test_a_tool_using_its_own_clock_sees_active_sessions_as_recent(
    logscale_server_factory: Any,
) -> None:
    now = time.time_ns() // 1_000_000
    fake = logscale_server_factory(clock=now)
    answer = fake.execute(
        "{ sessions(onlyActiveSessions: true, level: Organization) { results { lastActivityAt } } }"
    )
    idle = [now - s["lastActivityAt"] for s in answer["data"]["sessions"]["results"]]
    assert idle and max(idle) <= 10 * 3600_000  # within maxInactivityPeriod of the tool's now


def test_the_same_seed_and_another_anchor_serve_the_same_sessions_shifted(
    logscale_server_factory: Any,
) -> None:
    query = (
        "{ sessions(level: Organization, onlyActiveSessions: false, limit: 100) "
        "{ results { id ip createdAt lastActivityAt } } }"
    )
    plain = logscale_server_factory()
    anchored = logscale_server_factory(clock=ANCHOR)
    shift = ANCHOR_MS - plain.clock.now_ms()
    first = plain.execute(query)["data"]["sessions"]["results"]
    second = anchored.execute(query, token=anchored.token)["data"]["sessions"]["results"]
    moved = [
        {**s, "createdAt": s["createdAt"] + shift, "lastActivityAt": s["lastActivityAt"] + shift}
        for s in first
    ]
    assert [s["id"] for s in first] == [s["id"] for s in second]
    assert moved == second


def test_reset_goes_back_to_the_anchor(logscale_server_factory: Any) -> None:
    fake = logscale_server_factory(clock=ANCHOR)
    fake.clock.advance(hours=3)
    fake.reset()
    assert fake.clock.now_ms() == ANCHOR_MS


def own_sessions(server: ServeProcess) -> list[dict[str, Any]]:
    """The owner's sessions as ``serve`` lists them, over HTTP with requests."""
    answer = requests.post(
        server.url + "/graphql",
        json={"query": OWN},
        headers={"Authorization": f"Bearer {server.values['LOGSCALE_TOKEN']}"},
        timeout=30,
    ).json()
    found: list[dict[str, Any]] = answer["data"]["sessions"]["results"]
    return found


def test_serve_clock_anchors_the_served_data() -> None:
    with ServeProcess("--clock", ANCHOR) as server:
        sessions = own_sessions(server)
        assert server.stop() == 0
    [current] = [s for s in sessions if s["isCurrentSession"]]
    assert current["lastActivityAt"] == ANCHOR_MS


def test_serve_wall_clock_seeds_relative_to_now() -> None:
    before = time.time_ns() // 1_000_000
    with ServeProcess("--wall-clock") as server:
        sessions = own_sessions(server)
        after = time.time_ns() // 1_000_000
        assert server.stop() == 0
    [current] = [s for s in sessions if s["isCurrentSession"]]
    assert before <= current["lastActivityAt"] <= after
    assert all(s["createdAt"] <= after for s in sessions)


TEN_HOURS_MS = 10 * 3_600_000


def real_now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_a_wall_clock_reset_seeds_relative_to_now_again() -> None:
    fake = FakeLogScale(wall_clock=True)
    tokens = [s.token for s in fake.sessions]
    # a fake whose data and clock were placed ten hours ago (a server up for ten hours)
    fake.reseed(fake.seed_options.replace(clock=real_now_ms() - TEN_HOURS_MS))
    fake.clock.advance(hours=1)
    before = real_now_ms()
    fake.reset()
    after = real_now_ms()
    assert before <= fake.clock.start_ms <= after
    assert before <= fake.clock.now_ms() <= after + 60_000
    assert fake.store.dataset.start_ms == fake.seed_options.anchor == fake.clock.start_ms
    assert [s.token for s in fake.sessions] == tokens  # the printed tokens stay good
    with fake:
        answer = fake.execute(OWN)
    [current] = [s for s in answer["data"]["sessions"]["results"] if s["isCurrentSession"]]
    assert before <= current["lastActivityAt"] <= real_now_ms()  # the request's own instant


def test_a_wall_clock_reseed_keeping_the_anchor_seeds_relative_to_now() -> None:
    fake = FakeLogScale(wall_clock=True)
    fake.reseed(fake.seed_options.replace(clock=real_now_ms() - TEN_HOURS_MS))
    before = real_now_ms()
    fake.reseed(fake.seed_options.replace(sessions=30))  # POST /_fake/reset {"sessions": 30}
    assert before <= fake.clock.start_ms <= real_now_ms()
    assert fake.seed_options.sessions == 30


def test_a_wall_clock_with_an_anchor_resets_to_the_anchor() -> None:
    fake = FakeLogScale(SeedOptions(clock=ANCHOR), wall_clock=True)
    fake.clock.advance(hours=1)
    fake.reset()
    assert fake.store.dataset.start_ms == fake.clock.start_ms == ANCHOR_MS
    assert ANCHOR_MS <= fake.clock.now_ms() < ANCHOR_MS + 60_000


def test_serve_wall_clock_reset_puts_the_data_at_now() -> None:
    with ServeProcess("--wall-clock") as server:
        control = server.url + "/_fake"
        requests.post(
            control + "/clock", json={"advance": 3_600_000}, timeout=30
        ).raise_for_status()
        before = real_now_ms()
        requests.post(control + "/reset", timeout=30).raise_for_status()
        after = real_now_ms()
        now = requests.get(control + "/clock", timeout=30).json()["epochMs"]
        sessions = own_sessions(server)
        assert server.stop() == 0
    assert before <= now <= real_now_ms()
    [current] = [s for s in sessions if s["isCurrentSession"]]
    assert before <= current["lastActivityAt"] <= real_now_ms()
    assert all(s["createdAt"] <= after for s in sessions)


def test_a_state_file_keeps_the_anchor(tmp_path: Any) -> None:
    fake = FakeLogScale(SeedOptions(clock=ANCHOR))
    path = tmp_path / "state.json"
    fake.dump_state(path)
    assert json.loads(path.read_text())["seeding"]["clock"] == "2026-12-02T09:00:00.000Z"
    again = FakeLogScale()
    again.load_state(path)
    assert again.seed_options == fake.seed_options
    assert again.store.dataset.start_ms == ANCHOR_MS


# -- bounds and progress ------------------------------------------------------------------------


def test_a_state_file_larger_than_the_bound_is_refused_before_reading(tmp_path: Any) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(FakeLogScale().dump_state()) + " " * 5000)
    fake = FakeLogScale(SeedOptions(max_state_bytes=4096))
    with pytest.raises(ValueError, match="larger than max_state_bytes 4096; raise it with"):
        fake.load_state(path)
    done = run_serve(["--state", str(path), "--max-state-bytes", "4096"])
    assert done.returncode == 2
    assert "larger than max_state_bytes 4096" in done.stderr


def test_a_state_file_seeding_beyond_the_bounds_is_refused(tmp_path: Any) -> None:
    state = FakeLogScale().dump_state()
    state["seeding"].update(organizations=10, sessions=200_000)
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(state))
    done = run_serve(["--state", str(path)])
    assert done.returncode == 2
    assert "organizations x sessions = 2000000 is more than max_sessions 1000000" in done.stderr


def test_the_fixture_shows_seeding_progress_in_the_terminal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_logscale.fake.SHOW_PROGRESS_FROM", 2000)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.logscale(seed=99, organizations=2, sessions=1500)
        def test_big(logscale_server):
            assert len(logscale_server.sessions) == 3000
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*pytest-logscale: seeded 3,000 of 3,000 sessions*"])


def test_serve_prints_seeding_progress_to_stderr_for_a_large_seed() -> None:
    process = subprocess.Popen(
        [*SERVE, "--sessions", "200000", "--users", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = read_lines(process, 4)
        assert lines[0].startswith("LOGSCALE_URL=")
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=60)
    progress = [line for line in err.decode().splitlines() if "seeded" in line]
    assert progress[-1] == "pytest-logscale: seeded 200,000 of 200,000 sessions"
    assert len(progress) >= 3
