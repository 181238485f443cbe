"""The httpx client, synchronous and asynchronous, against the fake."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from test_seed_docs import SESSIONS_DOC, assert_documented_sessions_shape, snippet

from pytest_logscale import FakeLogScale

PAGE = (
    "query Page($skip: Int) {"
    " sessions(level: Organization, limit: 10, skip: $skip) { results { id } } }"
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_httpx_runs_the_documented_query(logscale_server: FakeLogScale) -> None:
    with httpx.Client(headers=bearer(logscale_server.token), timeout=60) as client:
        response = client.post(
            logscale_server.graphql_url, json={"query": snippet(SESSIONS_DOC, "Raw")}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert_documented_sessions_shape(response.json())
    assert len(response.json()["data"]["sessions"]["results"]) == 10


def test_httpx_logs_out_and_then_gets_401(logscale_server: FakeLogScale) -> None:
    with httpx.Client(headers=bearer(logscale_server.member_token), timeout=60) as client:
        logout = client.post(
            logscale_server.graphql_url, json={"query": "mutation { logoutOfSession }"}
        )
        assert (logout.status_code, logout.json()) == (200, {"data": {"logoutOfSession": True}})
        after = client.post(logscale_server.graphql_url, json={"query": "{ currentUser { id } }"})
    assert (after.status_code, after.text) == (401, "The supplied authentication is invalid")
    assert "logged out" in str(logscale_server.journal.entries[-1].auth_failure)


async def pages(server: FakeLogScale, skips: list[int]) -> list[Any]:
    async with httpx.AsyncClient(headers=bearer(server.token), timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(server.graphql_url, json={"query": PAGE, "variables": {"skip": skip}})
                for skip in skips
            )
        )
    assert [response.status_code for response in responses] == [200] * len(skips)
    return [response.json()["data"]["sessions"]["results"] for response in responses]


def test_httpx_async_pages_fetched_at_once_partition_the_results(
    logscale_server: FakeLogScale,
) -> None:
    first, second, third = asyncio.run(pages(logscale_server, [0, 10, 20]))
    whole = logscale_server.execute(PAGE.replace("limit: 10", "limit: 30"), {"skip": 0})
    assert first + second + third == whole["data"]["sessions"]["results"]
    assert len({result["id"] for result in first + second + third}) == 30
    assert len(logscale_server.journal.calls("sessions")) == 4


# -- what HTTP clients send that LogScale may not take (issue 13) ------------------------------


def test_httpx_get_query_with_accept_json_gets_405_and_json_saying_post(
    logscale_server: FakeLogScale,
) -> None:
    headers = {**bearer(logscale_server.token), "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as client:
        response = client.get(
            logscale_server.graphql_url, params={"query": "{ currentUser { id } }"}
        )
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]


def test_httpx_application_graphql_body_is_refused_by_name(logscale_server: FakeLogScale) -> None:
    headers = {**bearer(logscale_server.token), "Content-Type": "application/graphql"}
    with httpx.Client(headers=headers, timeout=60) as client:
        response = client.post(logscale_server.graphql_url, content="{ currentUser { id } }")
    assert response.status_code == 415
    assert "application/graphql" in response.json()["errors"][0]["message"]


def test_httpx_persisted_query_hash_gets_persisted_query_not_supported(
    logscale_server: FakeLogScale,
) -> None:
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    with httpx.Client(headers=bearer(logscale_server.token), timeout=60) as client:
        response = client.post(logscale_server.graphql_url, json=body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "PersistedQueryNotSupported"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


def test_httpx_unknown_token_gets_logscales_plain_401(logscale_server: FakeLogScale) -> None:
    with httpx.Client(headers=bearer("not-a-token"), timeout=60) as client:
        response = client.post(
            logscale_server.graphql_url, json={"query": "{ currentUser { id } }"}
        )
    assert (response.status_code, response.text) == (401, "The supplied authentication is invalid")
    assert response.headers["content-type"].startswith("text/plain")
