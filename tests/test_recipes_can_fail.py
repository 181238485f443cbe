"""Every recipe of docs/examples fails when its key step is taken out (issue 15).

A recipe that still passes without the logout, the clock move or the marker it
is about proves nothing. For each test of each example, the mapping below names
its key step and what to put instead (nothing: the step is deleted; or the same
step aimed elsewhere, for a recipe about what must *not* happen). The mutated
file is run with pytester and must fail, by an assertion of the recipe, not by
an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Imported here so that in-process pytester runs find it loaded (see test_docs_examples).
import requests  # noqa: F401

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

#: file -> test -> (key step as written in the file, what replaces it)
KEY_STEPS: dict[str, dict[str, tuple[str, str]]] = {
    "test_expiry.py": {
        "test_a_session_idle_longer_than_the_limit_expires": (
            "    logscale_server.clock.advance(hours=10, seconds=1)\n",
            "",
        ),
        "test_shorter_limits_set_by_an_admin_apply_at_once": (
            "    logscale_server.execute(\n"
            '        "mutation($input: SessionInput!) { updateSessionSettings(input: $input) '
            '{ id } }",\n'
            '        {"input": {"maxInactivityPeriod": 5 * minute, '
            '"forceReauthenticationAfter": 60 * minute}},\n'
            "        token=logscale_server.admin_token,\n"
            "    )\n",
            "",
        ),
        "test_each_test_starts_at_the_seeded_instant": (
            "    logscale_server.clock.advance(hours=hours)\n",
            "",
        ),
        "test_a_personal_api_token_outlives_the_session_limits": (
            "    logscale_server.clock.advance(hours=11)  # past the seeded 10-hour idle limit\n",
            "",
        ),
    },
    "test_logout.py": {
        "test_after_logout_the_token_is_refused": ("    client.logout()\n", ""),
        "test_logging_out_ends_only_the_session_used": (
            "    Client(logscale_server.url, laptop.token).logout()\n",
            "",
        ),
    },
    "test_module_seeding.py": {
        "test_the_module_marker_applies": (
            "pytestmark = pytest.mark.logscale(seed=42, users=40, sessions=500)\n",
            "",
        ),
        "test_a_closer_marker_wins": ("@pytest.mark.logscale(sessions=30)\n", ""),
    },
    "test_mutation_called.py": {
        "test_signing_a_user_out_revokes_all_their_sessions": (
            "    sign_out_everywhere("
            "logscale_server.url, logscale_server.admin_token, member.id)\n",
            "",
        ),
        "test_inline_input_is_matched_the_same_way": (
            "    logscale_server.execute(\n"
            "        f'mutation {{ revokeSession(input: "
            '{{id: "{member.id}", revocationType: User}}) }}\',\n'
            "        token=logscale_server.admin_token,\n"
            "    )\n",
            "",
        ),
    },
    "test_paging.py": {
        "test_the_client_fetches_every_session_exactly_once": (
            '"skip": len(ids)',
            '"skip": 0',
        ),
    },
    "test_second_server.py": {
        "test_two_clusters_do_not_share_anything": (
            '    logscale_server.execute("mutation { logoutOfSession }", '
            "token=logscale_server.member_token)\n",
            '    staging.execute("mutation { logoutOfSession }", token=staging.member_token)\n',
        ),
    },
    "test_state_replay.py": {
        "test_capture_and_replay": ("        replay.load_state(path)\n", ""),
    },
    "test_two_organizations.py": {
        "test_each_owner_sees_only_their_own_organization": (
            "    token = logscale_server.session_token(second_owner)\n",
            "    token = logscale_server.token\n",
        ),
        "test_revoking_an_organization_spares_the_other": (
            "    logscale_server.execute(\n"
            "        f'mutation {{ revokeSession(input: "
            '{{id: "{first.id}", revocationType: Organization}}) }}\',\n'
            "        token=owner,\n"
            "    )\n",
            "",
        ),
    },
}

CASES = [
    (file, test, step) for file, tests in sorted(KEY_STEPS.items()) for test, step in tests.items()
]


def _tests_of(path: Path) -> set[str]:
    return {
        line.split("(")[0][len("def ") :]
        for line in path.read_text().splitlines()
        if line.startswith("def test_")
    }


def test_every_test_of_every_example_has_a_key_step() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("test_*.py"))
    assert sorted(KEY_STEPS) == files
    for name in files:
        assert set(KEY_STEPS[name]) == _tests_of(EXAMPLES / name), name


@pytest.mark.parametrize(("file", "test", "step"), CASES, ids=[f"{f}::{t}" for f, t, _ in CASES])
def test_the_recipe_fails_without_its_key_step(
    pytester: pytest.Pytester, file: str, test: str, step: tuple[str, str]
) -> None:
    text = (EXAMPLES / file).read_text()
    key, instead = step
    assert text.count(key) == 1, f"the key step of {test} is not (once) in {file}"
    module = f"test_mutated_{file[5:-3]}"  # a module name of its own, as in test_docs_examples
    pytester.makepyfile(**{module: text.replace(key, instead)})
    result = pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:faker", "-k", test)
    outcomes = result.parseoutcomes()
    output = result.stdout.str()
    assert outcomes.get("failed", 0) >= 1, output
    assert set(outcomes) <= {"failed", "deselected"}, output  # no pass, no error
    assert "AssertionError" in output or "assert " in output, output
