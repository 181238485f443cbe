"""The rule for missing clients: a skip with the reason locally, a failure in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.programs import require_perl_module, require_program, run

NOT_A_PROGRAM = "pytest-logscale-no-such-client"


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.mark.usefixtures("ci")
def test_a_program_that_is_there_is_found_even_in_ci() -> None:
    assert Path(require_program("sh")).is_file()


@pytest.mark.usefixtures("local")
def test_a_missing_program_skips_with_its_name_locally() -> None:
    with pytest.raises(pytest.skip.Exception, match=f"^{NOT_A_PROGRAM} is not installed$"):
        require_program(NOT_A_PROGRAM)


@pytest.mark.usefixtures("ci")
def test_a_missing_program_fails_in_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"{NOT_A_PROGRAM} is not installed.*CI=true"):
        require_program(NOT_A_PROGRAM)


@pytest.mark.parametrize("value", ["false", "1", "TRUE", ""])
def test_only_ci_true_makes_a_missing_program_a_failure(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception):
        require_program(NOT_A_PROGRAM)


@pytest.mark.usefixtures("ci")
def test_a_perl_module_that_loads_gives_perl() -> None:
    assert require_perl_module("strict", "perl-base") == require_program("perl")


@pytest.mark.usefixtures("local")
def test_a_missing_perl_module_skips_naming_the_debian_package() -> None:
    require_program("perl")
    with pytest.raises(pytest.skip.Exception, match=r"No::Such::Module .*\(Debian package libno\)"):
        require_perl_module("No::Such::Module", "libno")


@pytest.mark.usefixtures("ci")
def test_a_missing_perl_module_fails_in_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="No::Such::Module"):
        require_perl_module("No::Such::Module", "libno")


def test_run_passes_the_environment_and_stdin() -> None:
    done = run(
        ["sh", "-c", 'read -r who; echo "$GREETING $who"'], stdin="world\n", env={"GREETING": "hi"}
    )
    assert done.stdout == "hi world\n"


def test_run_fails_on_a_client_that_exits_non_zero_showing_its_stderr() -> None:
    with pytest.raises(AssertionError, match="sh exited 3: broken"):
        run(["sh", "-c", "echo broken >&2; exit 3"])
