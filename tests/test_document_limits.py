"""Limits on query documents over real HTTP: LogScale's selection size, depth, fragment depth,
tokens, and the document cache's memory bound.

Fragments are counted where they are spread, each fragment measured once, so
a document built to be expensive (a "fragment bomb", a long chain of spreads)
is refused in time proportional to its text, with a 400 naming the limit.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import graphql
import pytest
import requests
from serve_process import ServeProcess, run_serve

from pytest_logscale import AppOptions, FakeLogScale
from pytest_logscale.domain.records import ALL_ACTIONS
from pytest_logscale.graphql.documents import DocumentCache
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 30
CURRENT_USER = "{ currentUser { id } }"
GAVE_UP = (
    "Validation aborted: graphql-core's validation gave up on this document, which would cost "
    "too much to validate (fragments nested past graphql-core's own bound, or many copies of "
    "one field to compare). Simplify the document."
)

OVER_BUDGET = (
    "Validation aborted: checking that this document's fields can be merged costs more "
    "than the validation budget of {} comparisons (validation_budget, "
    "serve --validation-budget). Use fewer copies of the same field or fragment."
)


def ask(server: FakeLogScale, query: str, timeout: float = TIMEOUT) -> requests.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return requests.post(
        server.url + "/graphql", json={"query": query}, headers=headers, timeout=timeout
    )


def refusal(response: requests.Response) -> str:
    """The only error message of an answer that must be a 400 without data."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body, body
    (error,) = body["errors"]
    message: str = error["message"]
    return message


def assert_still_answers(server: FakeLogScale) -> None:
    response = ask(server, CURRENT_USER)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentUser"]["id"] == server.owner().id


def standalone_cache(server: FakeLogScale, **limits: int) -> DocumentCache:
    """A document cache of the server's schema, away from the server, with these limits."""
    options = AppOptions(**limits)  # type: ignore[arg-type]
    return DocumentCache(server.app.schema, limits=options.query_limits, max_bytes=1 << 25)


def bomb(fragments: int, leaf: str = "id") -> str:
    """Each fragment spreads the next one twice: 2**fragments leaves if expanded."""
    chain = " ".join(
        f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(fragments)
    )
    return f"{{ currentUser {{ ...F0 }} }} {chain} fragment F{fragments} on User {{ {leaf} }}"


def bomb_size(fragments: int) -> int:
    """Selections of :func:`bomb` counted as LogScale's limit counts them, spreads expanded."""
    size = 1  # the leaf
    for _ in range(fragments):
        size = 2 * (1 + size)  # two spreads, each counting the fragment it spreads
    return 1 + 1 + size  # currentUser and its spread of F0


def chain(fragments: int) -> str:
    """A valid query spreading a chain of fragments, each spreading the next once."""
    links = " ".join(f"fragment F{i} on User {{ ...F{i + 1} }}" for i in range(fragments))
    return f"{{ currentUser {{ ...F0 }} }} {links} fragment F{fragments} on User {{ id }}"


# -- the fragment bomb -----------------------------------------------------------------------------


@pytest.mark.parametrize("fragments", [10, 20, 30])
def test_a_fragment_bomb_is_refused_quickly_naming_the_selection_size_limit(
    logscale_server: FakeLogScale, fragments: int
) -> None:
    started = time.perf_counter()
    response = ask(logscale_server, bomb(fragments), timeout=10)
    elapsed = time.perf_counter() - started
    message = refusal(response)
    assert message == (
        f"The operation selects {bomb_size(fragments)} fields and fragments, counting a fragment "
        "each time it is spread; this server allows at most 1000 "
        "(LogScale's GraphQLSelectionSizeLimit, max_selection_size)."
    )
    # expanded, K=20 costs seconds and K=30 hours; measured once per fragment it is instant
    assert elapsed < 2, elapsed
    assert_still_answers(logscale_server)


