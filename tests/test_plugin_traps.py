"""The plugin's own traps (issue 15): errors said once, and a plugin that costs nothing unused.

Run the way users run pytest: files executed by ``pytester``, and whole Python
processes where what is imported at plugin load is the question.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FAST = ("-p", "no:hypothesispytest", "-p", "no:faker")
HEAVY = ("faker", "graphql", "ariadne", "werkzeug", "urllib.request", "http.client")


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "logscale(users=2)",
            "@pytest.mark.logscale: users must be a whole number from 3 to 100000, not 2",
        ),
        (
            "logscale(seed='7')",
            "@pytest.mark.logscale: seed must be a whole number from 0 to 9223372036854775807, "
            "not '7'",
        ),
    ],
)
def test_a_bad_marker_value_is_said_once_in_one_line(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_bad(logscale_server):
            pass
        """
    )
    # -rN: no short summary, whose line repeats the message (in full when CI is set)
    result = pytester.runpytest(*FAST, "-rN")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert output.count(message) == 1, output
    assert "During handling of the above exception" not in output
    assert "Traceback" not in output


def test_a_bad_factory_value_is_one_error_without_a_chain(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_it(logscale_server_factory):
            with pytest.raises(ValueError) as error:
                logscale_server_factory(users=2)
            assert str(error.value) == (
                "logscale_server_factory: users must be a whole number from 3 to 100000, not 2"
            )
            assert error.value.__context__ is None and error.value.__cause__ is None
        """
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=1)


def test_the_factorys_unknown_option_error_lists_the_valid_ones(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_it(logscale_server_factory):
            logscale_server_factory(sessoins=5)
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: logscale_server_factory got unknown option(s) sessoins; it takes seed, "
            "organizations, users, sessions, clock, max_sessions, max_users, max_state_bytes, "
            "max_api_tokens, max_faults, "
            "host, port, wall_clock, app_options, rate_limit, server_options, journal_size, "
            "journal_bytes, journal_text, control"
        ]
    )


@pytest.mark.parametrize("fixture", ["logscale_server", "logscale_url", "logscale_token"])
def test_a_session_fixture_using_the_function_fixtures_is_told_to_use_the_factory(
    pytester: pytest.Pytester, fixture: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.fixture(scope="session")
        def client({fixture}):
            return {fixture}

        def test_it(client):
            pass
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ScopeMismatch*",
            "*pytest-logscale: logscale_server is reset before every test, so it is "
            "function-scoped; a fixture of a wider scope makes a server of its own with "
            "logscale_server_factory(...)*",
        ]
    )


def test_another_scope_mismatch_gets_no_hint(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def mine():
            return 1

        @pytest.fixture(scope="session")
        def client(mine):
            return mine

        def test_it(client):
            pass
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(errors=1)
    assert "logscale_server_factory" not in result.stdout.str()


def test_the_journal_byte_bound_is_an_option_and_an_ini_setting(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nlogscale_journal_bytes = 5000\n")
    pytester.makepyfile(
        """
        def test_it(logscale_server, logscale_server_factory):
            assert logscale_server.journal.max_bytes == 5000
            assert logscale_server_factory().journal.max_bytes == 5000
            assert logscale_server_factory(journal_bytes=7).journal.max_bytes == 7
        """
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=1)
    pytester.makepyfile(
        """
        def test_it(logscale_server):
            assert logscale_server.journal.max_bytes == 6000
        """
    )
    pytester.runpytest(*FAST, "--logscale-journal-bytes=6000").assert_outcomes(passed=1)
    result = pytester.runpytest(*FAST, "--logscale-journal-bytes=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*journal_bytes must be at least 1, not 0*"])


# -- the cost of being installed ------------------------------------------------------------


def _loaded_after_plugin_load(code: str) -> dict[str, bool]:
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    found: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_loading_the_plugins_imports_nothing_heavy() -> None:
    loaded = _loaded_after_plugin_load(
        "import pytest, pytest_logscale, pytest_logscale.plugin, pytest_logscale.contract.plugin"
    )
    assert not any(loaded.values()), loaded


def test_the_public_names_are_there_when_asked_for() -> None:
    loaded = _loaded_after_plugin_load(
        "from pytest_logscale import FakeLogScale, Fault, seed_dataset, SessionNow"
    )
    assert loaded["faker"] and loaded["graphql"] and loaded["werkzeug"]
    import pytest_logscale

    for name in pytest_logscale.__all__:
        assert getattr(pytest_logscale, name) is not None
    # the lazy table and __all__ name the same things (mypy reads the TYPE_CHECKING imports)
    assert sorted([*pytest_logscale._HOMES, "__version__"]) == sorted(pytest_logscale.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        pytest_logscale.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_a_run_that_uses_no_fixture_imports_nothing_heavy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        f"""
        import sys

        def test_it():
            assert [m for m in {HEAVY!r} if m in sys.modules] == []
        """
    )
    # Only our two plugins: others installed beside us for the suite and the benchmarks
    # (pytest-httpserver, respx) import werkzeug or httpx themselves.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess(
        *FAST, "-p", "pytest_logscale.plugin", "-p", "pytest_logscale.contract.plugin"
    )
    result.assert_outcomes(passed=1)


def test_the_contract_plugin_adds_no_marker_to_a_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest_subprocess(*FAST, "--markers")
    assert "logscale_contract_writes" not in result.stdout.str()
    result.stdout.fnmatch_lines(["@pytest.mark.logscale(*"])


def test_the_installed_cost_benchmark_prints_its_table() -> None:
    script = Path(__file__).parent.parent / "benchmarks" / "installed.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "| pytest-logscale installed, fixtures unused | " in done.stdout
    assert "| < 50 ms | " in done.stdout
