"""Fixtures of the contract suite: the target, a client for it, and what the caller may do.

The options that choose the target are registered by
:mod:`pytest_logscale.contract.plugin`.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_logscale.contract.client import LogScaleClient, Target, TooMany
from pytest_logscale.contract.plugin import WRITES_MARKER, target_of


def pytest_configure(config: pytest.Config) -> None:
    # here rather than in the plugin: a project that never runs the suite gets no marker
    config.addinivalue_line(
        "markers",
        f"{WRITES_MARKER}: a contract check that changes the target's state; "
        "it runs after every other test, and only when writes are allowed.",
    )


def _checked(target: Target) -> Target:
    """The target, once it has answered ``currentUser`` with its token; else every check errs."""
    client = LogScaleClient(target)
    try:
        reply = client.post("{ currentUser { id } }")
    except (urllib.error.URLError, OSError) as error:
        pytest.fail(f"could not reach LogScale at {target.graphql_url}: {error}", pytrace=False)
    if reply.status == 401:
        pytest.fail(
            f"LogScale at {target.url} refused the token (HTTP 401): check --logscale-token "
            f"or LOGSCALE_TOKEN\n{reply.describe()}",
            pytrace=False,
        )
    body = reply.body
    if reply.status != 200 or not isinstance(body, dict) or not body.get("data"):
        pytest.fail(
            f"{target.graphql_url} does not answer like LogScale's GraphQL API\n{reply.describe()}",
            pytrace=False,
        )
    return target


@pytest.fixture(scope="session")
def contract_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """What the suite checks: the URL and token given, else a fake started for this run.

    The in-process fake comes from ``logscale_server_factory``, so the
    ``--logscale-seed`` family of options chooses its data. It is private to
    the run, so writes are always allowed there.
    """
    remote = target_of(request.config)
    if remote is not None:
        yield _checked(remote)
        return
    fake = request.getfixturevalue("logscale_server_factory")()
    yield _checked(
        Target(
            url=fake.url,
            token=fake.token,
            member_token=fake.member_token,
            allow_writes=True,
            in_process=True,
        )
    )


@pytest.fixture(scope="session")
def client(contract_target: Target) -> LogScaleClient:
    """A GraphQL client for the target, authenticated with its token by default."""
    return LogScaleClient(contract_target)


@pytest.fixture(scope="session")
def caller(client: LogScaleClient) -> dict[str, Any]:
    """``currentUser { id username email }`` of the target's token."""
    user = client.data("{ currentUser { id username email } }")["currentUser"]
    assert isinstance(user, dict)
    return user


@pytest.fixture(scope="session")
def can_change_sessions(client: LogScaleClient) -> bool:
    """Whether the token's user has the ``ChangeSessions`` permission."""
    data = client.data("{ organization { isActionAllowed(action: ChangeSessions) } }")
    return bool(data["organization"]["isActionAllowed"])


@pytest.fixture(scope="session")
def widest_level(can_change_sessions: bool) -> str:
    """``Organization`` when the caller may list every session there, else ``User``."""
    return "Organization" if can_change_sessions else "User"


@pytest.fixture(scope="session")
def every_session(client: LogScaleClient, widest_level: str) -> list[dict[str, Any]]:
    """Every session the caller can see, ended ones included (skips when there are too many)."""
    try:
        return client.all_sessions(level=widest_level, onlyActiveSessions=False, sortBy="LoginTime")
    except TooMany as error:
        pytest.skip(str(error))


@pytest.fixture(params=["User", "Organization"])
def level(request: pytest.FixtureRequest, can_change_sessions: bool) -> str:
    """Each sessions() level in turn; Organization skips for a caller without ChangeSessions."""
    chosen: str = request.param
    if chosen == "Organization" and not can_change_sessions:
        pytest.skip("the token's user lacks ChangeSessions, so cannot list the organization's")
    return chosen
