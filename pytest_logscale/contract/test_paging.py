"""Paging: skip and limit cut one ordered list into pages, every match exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_logscale.contract.client import LogScaleClient
from pytest_logscale.contract.rules import duplicates

#: How many leading results the paging checks compare (all of them when fewer match).
WINDOW = 100

# keys that requests cannot change (LastActivityTime moves as the caller makes requests)
ORDERS = [("LoginTime", "ASC"), ("IPAddress", "DESC"), ("User", "ASC"), ("Location", "DESC")]


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [result["id"] for result in results]


def pages(
    client: LogScaleClient, count: int, page_size: int, **arguments: Any
) -> list[dict[str, Any]]:
    """Pages of ``page_size`` from skip 0 on, until ``count`` results are covered."""
    found: list[dict[str, Any]] = []
    for skip in range(0, count, page_size):
        found.append(client.sessions(skip=skip, limit=page_size, **arguments))
    return found


@pytest.mark.parametrize(("sort_by", "order_by"), ORDERS)
@pytest.mark.parametrize("page_size", [2, 7])
def test_small_pages_put_together_are_one_big_page(
    client: LogScaleClient, widest_level: str, sort_by: str, order_by: str, page_size: int
) -> None:
    """[doc: skip/limit] [chosen: ties by id make the order total] Pages partition the results."""
    arguments: dict[str, Any] = {
        "level": widest_level,
        "onlyActiveSessions": False,
        "sortBy": sort_by,
        "orderBy": order_by,
    }
    big = client.sessions(skip=0, limit=WINDOW, **arguments)["results"]
    small = [r for page in pages(client, len(big), page_size, **arguments) for r in page["results"]]
    assert not duplicates(small), f"sessions on more than one page: {duplicates(small)}"
    # the last small page may reach past the big one when more than WINDOW match
    assert ids(small[: len(big)]) == ids(big), (
        f"pages of {page_size} (sortBy {sort_by} {order_by}) differ from one page of {WINDOW}"
    )


def test_total_results_counts_every_match_on_every_page(client: LogScaleClient, level: str) -> None:
    """[doc] totalResults is the number of matches before skip and limit, the same on each page."""
    arguments: dict[str, Any] = {"level": level, "onlyActiveSessions": False, "sortBy": "LoginTime"}
    first = client.sessions(skip=0, limit=WINDOW, **arguments)
    total = first["totalResults"]
    assert total >= len(first["results"])
    if total > WINDOW:
        assert len(first["results"]) == WINDOW, "a full page was cut short"
    else:
        assert len(first["results"]) == total, "totalResults disagrees with the results listed"
    every_page = pages(client, min(total, WINDOW), 5, **arguments)
    assert {page["totalResults"] for page in every_page} <= {total}
    past_the_end = client.sessions(skip=total, limit=5, **arguments)
    assert past_the_end == {"totalResults": total, "results": []}


@pytest.mark.parametrize(("skip", "limit"), [(0, 1), (0, 5), (2, 3)])
def test_a_page_holds_limit_results_or_what_is_left(
    client: LogScaleClient, widest_level: str, skip: int, limit: int
) -> None:
    """[doc: skip/limit] A page has ``limit`` results, or every one left after ``skip``."""
    arguments: dict[str, Any] = {"level": widest_level, "onlyActiveSessions": False}
    page = client.sessions(skip=skip, limit=limit, **arguments)
    expected = max(0, min(limit, page["totalResults"] - skip))
    assert len(page["results"]) == expected, page


def test_the_documented_defaults_are_skip_0_limit_50_and_only_active_sessions(
    client: LogScaleClient,
) -> None:
    """[doc] Leaving out skip, limit and onlyActiveSessions means 0, 50 and true."""
    fixed: dict[str, Any] = {"level": "User", "sortBy": "LoginTime", "orderBy": "ASC"}
    implicit = client.sessions(**fixed)
    explicit = client.sessions(skip=0, limit=50, onlyActiveSessions=True, **fixed)
    assert implicit["totalResults"] == explicit["totalResults"]
    assert ids(implicit["results"]) == ids(explicit["results"])


def test_the_documented_order_default_is_ascending(client: LogScaleClient) -> None:
    """[doc: sessions() reference page] orderBy defaults to ASC."""
    fixed: dict[str, Any] = {"level": "User", "sortBy": "LoginTime", "onlyActiveSessions": False}
    implicit = client.sessions(**fixed)
    explicit = client.sessions(orderBy="ASC", **fixed)
    assert ids(implicit["results"]) == ids(explicit["results"])


def test_the_documented_sort_default_is_last_activity_time(client: LogScaleClient) -> None:
    """[doc: sessions() reference page] sortBy defaults to LastActivityTime.

    The caller's own session is the latest active in both requests, so its own
    activity cannot tell the two apart.
    """
    fixed: dict[str, Any] = {"level": "User", "orderBy": "ASC", "onlyActiveSessions": False}
    implicit = client.sessions(**fixed)
    explicit = client.sessions(sortBy="LastActivityTime", **fixed)
    assert ids(implicit["results"]) == ids(explicit["results"])
