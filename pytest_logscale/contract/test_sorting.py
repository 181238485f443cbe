"""Sorting: every sortBy key orders results both ways, missing values last, ties by id."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_logscale.contract.client import LogScaleClient
from pytest_logscale.contract.rules import SORT_KEYS, first_out_of_order

WINDOW = 200

pytestmark = [
    pytest.mark.parametrize("sort_by", sorted(SORT_KEYS)),
    pytest.mark.parametrize("order_by", ["ASC", "DESC"]),
]


def one_page(
    client: LogScaleClient, level: str, sort_by: str, order_by: str
) -> list[dict[str, Any]]:
    page = client.sessions(
        level=level, onlyActiveSessions=False, sortBy=sort_by, orderBy=order_by, limit=WINDOW
    )
    results: list[dict[str, Any]] = page["results"]
    return results


def test_each_sort_key_orders_the_results(
    client: LogScaleClient, widest_level: str, sort_by: str, order_by: str
) -> None:
    """[doc: the keys] [chosen: how each compares, null last both ways] Results are in order.

    LastActivityTime and LoginTime compare as numbers, IPAddress as the address
    (IPv4 before IPv6), Location by country then city, ClientInfo and User
    (the username) as text ignoring case.
    """
    results = one_page(client, widest_level, sort_by, order_by)
    assert first_out_of_order(results, sort_by, order_by, ties_by_id=False) is None, (
        first_out_of_order(results, sort_by, order_by, ties_by_id=False)
    )


def test_equal_keys_are_ordered_by_id_ascending(
    client: LogScaleClient, widest_level: str, sort_by: str, order_by: str
) -> None:
    """[chosen] Sessions with equal keys come by id ascending, in both directions.

    This is what makes paging stable; observable only where keys are equal.
    """
    results = one_page(client, widest_level, sort_by, order_by)
    assert first_out_of_order(results, sort_by, order_by) is None, first_out_of_order(
        results, sort_by, order_by
    )
