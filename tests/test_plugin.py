"""The pytest plugin, run the way users run it: test files executed by ``pytester``.

Inner tests print what their server was seeded with (``SEEDED {...}`` lines,
read back by :func:`seeded_run`); the expected data is computed here from the same
options, so a wrong seed shows up as a different owner, not only as a
different number in ``seed_options``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pytest_logscale import AppOptions, FakeLogScale, RateLimit, SeedOptions
from pytest_logscale.plugin import LogScaleServerFactory

FAST = ("-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:logscale_contract")

CONFTEST = '''
import json
from urllib.parse import urlsplit

import pytest


@pytest.fixture
def seeded(request, logscale_server):
    """Print what this test's server holds, for the outer test to read."""
    first = logscale_server.organization
    print("SEEDED " + json.dumps({
        "test": request.node.name,
        "options": [getattr(logscale_server.seed_options, n)
                    for n in ("seed", "organizations", "users", "sessions")],
        "organizations": len(logscale_server.organizations),
        "users": sum(u.organization_id == first.id for u in logscale_server.users),
        "sessions": sum(s.organization_id == first.id for s in logscale_server.sessions),
        "owner": logscale_server.owner().username,
        "port": urlsplit(logscale_server.url).port,
    }))
    return logscale_server
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*FAST, "-s", *args)


def seeded_run(pytester: pytest.Pytester, *args: str, passed: int) -> dict[str, dict[str, Any]]:
    """Run, check that ``passed`` tests passed, and return the ``SEEDED`` lines by test name."""
    result = run(pytester, *args)
    result.assert_outcomes(passed=passed)
    found: dict[str, dict[str, Any]] = {}
    for line in result.outlines:
        if "SEEDED " in line:
            data = json.loads(line[line.index("SEEDED ") + 7 :])
            found[data["test"]] = data
    return found


def expected(seed: int = 1, organizations: int = 1, users: int = 12, sessions: int = 60) -> Any:
    """What ``seeded`` prints for a server seeded with these options (port aside)."""
    options = SeedOptions(seed, organizations, users, sessions)
    fake = FakeLogScale(options)  # not started: only its data is read
    return {
        "options": [seed, organizations, users, sessions],
        "organizations": organizations,
        "users": users,
        "sessions": sessions,
        "owner": fake.owner().username,
    }


def without_port(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("test", "port")}


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    return pytester


def test_different_seeds_give_different_owners() -> None:
    # the precedence tests below tell seeds apart by the owner's name
    owners = {expected(seed)["owner"] for seed in (1, 3, 5, 7, 9)}
    assert len(owners) == 5


# -- the fixtures ------------------------------------------------------------------------


