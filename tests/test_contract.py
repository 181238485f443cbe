"""The shipped contract suite, run the way its users run it (``pytest --pyargs ...``).

Against the in-process fake, against ``pytest-logscale serve`` by URL and
token (read-only and with writes), against targets it must refuse, and
against proxies that each break one rule, which the suite must notice.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from distorting_proxy import DISTORTIONS, DistortingProxy, Distortion
from serve_process import ServeProcess

from pytest_logscale import FakeLogScale
from pytest_logscale.contract import LogScaleClient, Target

# hypothesis's plugin imports hypothesis anew in every in-process run (a second each): left out
PLUGINS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
CONTRACT = ("--pyargs", "pytest_logscale.contract", *PLUGINS, "-rfEs")
ENVIRONMENT = ("LOGSCALE_URL", "LOGSCALE_TOKEN", "LOGSCALE_MEMBER_TOKEN")
LOGOUT_CHECK = "test_logout_of_session_ends_the_given_session_and_its_token"
#: The suite has more checks than this; fewer means some were lost.
AT_LEAST = 50


@pytest.fixture(autouse=True)
def no_target_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def serve() -> Iterator[ServeProcess]:
    """One ``pytest-logscale serve`` for the read-only runs."""
    with ServeProcess() as process:
        yield process


def run_contract(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*CONTRACT, *args)


def assert_all_passed(result: pytest.RunResult, *, skipped: int = 0) -> None:
    """Every check passed but ``skipped`` ones, and there are at least AT_LEAST checks."""
    outcomes = result.parseoutcomes()
    passed = outcomes.pop("passed", 0)
    assert outcomes == ({"skipped": skipped} if skipped else {}), result.stdout.str()
    assert passed >= AT_LEAST, result.stdout.str()
    assert result.ret == pytest.ExitCode.OK


def targets(process: ServeProcess, token: str | None = None) -> list[str]:
    values = process.values
    return [
        f"--logscale-url={values['LOGSCALE_URL']}",
        f"--logscale-token={token or values['LOGSCALE_TOKEN']}",
        f"--logscale-member-token={values['LOGSCALE_MEMBER_TOKEN']}",
    ]


def status_of(url: str, token: str) -> int:
    """The HTTP status of a currentUser query with this token."""
    return LogScaleClient(Target(url=url, token=token)).post("{ currentUser { id } }").status


# -- against the fake -------------------------------------------------------------------------


def test_the_suite_passes_against_the_in_process_fake(pytester: pytest.Pytester) -> None:
    result = run_contract(pytester, "-v")
    assert_all_passed(result)
    result.stdout.fnmatch_lines(["logscale contract target: an in-process fake"])
    ran = [line for line in result.stdout.lines if "PASSED" in line]
    assert LOGOUT_CHECK in ran[-1], "the write check ran, and ran last"


def test_the_suite_passes_on_other_seeds_and_sizes(pytester: pytest.Pytester) -> None:
    # more sessions than the paging window, and several organizations
    result = run_contract(
        pytester, "--logscale-seed=7", "--logscale-organizations=2", "--logscale-sessions=300"
    )
    assert_all_passed(result)


def test_the_write_check_runs_after_every_other_check(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--pyargs",
        "pytest_logscale.contract.test_writes",
        "pytest_logscale.contract.test_access",
        *PLUGINS,
        "-v",
    )
    ran = [line for line in result.stdout.lines if "PASSED" in line]
    assert len(ran) >= 4, result.stdout.str()
    assert LOGOUT_CHECK in ran[-1]
    assert all(LOGOUT_CHECK not in line for line in ran[:-1])


def test_the_options_are_listed_in_pytest_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*--logscale-url=*",
            "*--logscale-token=*",
            "*--logscale-member-token=*",
            "*--logscale-allow-writes*",
        ]
    )


# -- against pytest-logscale serve ------------------------------------------------------------


def test_the_suite_passes_against_serve_read_only(
    pytester: pytest.Pytester, serve: ServeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy set in the environment is not used for a target on this machine
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    result = run_contract(pytester, *targets(serve))
    assert_all_passed(result, skipped=1)
    result.stdout.fnmatch_lines(
        [
            f"logscale contract target: {serve.url} (remote, read-only)",
            "SKIPPED * read-only run: --logscale-allow-writes lets the suite log out its session",
        ]
    )
    assert status_of(serve.url, serve.values["LOGSCALE_TOKEN"]) == 200


def test_the_target_can_come_from_the_environment(
    pytester: pytest.Pytester, serve: ServeProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGSCALE_URL", serve.url)
    monkeypatch.setenv("LOGSCALE_TOKEN", serve.values["LOGSCALE_TOKEN"])
    result = run_contract(pytester)
    assert_all_passed(result, skipped=2)
    # without a member token, the owner's token cannot show a permission error
    result.stdout.fnmatch_lines(["SKIPPED * every token given has ChangeSessions; *"])


def test_the_suite_passes_against_serve_with_writes_and_logs_the_token_out(
    pytester: pytest.Pytester,
) -> None:
    with ServeProcess() as process:
        result = run_contract(pytester, *targets(process), "--logscale-allow-writes", "-v")
        assert_all_passed(result)
        result.stdout.fnmatch_lines([f"*{LOGOUT_CHECK} PASSED*"])
        assert status_of(process.url, process.values["LOGSCALE_TOKEN"]) == 401


def test_a_wrong_token_makes_every_check_err_with_the_reason(
    pytester: pytest.Pytester, serve: ServeProcess
) -> None:
    result = run_contract(pytester, *targets(serve, token="not-the-token"))
    outcomes = result.parseoutcomes()
    assert set(outcomes) == {"errors"}, outcomes
    assert outcomes["errors"] >= AT_LEAST
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [f"LogScale at {serve.url} refused the token (HTTP 401): check --logscale-token*"]
    )


# -- targets the suite refuses ----------------------------------------------------------------


def test_an_unreachable_url_makes_every_check_err_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_contract(pytester, f"--logscale-url=http://127.0.0.1:{port}", "--logscale-token=t")
    assert set(result.parseoutcomes()) == {"errors"}
    result.stdout.fnmatch_lines([f"could not reach LogScale at http://127.0.0.1:{port}/graphql*"])


def test_a_url_without_a_token_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run_contract(pytester, "--logscale-url=http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*got a LogScale URL (http://127.0.0.1:9) but no token*"])


def test_a_url_that_is_not_http_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run_contract(pytester, "--logscale-url=127.0.0.1:8080", "--logscale-token=t")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--logscale-url must start with http:// or https://*"])


def test_a_target_in_the_environment_does_not_touch_other_test_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the options plugin is loaded in every pytest run; only the contract suite reads them
    monkeypatch.setenv("LOGSCALE_URL", "http://127.0.0.1:9")
    pytester.makepyfile("def test_unrelated():\n    pass\n")
    result = pytester.runpytest(*PLUGINS)
    result.assert_outcomes(passed=1)
    assert "logscale contract target" not in result.stdout.str()


# -- the suite notices a broken target ---------------------------------------------------------


def run_through(
    pytester: pytest.Pytester, fake: FakeLogScale, proxy: DistortingProxy, *only: str
) -> pytest.RunResult:
    """The suite (or only the modules named) against the fake behind the proxy."""
    suite = [f"pytest_logscale.contract.{module}" for module in only] or [
        "pytest_logscale.contract"
    ]
    return pytester.runpytest(
        "--pyargs",
        *suite,
        *PLUGINS,
        "-rfEs",
        f"--logscale-url={proxy.url}",
        f"--logscale-token={fake.token}",
        f"--logscale-member-token={fake.member_token}",
        "--logscale-allow-writes",
    )


def test_through_a_faithful_proxy_every_check_passes(
    pytester: pytest.Pytester, logscale_server: FakeLogScale
) -> None:
    # the control for the distortions below: the proxy alone changes nothing

    with DistortingProxy(logscale_server.url, Distortion()) as proxy:
        assert_all_passed(run_through(pytester, logscale_server, proxy))


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_a_target_that_breaks_a_rule_fails_the_check_of_that_rule(
    pytester: pytest.Pytester, logscale_server: FakeLogScale, name: str
) -> None:
    distortion, check = DISTORTIONS[name]
    module, function = check.split("::")
    with DistortingProxy(logscale_server.url, distortion) as proxy:
        result = run_through(pytester, logscale_server, proxy, module)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines([f"FAILED *::{function}*"])
