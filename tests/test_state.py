"""State files through the fixture's handle: dump, load, replay, and every way a file is wrong."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_logscale import Clock, FakeLogScale, Fault, SeedOptions, StateError
from pytest_logscale.harness.statefile import format_instant

EVERYTHING = """{
  sessions(level: Organization, onlyActiveSessions: false, limit: 1000, sortBy: LastActivityTime) {
    totalResults
    results { id ip city country clientInfo createdAt lastActivityAt isCurrentSession user { id } }
  }
  active: sessions(level: Organization, limit: 1000) { totalResults results { id } }
  organization { id configs { session { maxInactivityPeriod forceReauthenticationAfter } } }
}"""
MINE = (
    "{ sessions(level: User, orderBy: DESC, onlyActiveSessions: false) "
    "{ results { id isCurrentSession } } currentUser { id } }"
)
REVOKE = """mutation($id: String!, $type: SessionRevocation__Type!) {
  revokeSession(input: {id: $id, revocationType: $type})
}"""
SETTINGS = """mutation($idle: Long!, $age: Long!) {
  updateSessionSettings(
    input: {maxInactivityPeriod: $idle, forceReauthenticationAfter: $age}
  ) { id }
}"""


def arrange(fake: FakeLogScale) -> dict[str, str]:
    """A scenario touching every part of a state; returns the tokens it made or used."""
    member, admin = fake.member(), fake.admin()
    fresh = fake.login(member, ip="2001:db8::7", city="Oslo", country="Norway")
    api = fake.api_token(admin)
    fake.clock.advance(hours=1)
    assert fake.execute(MINE, token=fresh.token)["data"]
    spared = {fresh.token, fake.member_token}
    victim = next(s for s in fake.sessions if s.user_id == member.id and s.token not in spared)
    assert fake.execute(REVOKE, {"id": victim.id, "type": "Session"}, token=api)["data"]
    fake.execute("mutation { logoutOfSession }", token=fake.member_token)
    assert fake.execute(SETTINGS, {"idle": 7_200_000, "age": 86_400_000})["data"]
    fake.clock.advance(minutes=30)
    return {"fresh": fresh.token, "api": api, "owner": fake.token, "member": fake.member_token}


def answers(fake: FakeLogScale, tokens: dict[str, str]) -> list[tuple[int, Any]]:
    """What the fake answers to the same requests made with each token (activity included)."""
    found = []
    for token in tokens.values():
        found.append(fake.post(json.dumps({"query": MINE}), token=token))
        found.append(fake.post(json.dumps({"query": EVERYTHING}), token=token))
    return found


@pytest.fixture
def fresh_fake() -> Iterator[FakeLogScale]:
    """A second, independent fake with default options, started."""
    with FakeLogScale() as fake:
        yield fake


@pytest.fixture
def scenario(logscale_server: FakeLogScale) -> dict[str, Any]:
    """A dumped state with every kind of change in it (seed 5, two organizations)."""
    logscale_server.reseed(SeedOptions(seed=5, organizations=2))
    arrange(logscale_server)
    return logscale_server.dump_state()


# -- round trip -----------------------------------------------------------------------


def test_dump_then_load_into_a_fresh_fake_then_dump_gives_the_same_json(
    logscale_server: FakeLogScale, fresh_fake: FakeLogScale
) -> None:
    logscale_server.reseed(SeedOptions(seed=5, organizations=2))
    arrange(logscale_server)
    first = logscale_server.dump_state()
    fresh_fake.load_state(json.loads(json.dumps(first)))
    assert fresh_fake.dump_state() == first
    assert fresh_fake.seed_options == SeedOptions(seed=5, organizations=2)


def test_a_loaded_state_answers_every_query_as_the_original_does(
    logscale_server: FakeLogScale, fresh_fake: FakeLogScale
) -> None:
    logscale_server.reseed(SeedOptions(seed=5, organizations=2))
    tokens = arrange(logscale_server)
    fresh_fake.load_state(logscale_server.dump_state())
    original = answers(logscale_server, tokens)
    assert answers(fresh_fake, tokens) == original
    assert [status for status, _ in original] == [200] * 6 + [401] * 2
    # and they go on alike: activity and the clock moved the same way in both
    assert fresh_fake.dump_state() == logscale_server.dump_state()


def test_the_dump_holds_what_changed_in_readable_form(scenario: dict[str, Any]) -> None:
    assert scenario["format"] == "pytest-logscale-state"
    assert scenario["version"] == 1
    seeding = {k: v for k, v in scenario["seeding"].items() if k != "instance"}  # the server's
    assert seeding == {"seed": 5, "organizations": 2, "users": 12, "sessions": 60}
    assert list(scenario["settings"].values()) == [
        {"maxInactivityPeriod": 7_200_000, "forceReauthenticationAfter": 86_400_000}
    ]
    endings = sorted(s.get("ended", "") for s in scenario["changedSessions"])
    assert endings[-2:] == ["logged_out", "revoked"]
    [new] = scenario["newSessions"]
    assert (new["ip"], new["city"], new["country"], new["ended"]) == (
        "2001:db8::7",
        "Oslo",
        "Norway",
        None,
    )
    assert new["createdAt"].endswith(".000Z")
    assert len(scenario["apiTokens"]) == 1
    assert scenario["serial"] == 2


def test_a_fresh_fake_dumps_no_changes_and_the_clock_at_the_seeded_instant(
    fresh_fake: FakeLogScale,
) -> None:
    start = fresh_fake.store.dataset.start_ms
    instance = fresh_fake.seed_options.instance  # a second fake of these options has its own
    assert fresh_fake.dump_state() == {
        "format": "pytest-logscale-state",
        "version": 1,
        "seeding": {"seed": 1, "organizations": 1, "users": 12, "sessions": 60}
        | ({"instance": instance} if instance else {}),
        "now": format_instant(start),
        "settings": {},
        "changedSessions": [],
        "newSessions": [],
        "apiTokens": [],
        "serial": 0,
    }


def test_only_format_and_version_are_required(fresh_fake: FakeLogScale) -> None:
    fresh_fake.login(fresh_fake.owner())
    fresh_fake.clock.advance(days=3)
    expected = FakeLogScale().dump_state()
    expected["seeding"].pop("instance", None)  # a file without one gives the first's tokens
    fresh_fake.load_state({"format": "pytest-logscale-state", "version": 1})
    assert fresh_fake.dump_state() == expected


def test_the_serial_defaults_to_the_number_of_sessions_and_tokens_made(
    scenario: dict[str, Any], fresh_fake: FakeLogScale
) -> None:
    del scenario["serial"]
    fresh_fake.load_state(scenario)
    assert fresh_fake.dump_state()["serial"] == 2


def test_sessions_and_tokens_made_after_a_load_get_new_ids(
    scenario: dict[str, Any], fresh_fake: FakeLogScale
) -> None:
    fresh_fake.load_state(scenario)
    made = fresh_fake.login(fresh_fake.owner())
    token = fresh_fake.api_token(fresh_fake.owner())
    assert made.id not in {s["id"] for s in scenario["newSessions"]}
    assert token not in {t["token"] for t in scenario["apiTokens"]}
    assert fresh_fake.execute("{ currentUser { id } }", token=made.token)["data"]
    assert fresh_fake.execute("{ currentUser { id } }", token=token)["data"]


def test_times_may_be_written_with_any_utc_offset(
    scenario: dict[str, Any], fresh_fake: FakeLogScale
) -> None:
    now = datetime.fromisoformat(scenario["now"].replace("Z", "+00:00"))
    scenario["now"] = now.astimezone(timezone(timedelta(hours=2))).isoformat(
        timespec="milliseconds"
    )
    assert scenario["now"].endswith(".000+02:00")
    fresh_fake.load_state(scenario)
    assert fresh_fake.clock.now == now


# -- the documentation ---------------------------------------------------------------

DOC = Path(__file__).parent.parent / "docs" / "state-file.md"


def test_the_documented_example_loads_and_dumps_back_unchanged(fresh_fake: FakeLogScale) -> None:
    text = DOC.read_text(encoding="utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    fresh_fake.load_state(example)
    assert fresh_fake.dump_state() == example


def test_the_documented_python_examples_pass(pytester: pytest.Pytester) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]
    assert blocks
    pytester.makepyfile(test_examples="\n\n".join(blocks))
    pytester.runpytest("-p", "no:faker").assert_outcomes(passed=2)


def test_the_documented_top_level_keys_are_what_a_dump_writes_in_order(
    scenario: dict[str, Any], logscale_server: FakeLogScale
) -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("### Top-level keys", 1)[1].split("###", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    assert "faults" not in scenario  # written only when faults are waiting
    logscale_server.faults.add(Fault.status(503))
    assert documented == list(logscale_server.dump_state())


# -- files ----------------------------------------------------------------------------


def test_dump_state_to_a_path_writes_the_same_json_and_load_state_reads_it(
    logscale_server: FakeLogScale, fresh_fake: FakeLogScale, tmp_path: Path
) -> None:
    arrange(logscale_server)
    path = tmp_path / "state.json"
    data = logscale_server.dump_state(path)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert not list(tmp_path.glob(".*partial"))
    fresh_fake.load_state(str(path))
    assert fresh_fake.dump_state() == data
    fresh_fake.reset()
    fresh_fake.load_state(path)
    assert fresh_fake.dump_state() == data


def test_dumping_into_a_missing_directory_is_a_state_error(
    fresh_fake: FakeLogScale, tmp_path: Path
) -> None:
    path = tmp_path / "missing" / "state.json"
    with pytest.raises(StateError, match=r"^state file '.*state\.json': cannot write: "):
        fresh_fake.dump_state(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"", "not JSON: Expecting value: line 1 column 1"),
        (b'{"format": "pytest-logscale-state",', "not JSON: "),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON: nested too deeply"),
        (b'{"format": 1, "format": 2}', "key 'format' appears twice in one object"),
        (b"[]", "must be a JSON object, not an array"),
    ],
)
def test_a_bad_file_is_a_state_error_naming_the_file(
    fresh_fake: FakeLogScale, tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StateError) as raised:
        fresh_fake.load_state(path)
    message = str(raised.value)
    assert message.startswith(f"state file {str(path)!r}: {problem}"), message
    assert "\n" not in message


def test_a_directory_is_not_a_state_file(fresh_fake: FakeLogScale, tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"cannot read: Is a directory"):
        fresh_fake.load_state(tmp_path)


# -- bad states -------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], object]


def _set(path: str, value: object) -> Change:
    """A change that sets one place of the document, e.g. ``newSessions.0.ip``."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str) -> Change:
    *parents, last = path.split(".")

    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


