"""Two servers in one process never accept each other's tokens, unless they loaded one state.

Tokens stay fixed by the seed: the n-th server made with the same options in a
process has the same tokens in every run.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from pytest_logscale import FakeLogScale, SeedOptions

ME = "{ sessions { totalResults } }"


def status(fake: FakeLogScale, token: str) -> int:
    code, _body = fake.post('{"query": "' + ME + '"}', token=token)
    return code


def test_a_token_of_one_server_is_refused_by_another_with_the_same_seed(
    logscale_server_factory: Any,
) -> None:
    first, second = logscale_server_factory(seed=5), logscale_server_factory(seed=5)
    assert first.owner().id == second.owner().id  # the same data...
    made = {
        "seeded session": (first.token, second.token),
        "login": (first.login(first.admin()).token, second.login(second.admin()).token),
        "api token": (first.api_token(first.member()), second.api_token(second.member())),
    }
    for kind, (mine, theirs) in made.items():
        assert mine != theirs, kind  # ...but not the same tokens
        assert status(first, mine) == 200, kind
        assert status(second, mine) == 401, kind
        assert status(first, theirs) == 401, kind


def test_the_same_state_loaded_into_two_servers_shares_its_tokens(
    logscale_server_factory: Any,
) -> None:
    first, second = logscale_server_factory(seed=6), logscale_server_factory(seed=6)
    api = first.api_token(first.owner())
    second.load_state(first.dump_state())
    assert status(second, first.token) == 200
    assert status(second, api) == 200
    assert second.token == first.token


def test_a_reset_keeps_a_servers_tokens(logscale_server_factory: Any) -> None:
    fake = logscale_server_factory(seed=8)
    token = fake.token
    fake.reset()
    assert fake.token == token and status(fake, token) == 200


@pytest.mark.parametrize("servers", [1, 3])
def test_tokens_are_the_same_in_every_run(servers: int) -> None:
    code = (
        "from pytest_logscale import FakeLogScale, SeedOptions\n"
        f"fakes = [FakeLogScale(SeedOptions(seed=11)) for _ in range({servers})]\n"
        "print(' '.join(f.token for f in fakes))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == servers


def test_the_first_server_with_some_options_has_the_seeds_own_tokens() -> None:
    from pytest_logscale import seed_dataset

    options = SeedOptions(seed=12345, sessions=5)
    fake = FakeLogScale(options)
    seeded = seed_dataset(options)
    assert fake.token in {s.token for s in seeded.sessions.values()}
