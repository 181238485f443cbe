"""Property-based fuzzing over real HTTP: whatever arrives, no 5xx, and the server answers after.

Documents are generated from the schema the server serves (fetched by
introspection) with hypothesis-graphql: valid ones, as any caller with any
role might send, and invalid ones; bodies are also raw bytes, random JSON and
mangled versions of valid requests. Each test is bounded (``max_examples``)
and derandomized, so CI runs the same cases every time, in a few seconds.
The figures are printed to the terminal even without ``-s``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from graphql import GraphQLSchema, build_client_schema, get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from pytest_logscale import FakeLogScale
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 30
ROLES = ("owner", "admin", "member", "api")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONGS = st.integers(-(2**63), 2**63 - 1).map(nodes.Int)


class Fuzzer:
    """One server, a keep-alive client, and a tally of what came back."""

    def __init__(self, server: FakeLogScale) -> None:
        self.server = server
        self.client = requests.Session()
        self.statuses: Counter[int] = Counter()
        self.started = time.perf_counter()

    def token(self, role: str) -> str:
        server = self.server
        if role == "api":
            return server.api_token(server.admin())
        return {"owner": server.token, "admin": server.admin_token, "member": server.member_token}[
            role
        ]

    def send(self, body: bytes | str, role: str = "owner") -> requests.Response:
        """POST a body in the freshly seeded state; fail on any 5xx."""
        self.server.reset()  # mutations may have logged out or revoked the caller
        headers = {"Authorization": f"Bearer {self.token(role)}"}
        response = self.client.post(
            self.server.graphql_url, data=body, headers=headers, timeout=TIMEOUT
        )
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, (body, response.status_code, response.text)
        response.json()  # every answer is JSON
        return response

    def finish(self, capsys: pytest.CaptureFixture[str], what: str) -> None:
        """Check that the server still answers, then print the figures."""
        self.server.reset()
        answer = self.server.execute("{ currentUser { id } }")
        assert answer["data"]["currentUser"]["id"], answer
        self.client.close()
        seconds = time.perf_counter() - self.started
        cases = sum(self.statuses.values())
        tally = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        with capsys.disabled():
            print(f"\nfuzz {what}: {cases} cases in {seconds:.1f} s, no 5xx ({tally})")


@pytest.fixture(scope="module")
def server(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory() as fake:
        yield fake


@pytest.fixture(scope="module")
def served_schema(server: FakeLogScale) -> GraphQLSchema:
    """The schema as the server serves it, by introspection over HTTP."""
    answer = server.execute(get_introspection_query(descriptions=False))
    return build_client_schema(answer["data"])


def graphql_body(query: Any) -> str:
    return json.dumps({"query": query})


def test_valid_documents_from_the_served_schema_never_get_a_5xx(
    server: FakeLogScale, served_schema: GraphQLSchema, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzzer = Fuzzer(server)
    documents = from_schema(served_schema, custom_scalars={"Long": LONGS})

    @settings(FUZZ, max_examples=300)
    @given(query=documents, role=st.sampled_from(ROLES))
    def run(query: Any, role: str) -> None:
        response = fuzzer.send(graphql_body(query), role)
        # valid documents are executed: an answer with data, or a request error on a variable
        assert response.status_code == 200, response.text
        assert "data" in response.json()

    run()
    fuzzer.finish(capsys, "valid documents")
    assert fuzzer.statuses[200] >= 150


def test_invalid_documents_from_the_served_schema_get_400(
    server: FakeLogScale, served_schema: GraphQLSchema, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzzer = Fuzzer(server)
    documents = from_schema(served_schema, custom_scalars={"Long": LONGS}, mode=Mode.NEGATIVE)

    @FUZZ
    @given(query=documents)
    def run(query: Any) -> None:
        response = fuzzer.send(graphql_body(query))
        if response.status_code == 400:
            errors = response.json()["errors"]
            assert errors and all(error["message"] for error in errors)
        else:  # a few generated "invalid" values are valid after all (e.g. an unchecked Long)
            assert response.status_code == 200, response.text

    run()
    fuzzer.finish(capsys, "invalid documents")
    assert fuzzer.statuses[400] >= 100


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
REQUEST_KEYS = st.sampled_from(["query", "variables", "operationName", "extensions"])


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    """Raw bytes, random JSON, request-shaped JSON with random values, or a mangled request."""
    kind = draw(st.sampled_from(["bytes", "json", "shaped", "mangled"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "shaped":
        return json.dumps(draw(st.dictionaries(REQUEST_KEYS, JSON, min_size=1))).encode()
    valid = b'{"query": "query Q($n: Int) { sessions(limit: $n) { results { id } } }"}'
    start = draw(st.integers(0, len(valid)))
    end = draw(st.integers(start, len(valid)))
    return valid[:start] + draw(st.binary(max_size=20)) + valid[end:]


def test_garbage_bodies_never_get_a_5xx(
    server: FakeLogScale, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzzer = Fuzzer(server)

    @settings(FUZZ, max_examples=400)
    @given(body=garbage())
    def run(body: bytes) -> None:
        fuzzer.send(body)

    run()
    fuzzer.finish(capsys, "garbage bodies")
    assert fuzzer.statuses[400] >= 200