def test_a_fragment_bomb_costs_what_a_plain_document_of_its_length_costs(
    logscale_server: FakeLogScale,
) -> None:
    # 600 fragments spreading the next twice is 2**600 leaves expanded; spreading it once, 600.
    # Both are refused before validation: too large, too deeply nested.
    cache = standalone_cache(logscale_server, max_fragment_depth=500, max_tokens=20_000)
    exploding, plain = bomb(600), chain(600)
    ratios = []
    for _ in range(5):  # interleaved rounds, the median: this machine is shared and noisy
        began = time.perf_counter()
        refused = cache.prepare(exploding)
        middle = time.perf_counter()
        assert cache.prepare(plain).document is None
        per_character = (middle - began) / len(exploding)
        ratios.append(per_character / ((time.perf_counter() - middle) / len(plain)))
    assert refused.errors[0].message.startswith(
        "The operation selects at least 9223372036854775807 fields and fragments"
    )
    assert sorted(ratios)[2] < 3, ratios


# -- chains of fragments ---------------------------------------------------------------------------


def test_a_chain_of_fragments_within_the_fragment_depth_is_served(
    logscale_server: FakeLogScale,
) -> None:
    response = ask(logscale_server, chain(99))  # F0 .. F99 spread: 100 fragments deep
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"currentUser": {"id": logscale_server.owner().id}}}


@pytest.mark.parametrize("fragments", [100, 200, 300, 400, 600, 2000])
def test_a_longer_chain_of_fragments_gets_400_naming_the_fragment_depth_never_500(
    logscale_server_factory: LogScaleServerFactory, fragments: int
) -> None:
    options = AppOptions(max_tokens=50_000, max_selection_size=10_000)
    with logscale_server_factory(app_options=options) as server:
        message = refusal(ask(server, chain(fragments)))
        assert message == (
            f"The operation nests fragments {fragments + 1} deep; this server allows at most 100 "
            "(max_fragment_depth)."
        )
        assert_still_answers(server)


def test_inline_fragments_count_towards_the_fragment_depth(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(max_fragment_depth=3)) as server:
        served = (
            "{ currentUser { ... on User { ... on User { ...F } } } } fragment F on User { id }"
        )
        assert ask(server, served).status_code == 200
        deeper = "{ currentUser { ... on User { ... on User { ... on User { ...F } } } } }"
        message = refusal(ask(server, deeper + " fragment F on User { id }"))
        assert "nests fragments 4 deep; this server allows at most 3" in message


# -- LogScale's selection size limit ---------------------------------------------------------------


def selections(count: int) -> str:
    """A query of exactly ``count`` selections: currentUser and ``count - 1`` aliased ids."""
    return "{ currentUser { " + " ".join(f"i{n}: id" for n in range(count - 1)) + " } }"


def test_a_query_of_1000_selections_is_served_and_1001_gets_400(
    logscale_server: FakeLogScale,
) -> None:
    response = ask(logscale_server, selections(1000))
    assert response.status_code == 200, response.text
    message = refusal(ask(logscale_server, "query Big " + selections(1001)))
    assert message.startswith("The operation 'Big' selects 1001 fields and fragments")
    assert "at most 1000 (LogScale's GraphQLSelectionSizeLimit" in message


def test_the_selection_size_limit_is_configurable(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(max_selection_size=5)) as server:
        assert ask(server, selections(5)).status_code == 200
        assert "selects 6 fields" in refusal(ask(server, selections(6)))
        inline = "{ currentUser { ... on User { id id id } } }"  # 1 + 1 + 3: inline counts too
        assert ask(server, inline).status_code == 200
        spread = "{ currentUser { ...F } } fragment F on User { id id id id }"  # 1 + 1 + 4
        assert "selects 6 fields" in refusal(ask(server, spread))


def test_a_fragment_counts_each_time_it_is_spread(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(max_selection_size=7)) as server:
        query = '{ a: currentUser { ...F } b: user(id: "x") { ...F } } fragment F on User { id }'
        assert ask(server, query).status_code == 200  # 2 fields + 2 spreads + 2 ids = 6
        three = query.replace("}", '} c: user(id: "y") { ...F }', 1)
        assert "selects 9 fields" in refusal(ask(server, three))


