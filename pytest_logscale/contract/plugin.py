"""The contract suite's options and test order, loaded through its own pytest11 entry.

Options must be known before pytest parses the command line, which happens
before ``pytest --pyargs pytest_logscale.contract`` finds the suite's
conftest; so they live here, in a plugin every pytest run loads. That is all it
adds to a run that does not select the suite: four options, which nothing reads
then, and no marker and no import beyond pytest (the suite's marker and
fixtures live in its conftest, its HTTP client is imported when the suite runs).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .client import Target

__all__ = ["WRITES_MARKER", "configured_target", "target_of"]

WRITES_MARKER = "logscale_contract_writes"

_target_key = pytest.StashKey["Target | None"]()

_ENVIRONMENT = {
    "logscale_url": "LOGSCALE_URL",
    "logscale_token": "LOGSCALE_TOKEN",
    "logscale_member_token": "LOGSCALE_MEMBER_TOKEN",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "logscale-contract", "LogScale contract suite (pytest --pyargs pytest_logscale.contract)"
    )
    group.addoption(
        "--logscale-url",
        dest="logscale_url",
        default=None,
        help="run the contract suite against this LogScale base URL instead of an in-process "
        "fake (default: $LOGSCALE_URL)",
    )
    group.addoption(
        "--logscale-token",
        dest="logscale_token",
        default=None,
        help="token for --logscale-url, ideally a session token (default: $LOGSCALE_TOKEN)",
    )
    group.addoption(
        "--logscale-member-token",
        dest="logscale_member_token",
        default=None,
        help="optional token of a user without ChangeSessions, for the permission check "
        "(default: $LOGSCALE_MEMBER_TOKEN)",
    )
    group.addoption(
        "--logscale-allow-writes",
        dest="logscale_allow_writes",
        action="store_true",
        default=False,
        help="let the contract suite log out the session of --logscale-token as its last check",
    )


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name) or os.environ.get(_ENVIRONMENT[name], "")
    return value.strip() or None


def configured_target(config: pytest.Config) -> Target | None:
    """The remote target the options and environment name, or None for the in-process fake.

    Raises ``pytest.UsageError`` for a URL without a token or a URL that is not http(s).
    """
    url = _setting(config, "logscale_url")
    if url is None:
        return None
    token = _setting(config, "logscale_token")
    if token is None:
        raise pytest.UsageError(
            f"the contract suite got a LogScale URL ({url}) but no token: "
            "pass --logscale-token or set LOGSCALE_TOKEN"
        )
    if not url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--logscale-url must start with http:// or https://, got {url!r}")
    from .client import Target  # only when the suite runs against a remote LogScale

    return Target(
        url=url,
        token=token,
        member_token=_setting(config, "logscale_member_token"),
        allow_writes=bool(config.getoption("logscale_allow_writes")),
    )


def target_of(config: pytest.Config) -> Target | None:
    """The remote target checked in this run (None: the in-process fake), once collected."""
    return config.stash.get(_target_key, None)


def _is_contract_check(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and item.module.__name__.startswith(f"{__package__}.")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(_is_contract_check(item) for item in items):
        return
    # settle the target once, before any test runs: a bad option is one clear usage error
    config.stash[_target_key] = configured_target(config)
    # a write may end the session every other check uses, so writes go last (stable otherwise)
    items.sort(key=lambda item: item.get_closest_marker(WRITES_MARKER) is not None)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    if _target_key not in config.stash:
        return []
    target = target_of(config)
    where = "an in-process fake" if target is None else target.describe()
    return [f"logscale contract target: {where}"]