def _duplicate(key: str) -> Change:
    return lambda document: document[key].append(copy.deepcopy(document[key][0]))


def _first_setting(change: Callable[[dict[str, Any]], None]) -> Change:
    return lambda document: change(next(iter(document["settings"].values())))


BAD_STATES: list[tuple[str, Change, str]] = [
    ("missing format", _delete("format"), "'format' is missing: is this a pytest-logscale"),
    ("missing version", _delete("version"), "'version' is missing"),
    ("wrong format", _set("format", "har"), "format: must be 'pytest-logscale-state', not \"har\""),
    (
        "newer version",
        _set("version", 2),
        "version: version 2 is not supported; this release reads 1",
    ),
    ("version as text", _set("version", "1"), 'version: version "1" is not supported'),
    ("version as bool", _set("version", True), "version: version true is not supported"),
    ("unknown key", _set("fault", []), "unknown key 'fault' (known: format, version, seeding"),
    ("seeding not object", _set("seeding", 5), "seeding: must be a JSON object, not 5"),
    ("unknown seeding key", _set("seeding.colour", 1), "seeding: unknown key 'colour'"),
    (
        "bad seeding value",
        _set("seeding.users", 1),
        "seeding: users must be a whole number from 3 to",
    ),
    (
        "seeding as text",
        _set("seeding.seed", "5"),
        "seeding: seed must be a whole number from 0 to",
    ),
    ("now not a time", _set("now", "yesterday"), "now: must be a UTC time like"),
    ("now a number", _set("now", 1735689600000), "now: must be a UTC time like"),
    (
        "now null",
        _set("now", None),
        "now: must be a UTC time like '2025-01-01T09:30:00.000Z', not null",
    ),
    (
        "now without zone",
        _set("now", "2025-06-01T10:00:00"),
        "now: '2025-06-01T10:00:00' has no time zone",
    ),
    ("now too fine", _set("now", "2025-06-01T10:00:00.0001Z"), "finer than a millisecond"),
    ("settings a list", _set("settings", []), "settings: must be a JSON object, not an array"),
    (
        "settings of unknown organization",
        lambda d: d["settings"].update({"nope": {}}),
        "settings.nope: no organization has id 'nope'",
    ),
    (
        "settings not positive",
        _first_setting(lambda s: s.update(maxInactivityPeriod=0)),
        ".maxInactivityPeriod: must be a whole number from 1 to 9223372036854775807, not 0",
    ),
    (
        "settings fractional",
        _first_setting(lambda s: s.update(forceReauthenticationAfter=1.5)),
        ".forceReauthenticationAfter: must be a whole number from 1 to 9223372036854775807, "
        "not 1.5",
    ),
    (
        "settings incomplete",
        _first_setting(lambda s: s.pop("forceReauthenticationAfter")),
        "'forceReauthenticationAfter' is missing",
    ),
    (
        "changed not a list",
        _set("changedSessions", {}),
        "changedSessions: must be a JSON array, not an object",
    ),
    (
        "changed entry not object",
        _set("changedSessions.0", "x"),
        'changedSessions[0]: must be a JSON object, not "x"',
    ),
    (
        "changed unknown id",
        _set("changedSessions.0.id", "nope"),
        "changedSessions[0].id: no seeded session has id 'nope'",
    ),
    (
        "changed id missing",
        _delete("changedSessions.0.id"),
        "changedSessions[0].id: must be a non-empty string, not null",
    ),
    (
        "changed user",
        _set("changedSessions.0.userId", "x"),
        "changedSessions[0]: unknown key 'userId'",
    ),
    ("changed twice", _duplicate("changedSessions"), "appears twice"),
    (
        "bad ending",
        _set("changedSessions.0.ended", "expired"),
        "changedSessions[0].ended: must be null, 'logged_out', 'revoked', not \"expired\"",
    ),
    (
        "bad activity",
        _set("changedSessions.0.lastActivityAt", 5),
        "changedSessions[0].lastActivityAt: must be a UTC time",
    ),
    ("new missing token", _delete("newSessions.0.token"), "newSessions[0]: 'token' is missing"),
    (
        "new unknown user",
        _set("newSessions.0.userId", "nobody"),
        "newSessions[0].userId: no user has id 'nobody'",
    ),
    (
        "new bad ip",
        _set("newSessions.0.ip", "1.2.3"),
        "newSessions[0].ip: '1.2.3' is not an IPv4 or IPv6 address",
    ),
    (
        "new empty client",
        _set("newSessions.0.clientInfo", ""),
        "newSessions[0].clientInfo: must be a non-empty string",
    ),
    (
        "new city a number",
        _set("newSessions.0.city", 7),
        "newSessions[0].city: must be a non-empty string, not 7",
    ),
    ("new twice", _duplicate("newSessions"), "appears twice"),
    ("api token twice", _duplicate("apiTokens"), "apiTokens[1].token: this token is listed twice"),
    (
        "api unknown user",
        _set("apiTokens.0.userId", "nobody"),
        "apiTokens[0].userId: no user has id 'nobody'",
    ),
    ("serial negative", _set("serial", -1), "serial: must be a whole number from 0 to"),
    ("serial too low", _set("serial", 1), "serial 1 is lower than the 2 sessions and API tokens"),
]


