"""Fuzzing with fragment-heavy documents over real HTTP: no 5xx, and a bounded time per request.

hypothesis-graphql and schemathesis generate no fragments, yet fragments are
where a document's cost hides: spreads of spreads (a "fragment bomb" when
each is spread twice), long chains, cycles, undefined names, fragments spread
where their type does not fit, inline fragments around them. This strategy
generates exactly those, mostly valid, so that both the limits and execution
are reached. Derandomized and bounded, so CI runs the same cases in seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_logscale import FakeLogScale
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 30
SECONDS_PER_REQUEST = 2.0  # a bomb expanded would take hours; measured it takes milliseconds
LEAVES = {
    "User": ("id", "username", "displayName", "email", "isOrgRoot"),
    "Organization": ("id", "name", "cid", "createdAt"),
    "Query": ("__typename",),
}
FIELD_OF = {"User": "currentUser", "Organization": "organization"}


@st.composite
def fragment_heavy(draw: st.DrawFn) -> str:
    """A document of up to 30 fragments on three types, spreading each other."""
    count = draw(st.integers(1, 30))
    types = [draw(st.sampled_from(sorted(LEAVES))) for _ in range(count)]
    # a chain spreads the next fragment once, a bomb twice or more, a mix any later one
    style = draw(st.sampled_from(["mix", "chain", "bomb"]))
    repeats = {"mix": (1, 1, 2), "chain": (1,), "bomb": (2, 3)}[style]
    # one document in five spreads wrongly now and then: a cycle, a misfit, an undefined name
    flawed = draw(st.sampled_from([False] * 4 + [True]))
    fragments = []
    for index, on in enumerate(types):
        later_same = [j for j in range(index + 1, count) if types[j] == on]
        parts: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["leaf", "leaf", "spread", "spread", "inline"]))
            anomaly = flawed and draw(st.booleans())
            if kind == "leaf" or not (later_same or anomaly):
                leaf = draw(st.sampled_from(LEAVES[on]))
                parts.append(draw(st.sampled_from([leaf, f"also_{leaf}: {leaf}"])))
            elif kind == "spread":
                if anomaly:
                    target = draw(st.integers(0, count))
                elif style == "mix":
                    target = draw(st.sampled_from(later_same))
                else:
                    target = later_same[0]
                spread = f"...F{target}"
                parts.append(" ".join([spread] * draw(st.sampled_from(repeats))))
            else:
                inner = draw(st.sampled_from(LEAVES[on]))
                parts.append(f"... on {on} {{ {inner} }}")
        fragments.append(f"fragment F{index} on {on} {{ {' '.join(parts)} }}")
    roots = []
    for on in sorted(LEAVES):
        spreads = " ".join(f"...F{i}" for i, kind in enumerate(types) if kind == on)
        if spreads:
            roots.append(spreads if on == "Query" else f"{FIELD_OF[on]} {{ {spreads} }}")
    return "{ " + " ".join(roots) + " } " + " ".join(fragments)


@pytest.fixture(scope="module")
def server(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory() as fake:
        yield fake


def test_fragment_heavy_documents_get_an_answer_or_a_400_quickly_never_a_5xx(
    server: FakeLogScale, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses: Counter[int] = Counter()
    refusals: Counter[str] = Counter()
    slowest = 0.0
    started = time.perf_counter()
    client = requests.Session()
    client.headers["Authorization"] = f"Bearer {server.token}"

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(query=fragment_heavy())
    def run(query: str) -> None:
        nonlocal slowest
        began = time.perf_counter()
        response = client.post(server.graphql_url, json={"query": query}, timeout=TIMEOUT)
        elapsed = time.perf_counter() - began
        slowest = max(slowest, elapsed)
        statuses[response.status_code] += 1
        assert response.status_code in (200, 400), (query, response.status_code, response.text)
        assert elapsed < SECONDS_PER_REQUEST, (query, elapsed)
        body = response.json()
        if response.status_code == 400:
            refusals[_kind(body["errors"][0]["message"])] += 1
        else:
            assert body["data"] is not None, body

    run()
    client.close()
    assert server.execute("{ currentUser { id } }")["data"]["currentUser"]["id"]
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nfuzz fragment-heavy: {sum(statuses.values())} documents in {seconds:.1f} s, "
            f"slowest {slowest * 1000:.0f} ms, {dict(statuses)}, refused: {dict(refusals)}"
        )
    # the strategy reaches execution, the selection size limit and validation alike
    assert statuses[200] >= 10
    assert refusals["selection size"] >= 5
    assert refusals["validation"] >= 10


def _kind(message: str) -> str:
    if "GraphQLSelectionSizeLimit" in message:
        return "selection size"
    if "(max_depth)" in message or "(max_fragment_depth)" in message:
        return "depth"
    return "validation"