def test_aliasing_is_action_allowed_for_every_action_is_served(
    logscale_server: FakeLogScale,
) -> None:
    assert len(ALL_ACTIONS) == 52
    asks = " ".join(f"{action}: isActionAllowed(action: {action})" for action in ALL_ACTIONS)
    response = ask(logscale_server, "{ organization { " + asks + " } }")
    assert response.status_code == 200, response.text
    allowed = response.json()["data"]["organization"]
    assert allowed == dict.fromkeys(ALL_ACTIONS, True)  # the owner holds every permission


def test_the_full_introspection_query_is_within_the_default_limits(
    logscale_server: FakeLogScale,
) -> None:
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True, input_value_deprecation=True)
    response = ask(logscale_server, query)
    assert response.status_code == 200, response.text


# -- the serve command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    limits = ["--max-selection-size", "5", "--max-fragment-depth", "2"]
    with ServeProcess(*limits, "--document-cache-bytes", "100000") as process:
        yield process
        process.stop()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("{ currentUser { id id id id id } }", "at most 5 (LogScale's GraphQLSelectionSizeLimit"),
        (
            "{ currentUser { ...A } } fragment A on User { ...B } fragment B on User { ...C } "
            "fragment C on User { id }",
            "at most 2 (max_fragment_depth)",
        ),
    ],
    ids=["selection-size", "fragment-depth"],
)
def test_serve_applies_the_document_limit_options(
    served: ServeProcess, query: str, words: str
) -> None:
    token = served.values["LOGSCALE_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.post(
        served.url + "/graphql", json={"query": query}, headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert words in response.json()["errors"][0]["message"]
    fine = requests.post(
        served.url + "/graphql", json={"query": CURRENT_USER}, headers=headers, timeout=TIMEOUT
    )
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--max-selection-size", "0"],
            "--max-selection-size must be a whole number of at least 1, not 0",
        ),
        (["--max-fragment-depth", "x"], "--max-fragment-depth must be a whole number, not 'x'"),
        (
            ["--document-cache-bytes", "-5"],
            "--document-cache-bytes must be a whole number of at least 1, not -5",
        ),
    ],
)
def test_serve_refuses_a_document_limit_that_is_not_a_positive_whole_number(
    args: list[str], words: str
) -> None:
    result = run_serve(args)
    assert result.returncode == 2
    assert words in result.stderr


@pytest.mark.parametrize(
    "field", ["max_selection_size", "max_fragment_depth", "document_cache_bytes"]
)
@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_a_document_limit_option_that_is_not_a_positive_whole_number_is_refused(
    field: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=f"AppOptions.{field} must be a whole number"):
        AppOptions(**{field: value})


# -- the document cache's memory -------------------------------------------------------------------