def _reuse_seeded_id(document: dict[str, Any]) -> None:
    document["newSessions"][0]["id"] = document["changedSessions"][0]["id"]


def _reuse_token(document: dict[str, Any]) -> None:
    document["apiTokens"][0]["token"] = document["newSessions"][0]["token"]


BAD_STATES += [
    ("new reuses a seeded id", _reuse_seeded_id, "is a seeded session's id"),
    ("token used twice", _reuse_token, "is used twice"),
]


@pytest.mark.parametrize(
    ("change", "problem"),
    [pytest.param(change, problem, id=name) for name, change, problem in BAD_STATES],
)
def test_a_bad_state_is_refused_with_a_one_line_message_and_nothing_changes(
    scenario: dict[str, Any], fresh_fake: FakeLogScale, change: Change, problem: str
) -> None:
    fresh_fake.login(fresh_fake.member())
    before = fresh_fake.dump_state()
    change(scenario)
    with pytest.raises(StateError) as raised:
        fresh_fake.load_state(scenario)
    message = str(raised.value)
    assert message.startswith("state: ")
    assert problem in message, message
    assert "\n" not in message
    assert isinstance(raised.value, ValueError)
    assert fresh_fake.dump_state() == before
    assert fresh_fake.seed_options == SeedOptions()