def test_the_fixtures_give_a_live_fake_over_http(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import json
        import urllib.request


        def test_it(logscale_server, logscale_url, logscale_token, seeded):
            assert logscale_url == logscale_server.url
            assert logscale_server.graphql_url == logscale_url + "/graphql"
            assert logscale_token == logscale_server.token
            request = urllib.request.Request(
                logscale_url + "/graphql",
                data=json.dumps({"query": "{ currentUser { username } }"}).encode(),
                headers={"Authorization": "Bearer " + logscale_token,
                         "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                answer = json.load(response)
            owner = logscale_server.owner()
            assert answer == {"data": {"currentUser": {"username": owner.username}}}
            assert logscale_server.execute("{ organization { id } }") == {
                "data": {"organization": {"id": logscale_server.organization.id}}
            }
            logscale_server.journal.assert_called("currentUser", times=1)
        """
    )
    got = seeded_run(inner, passed=1)
    assert without_port(got["test_it"]) == expected()


def test_the_handle_arranges_users_sessions_tokens_and_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import timedelta

        QUERY = "{ sessions(level: User) { results { id isCurrentSession } } }"


        def test_it(logscale_server):
            member = logscale_server.member()
            session = logscale_server.login(member, ip="203.0.113.9", city="Oslo", country="NO")
            listed = logscale_server.execute(QUERY, token=session.token)["data"]["sessions"]
            assert {"id": session.id, "isCurrentSession": True} in listed["results"]

            api = logscale_server.api_token(member)
            listed = logscale_server.execute(QUERY, token=api)["data"]["sessions"]
            assert listed["results"] and not any(s["isCurrentSession"] for s in listed["results"])
            refused = logscale_server.execute("mutation { logoutOfSession }", token=api)
            assert refused["errors"]

            start = logscale_server.clock.now
            assert logscale_server.clock.advance(hours=11) == start + timedelta(hours=11)
            me = '{"query": "{ currentUser { id } }"}'
            status, _ = logscale_server.post(me, token=session.token)
            assert status == 401, "an 11 hour idle session has expired"
            assert logscale_server.clock.set(start) == start

            roles = {logscale_server.owner().role, logscale_server.admin().role, member.role}
            assert len(roles) == 3
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_a_test_stopping_the_shared_server_does_not_break_the_next_ones(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        ME = "{ currentUser { id } }"


        def test_with_block(logscale_server):
            with logscale_server:
                assert logscale_server.execute(ME)["data"]["currentUser"]
            assert not logscale_server.running


        def test_after_the_with_block(logscale_server):
            assert logscale_server.running
            assert logscale_server.execute(ME)["data"]["currentUser"]
            logscale_server.stop()


        def test_after_stop(logscale_server):
            assert logscale_server.execute(ME)["data"]["currentUser"]
        """
    )
    run(pytester).assert_outcomes(passed=3)


# -- the marker --------------------------------------------------------------------------


def test_the_closest_marker_wins_and_the_server_is_not_restarted(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.logscale(seed=3, users=5)


        def test_module(seeded):
            pass


        @pytest.mark.logscale(seed=5, organizations=2, users=4, sessions=7)
        class TestClass:
            def test_class(self, seeded):
                pass

            @pytest.mark.logscale(seed=7)
            def test_function(self, seeded):
                pass


        def test_module_again(seeded):
            pass
        """
    )
    got = seeded_run(inner, passed=4)
    assert without_port(got["test_module"]) == expected(3, users=5)
    assert without_port(got["test_class"]) == expected(5, 2, 4, 7)
    assert without_port(got["test_function"]) == expected(7, 2, 4, 7)
    assert without_port(got["test_module_again"]) == expected(3, users=5)
    assert len({data["port"] for data in got.values()}) == 1


# -- options, ini settings and their precedence ----------------------------------------


def test_every_command_line_option_seeds_the_server(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_it(seeded):\n    pass\n")
    got = seeded_run(
        inner,
        "--logscale-seed=9",
        "--logscale-organizations=2",
        "--logscale-users=6",
        "--logscale-sessions=11",
        passed=1,
    )
    assert without_port(got["test_it"]) == expected(9, 2, 6, 11)


def test_every_ini_setting_seeds_the_server(inner: pytest.Pytester) -> None:
    inner.makeini(
        """
        [pytest]
        logscale_seed = 9
        logscale_organizations = 3
        logscale_users = 4
        logscale_sessions = 8
        """
    )
    inner.makepyfile("def test_it(seeded):\n    pass\n")
    got = seeded_run(inner, passed=1)
    assert without_port(got["test_it"]) == expected(9, 3, 4, 8)


@pytest.mark.parametrize(
    ("ini", "cli", "unmarked"),
    [
        (False, False, expected()),
        (True, False, expected(3, users=4)),
        (False, True, expected(5, sessions=9)),
        (True, True, expected(5, users=4, sessions=9)),
    ],
    ids=["defaults", "ini-over-defaults", "cli-over-defaults", "cli-over-ini"],
)
def test_marker_beats_command_line_beats_ini_beats_defaults(
    inner: pytest.Pytester, ini: bool, cli: bool, unmarked: dict[str, Any]
) -> None:
    if ini:
        inner.makeini("[pytest]\nlogscale_seed = 3\nlogscale_users = 4\n")
    inner.makepyfile(
        """
        import pytest


        @pytest.mark.logscale(seed=7, sessions=13)
        def test_marked(seeded):
            pass


        def test_unmarked(seeded):
            pass
        """
    )
    cli_args = ["--logscale-seed=5", "--logscale-sessions=9"] if cli else []
    got = seeded_run(inner, *cli_args, passed=2)
    assert without_port(got["test_unmarked"]) == unmarked
    marked = dict(
        zip(("seed", "organizations", "users", "sessions"), unmarked["options"], strict=True)
    )
    assert without_port(got["test_marked"]) == expected(**{**marked, "seed": 7, "sessions": 13})


# -- bad configuration: a clear error, never a traceback ------------------------------


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            "logscale_seed = seven",
            "ini option logscale_seed: seed must be a whole number, not 'seven'",
        ),
        ("logscale_users = 2", "users must be a whole number from 3 to 100000, not 2"),
        (
            "logscale_organizations = 0",
            "organizations must be a whole number from 1 to 1000, not 0",
        ),
        (
            "logscale_clock = noon",
            "logscale_clock: clock must be epoch milliseconds or an ISO-8601",
        ),
    ],
)
def test_a_bad_ini_setting_is_a_usage_error(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_it():\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logscale-sessions=2"], "*sessions must be a whole number from 3 to 1000000, not 2*"),
        (
            ["--logscale-seed=-1"],
            "*seed must be a whole number from 0 to 9223372036854775807, not -1*",
        ),
        (["--logscale-users=many"], "*--logscale-users: users must be a whole number, not 'many'*"),
        (["--logscale-clock=1"], "*--logscale-clock: clock must be from 1990-01-01T00:00:00.000Z*"),
        (
            ["--logscale-organizations=2", "--logscale-users=60000"],
            "*organizations x users = 120000 is more than max_users 100000; raise it with*",
        ),
    ],
)
def test_a_bad_command_line_option_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_it():\n    pass\n")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("logscale(7)", "@pytest.mark.logscale takes keyword arguments only, e.g. seed=7"),
        (
            "logscale(seed=7, colour='red')",
            "@pytest.mark.logscale got unknown option(s) colour; "
            "it takes seed, organizations, users, sessions, clock, max_sessions, max_users, "
            "max_state_bytes",
        ),
        (
            "logscale(users=2)",
            "@pytest.mark.logscale: users must be a whole number from 3 to 100000, not 2",
        ),
        ("logscale(seed='7')", "@pytest.mark.logscale: seed must be a whole number from 0 to"),
        (
            "logscale(organizations=1000, users=100000, sessions=1000000)",
            "@pytest.mark.logscale: organizations x sessions = 1000000000 is more than "
            "max_sessions",
        ),
        (
            "logscale(clock='2026-01-01')",
            "@pytest.mark.logscale: clock '2026-01-01' has no time zone",
        ),
    ],
)
def test_a_bad_marker_errors_its_test_only(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest


        @pytest.mark.{marker}
        def test_bad(logscale_server):
            pass


        def test_good(logscale_server):
            assert logscale_server.seed_options.seed == 1
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_bad*", f"*{message}*"])
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "plugin.py" not in output  # pytrace=False: no frames of ours


def test_a_bad_marker_on_a_test_without_the_fixture_is_ignored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.logscale(colour="red")
        def test_it():
            pass
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.logscale(seed=2)
        def test_it(logscale_server):
            assert logscale_server.seed_options.seed == 2
        """
    )
    result = run(pytester, "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=1)
    assert "warning" not in result.stdout.str().lower()
    markers = pytester.runpytest(*FAST, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.logscale(seed=*, organizations=*): seed the fake*"])


def test_pytest_fixtures_lists_and_explains_every_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest(*FAST, "--fixtures")
    result.stdout.fnmatch_lines_random(
        [
            "logscale_server -- *plugin.py*",
            "*A live fake LogScale in its freshly seeded state (function scope).*",
            "logscale_url -- *plugin.py*",
            "*The base URL of ``logscale_server``*",
            "logscale_token -- *plugin.py*",
            "*A session token of the first organization's owner*",
            "logscale_server_factory [[]session scope[]] -- *plugin.py*",
            "*Session-scoped maker of extra, independent fake LogScale servers.*",
        ]
    )
    assert "_logscale_shared_server" not in result.stdout.str()


def test_the_options_are_listed_in_pytest_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*FAST, "--help")
    result.stdout.fnmatch_lines_random(
        [
            "*fake LogScale (pytest-logscale):*",
            "*--logscale-seed=LOGSCALE_SEED*",
            "*--logscale-organizations=LOGSCALE_ORGANIZATIONS*",
            "*--logscale-users=LOGSCALE_USERS*",
            "*--logscale-sessions=LOGSCALE_SESSIONS*",
            "*--logscale-clock=LOGSCALE_CLOCK*",
            "*--logscale-max-sessions=LOGSCALE_MAX_SESSIONS*",
            "*logscale_seed (string):*",
            "*seed that fixes all seeded data (default: 1)*",
            "*logscale_organizations (string):*",
            "*logscale_users (string):*",
            "*logscale_sessions (string):*",
        ]
    )


# -- isolation ---------------------------------------------------------------------------

ISOLATION = '''
import hashlib

import pytest

QUERY = "{ sessions(level: Organization, onlyActiveSessions: false, limit: 1000) { "
QUERY += "totalResults results { id ip lastActivityAt user { id } } } }"


def fingerprint(server):
    """Everything a test could have left behind, hashed."""
    answer = server.execute(QUERY, token=server.admin_token)
    seen = repr((
        answer,
        [(s.id, s.ended, s.last_activity_at) for s in server.sessions],
        server.clock.now,
        len(server.journal),  # the query above is the only request
        server.store.organization(server.organization.id).settings,
    ))
    server.journal.clear()
    return hashlib.sha256(seen.encode()).hexdigest()


def check(server, name):
    print(f"FINGERPRINT {name} {fingerprint(server)}")


def change_everything(server):
    assert server.execute("mutation { logoutOfSession }")["data"] == {"logoutOfSession": True}
    member = server.member()
    revoked = server.execute(
        "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: User}) }",
        {"id": member.id},
        token=server.admin_token,
    )
    assert revoked["data"] == {"revokeSession": True}
    server.execute(
        "mutation { updateSessionSettings(input: "
        "{maxInactivityPeriod: 60000, forceReauthenticationAfter: 120000}) { id } }",
        token=server.admin_token,
    )
    server.login(server.admin(), ip="198.51.100.77")
    server.api_token(member)
    server.clock.advance(hours=30)
'''


def test_nothing_a_test_changes_reaches_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        isolation=ISOLATION,
        test_isolation="""
        from isolation import change_everything, check


        def test_a_before(logscale_server):
            check(logscale_server, "before")


        def test_b_changes(logscale_server):
            check(logscale_server, "changes")
            change_everything(logscale_server)
            me = '{"query": "{ currentUser { id } }"}'
            assert logscale_server.post(me, token=logscale_server.token)[0] == 401


        def test_c_after(logscale_server):
            check(logscale_server, "after")
            answer = logscale_server.execute("{ currentUser { username } }")
            assert answer["data"]["currentUser"]["username"] == logscale_server.owner().username


        def test_d_changes_and_fails(logscale_server):
            change_everything(logscale_server)
            assert False


        def test_e_after_a_failure(logscale_server):
            check(logscale_server, "after-failure")
        """,
    )
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=4, failed=1)
    prints = dict(
        line[line.index("FINGERPRINT") :].split()[1:3]
        for line in result.outlines
        if "FINGERPRINT" in line
    )
    assert set(prints) == {"before", "changes", "after", "after-failure"}
    assert len(set(prints.values())) == 1, prints


def test_a_marked_test_does_not_leave_its_seed_to_the_next(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest


        @pytest.mark.logscale(seed=5, organizations=2)
        def test_a_marked(seeded):
            seeded.execute("mutation { logoutOfSession }")


        def test_b_unmarked(seeded):
            assert "errors" not in seeded.execute("{ currentUser { id } }")
        """
    )
    got = seeded_run(inner, passed=2)
    assert without_port(got["test_b_unmarked"]) == expected()


# -- xdist -------------------------------------------------------------------------------


def test_each_xdist_worker_has_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json
        import os
        import pathlib

        import pytest

        QUERY = '{ sessions(level: Organization, limit: 500) { results { ip } } }'


        @pytest.mark.parametrize("n", range(8))
        def test_it(logscale_server, n):
            ip = f"192.0.2.{n + 1}"
            logscale_server.login(logscale_server.member(), ip=ip)
            logscale_server.execute("mutation { logoutOfSession }")
            answer = logscale_server.execute(QUERY, token=logscale_server.admin_token)
            ips = {s["ip"] for s in answer["data"]["sessions"]["results"]}
            assert ip in ips
            assert not {f"192.0.2.{m + 1}" for m in range(8) if m != n} & ips
            assert [e.root_fields for e in logscale_server.journal] == [
                ("logoutOfSession",), ("sessions",)
            ]
            out = pathlib.Path(os.environ["LOGSCALE_OUT"]) / f"{n}.json"
            out.write_text(json.dumps([os.environ["PYTEST_XDIST_WORKER"], logscale_server.url]))
        """
    )
    out = pytester.mkdir("out")
    os.environ["LOGSCALE_OUT"] = str(out)
    try:
        result = pytester.runpytest_subprocess(*FAST, "-n", "2")
    finally:
        del os.environ["LOGSCALE_OUT"]
    result.assert_outcomes(passed=8)
    runs = [json.loads(path.read_text()) for path in out.iterdir()]
    urls = {worker: {url for w, url in runs if w == worker} for worker, _url in runs}
    assert set(urls) == {"gw0", "gw1"}
    assert all(len(found) == 1 for found in urls.values()), urls
    assert urls["gw0"] != urls["gw1"]


# -- the journal in the report -----------------------------------------------------------


def test_a_failing_test_gets_its_journal_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(logscale_server):
            logscale_server.execute('mutation { revokeSession(input: {id: "nope", '
                                    'revocationType: Session}) }')
            logscale_server.journal.assert_called_once("logoutOfSession")


        def test_passes(logscale_server):
            logscale_server.execute("query Passing { currentUser { id } }")
        """
    )
    result = pytester.runpytest(*FAST, "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected 1 call(s) of logoutOfSession, got 0. Received:",
            "*#1 200 POST /graphql mutation {revokeSession} user=*",
            "*- logscale journal -*",
            "#1 200 POST /graphql mutation {revokeSession} user=*",
            '  arguments: revokeSession({"input": {"id": "nope", "revocationType": "Session"}})',
            "  response: *No session with id 'nope'*",
        ]
    )
    output = result.stdout.str()
    assert output.count("- logscale journal -") == 1
    assert "Passing" not in output
    assert "journal.py" not in output  # __tracebackhide__ keeps our frames out


def test_a_failing_test_without_requests_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_fails(logscale_server):\n    assert False\n")
    result = run(pytester)
    result.stdout.fnmatch_lines(["*- logscale journal -*", "(no requests)"])


def test_a_test_without_the_fixture_gets_no_journal_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_fails():\n    assert False\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    assert "logscale journal" not in result.stdout.str()


# -- the factory -------------------------------------------------------------------------


def test_factory_servers_are_independent_and_stopped_at_the_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pathlib

        URLS = []


        def test_two(logscale_server, logscale_server_factory):
            first = logscale_server_factory(seed=3)
            second = logscale_server_factory(seed=5, organizations=2)
            ports = {s.url for s in (logscale_server, first, second)}
            assert len(ports) == 3
            assert (first.seed_options.seed, second.seed_options.organizations) == (3, 2)
            assert first.owner().username != second.owner().username

            first.execute("mutation { logoutOfSession }")
            assert first.post('{"query": "{ currentUser { id } }"}', token=first.token)[0] == 401
            assert "errors" not in second.execute("{ currentUser { id } }")
            assert "errors" not in logscale_server.execute("{ currentUser { id } }")
            first.clock.advance(days=1)
            assert second.clock.now_ms() == second.clock.start_ms != first.clock.now_ms()
            assert len(first.journal) == 2 and len(second.journal) == 1
            assert len(logscale_server.journal) == 1
            with logscale_server_factory() as third:
                URLS.append(third.url)
            URLS.extend([first.url, second.url])


        def test_unknown_option(logscale_server_factory):
            import pytest
            with pytest.raises(TypeError, match="unknown option.s. colour; it takes seed, "):
                logscale_server_factory(colour=1)
            with pytest.raises(ValueError, match="users must be a whole number from 3"):
                logscale_server_factory(users=1)


        def test_urls():
            pathlib.Path("urls.txt").write_text(" ".join(URLS))
        """
    )
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    urls = (pytester.path / "urls.txt").read_text().split()
    assert len(urls) == 3
    for url in urls:
        address = urlsplit(url)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address.hostname, address.port), timeout=2)