def distinct_document(number: int, size: int = 16 * 1024) -> str:
    """A valid document of about ``size`` characters, different for each number."""
    fields = " ".join(f"f{n}: id" for n in range(size // 10))
    return f"query Q{number} {{ currentUser {{ {fields} }} }}"


def test_the_document_cache_stays_within_its_byte_bound(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    budget = 2 * 1024 * 1024  # 32 documents of 4 KB hold about 9 MiB when all are kept
    options = AppOptions(document_cache_bytes=budget, max_selection_size=10_000)
    with logscale_server_factory(app_options=options) as server:
        documents = server.app.documents
        with requests.Session() as client:
            client.headers["Authorization"] = f"Bearer {server.token}"
            for number in range(32):
                body = {"query": distinct_document(number, 4096)}
                answer = client.post(server.url + "/graphql", json=body, timeout=TIMEOUT)
                assert answer.status_code == 200, answer.text
                assert documents.retained_bytes <= budget
        assert len(documents) >= 3  # it does keep documents, just not all of them
        assert budget / 2 < documents.retained_bytes
        assert distinct_document(31, 4096) in documents
        assert distinct_document(0, 4096) not in documents  # the least recent went first


def test_the_document_cache_accounts_a_document_close_to_what_it_holds(
    logscale_server: FakeLogScale,
) -> None:
    cache = standalone_cache(logscale_server, max_selection_size=10_000)
    query = distinct_document(1, 4096)
    cache.prepare(query)  # warm up whatever the first preparation allocates once
    cache.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        cache.prepare(query)
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held -= before
    assert held / 2 <= cache.retained_bytes <= held * 2, (held, cache.retained_bytes)


def test_a_document_larger_than_a_quarter_of_the_budget_is_answered_but_not_kept(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    options = AppOptions(document_cache_bytes=200_000, max_selection_size=10_000)
    with logscale_server_factory(app_options=options) as server:
        small, large = CURRENT_USER, distinct_document(7)
        for query in (small, large, large):
            assert ask(server, query).status_code == 200
        assert small in server.app.documents
        assert large not in server.app.documents


def test_invalid_documents_are_not_kept(logscale_server: FakeLogScale) -> None:
    for query in ("{ nope }", "{ currentUser { id }", bomb(30)):
        assert ask(logscale_server, query).status_code == 400
        assert query not in logscale_server.app.documents


def test_a_chain_past_raised_limits_still_gets_400_from_validation_never_500(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    # with the fake's limits raised out of the way, graphql-core's own bound answers
    options = AppOptions(max_tokens=100_000, max_selection_size=100_000, max_fragment_depth=9_999)
    with logscale_server_factory(app_options=options) as server:
        message = refusal(ask(server, chain(3_000)))
        assert message == GAVE_UP  # graphql-core 3.3 aborts, earlier versions recurse too deep
        assert_still_answers(server)


@pytest.mark.skipif(
    graphql.version_info < (3, 3), reason="graphql-core 3.2 has no validation budget"
)
def test_a_document_graphql_core_gives_up_validating_gets_400_saying_so(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    # within the fake's limits, but graphql-core compares every pair of the same field
    with logscale_server_factory(app_options=AppOptions(max_selection_size=5_000)) as server:
        message = refusal(ask(server, "{ currentUser { " + "id " * 2_000 + "} }"))
        assert message == OVER_BUDGET.format("2,000,000")
        assert_still_answers(server)


def copies_of_one_field(copies: int) -> str:
    return "{ currentUser { " + "id " * copies + "} }"


def one_field_fragments(count: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on User {{ id }}" for i in range(count))
    return f"{{ currentUser {{ {spreads} }} }} {fragments}"


@pytest.mark.parametrize(
    "query",
    [copies_of_one_field(998), one_field_fragments(490), one_field_fragments(499)],
    ids=["998 copies of id", "490 one-field fragments", "499 one-field fragments"],
)
def test_a_document_within_every_limit_is_served(logscale_server: FakeLogScale, query: str) -> None:
    response = ask(logscale_server, query)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"currentUser": {"id": logscale_server.owner().id}}}


@pytest.mark.skipif(
    graphql.version_info < (3, 3), reason="graphql-core 3.2 has no validation budget"
)
def test_a_document_past_the_validation_budget_gets_400_naming_the_budget(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(validation_budget=10_000)) as server:
        message = refusal(ask(server, copies_of_one_field(200)))
        assert message == OVER_BUDGET.format("10,000")
        assert ask(server, copies_of_one_field(50)).status_code == 200
        assert_still_answers(server)


@pytest.mark.skipif(
    graphql.version_info < (3, 3), reason="graphql-core 3.2 has no validation budget"
)
def test_serve_takes_the_validation_budget() -> None:
    with ServeProcess("--validation-budget", "10000") as server:
        answer = requests.post(
            server.url + "/graphql",
            json={"query": copies_of_one_field(200)},
            headers={"Authorization": f"Bearer {server.values['LOGSCALE_TOKEN']}"},
            timeout=TIMEOUT,
        )
        assert server.stop() == 0
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == OVER_BUDGET.format("10,000")