def test_a_string_is_taken_as_a_path(fresh_fake: FakeLogScale) -> None:
    with pytest.raises(StateError, match=r"^state file '42': no such file"):
        fresh_fake.load_state("42")


def test_a_state_that_is_neither_a_mapping_nor_a_path_is_a_type_error(
    fresh_fake: FakeLogScale,
) -> None:
    with pytest.raises(TypeError, match="a state is a mapping or a path, not list"):
        fresh_fake.load_state([1])  # type: ignore[arg-type]


# -- with the fixture -----------------------------------------------------------------


def test_a_state_loaded_in_one_test_is_gone_in_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_load(logscale_server):
            state = {"format": "pytest-logscale-state", "version": 1,
                     "seeding": {"seed": 9}, "now": "2030-01-01T00:00:00.000Z"}
            logscale_server.load_state(state)
            assert logscale_server.seed_options.seed == 9
            assert logscale_server.clock.now.year == 2030

        def test_next(logscale_server):
            assert logscale_server.seed_options.seed == 1
            assert logscale_server.clock.now.year == 2025
            assert logscale_server.dump_state()["serial"] == 0
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


# -- the wall clock ---------------------------------------------------------------------


def test_a_wall_clock_runs_at_the_speed_of_real_time_and_can_still_be_moved() -> None:
    began = time.monotonic()
    clock = Clock(1_000_000, wall=True)
    first = clock.now_ms()
    while clock.now_ms() == first:  # spins on real time, no sleep: a few milliseconds at most
        pass
    second = clock.now_ms()
    bound = round((time.monotonic() - began) * 1000) + 1
    assert 1_000_000 <= first < second <= 1_000_000 + bound
    moved = clock.set(5_000_000)
    assert 5_000_000 <= clock.now_ms() <= 5_000_000 + bound + 50
    assert moved.year == 1970
    clock.advance(seconds=10)
    assert clock.now_ms() >= 5_010_000
    clock.reset()
    assert 1_000_000 <= clock.now_ms() <= 1_000_000 + 50


def test_a_frozen_clock_does_not_move_on_its_own() -> None:
    clock = Clock(1_000_000)
    assert [clock.now_ms() for _ in range(1000)] == [1_000_000] * 1000


def test_loading_a_state_into_a_wall_clock_fake_runs_on_from_the_states_instant(
    scenario: dict[str, Any],
) -> None:
    fake = FakeLogScale(wall_clock=True)
    fake.load_state(scenario)
    now = datetime.fromisoformat(scenario["now"].replace("Z", "+00:00"))
    assert fake.clock.wall
    assert 0 <= (fake.clock.now - now).total_seconds() < 5