def test_the_factory_passes_server_options_on(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with socket.socket() as probe:  # a port that is free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = logscale_server_factory(
        port=port,
        wall_clock=True,
        app_options=AppOptions(explorer=False),
        rate_limit=RateLimit.per(2, minutes=1),
        users=4,
    )
    with fake:
        assert fake.url == f"http://127.0.0.1:{port}"
        assert fake.clock.wall and len(fake.users) == 4
        assert fake.seed_options.seed == 1  # not given: from the defaults
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(fake.graphql_url, timeout=10)
        assert refused.value.code == 405
        who = '{"query": "{ currentUser { id } }"}'
        assert [fake.post(who, token=fake.token)[0] for _ in range(3)] == [200, 200, 429]
    assert not fake.server.is_running


# -- hygiene -----------------------------------------------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_a_run_leaves_no_thread_and_no_file_descriptor(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.parametrize("n", range(3))
        def test_it(logscale_server, logscale_server_factory, n):
            other = logscale_server_factory(seed=n)
            session = logscale_server.login(logscale_server.member())
            logscale_server.execute("{ currentUser { id } }", token=session.token)
            other.execute("mutation { logoutOfSession }")
            assert n != 2, "a failure must not leak either"
        """
    )
    run(pytester).assert_outcomes(passed=2, failed=1)  # warm up: imports, caches
    threads, fds = set(threading.enumerate()), open_fds()
    run(pytester).assert_outcomes(passed=2, failed=1)
    # nothing new: a thread or descriptor of an earlier test may end meanwhile, not start
    assert set(threading.enumerate()) <= threads
    assert open_fds() <= fds
