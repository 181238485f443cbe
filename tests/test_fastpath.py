"""The compiled fast path gives graphql-core's exact answer, at bounded cost, and fails loudly.

Documents generated from the served schema run through the fast path and through
plain graphql-core for an owner and a member; every answer the fast path gives must
be graphql-core's, key order included. A fragment bomb is compiled in bounded
time. A resolver the fast path wrongly believes reads only ``info.context`` makes
the fast path raise rather than quietly fall back, so such a bug shows in tests.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from typing import Any

import pytest
import requests
from ariadne import ObjectType, QueryType, make_executable_schema
from graphql import GraphQLSchema, parse, validate
from graphql import graphql_sync as core_graphql_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.store import Caller
from pytest_logscale.graphql import fastpath
from pytest_logscale.graphql.documents import DocumentCache
from pytest_logscale.graphql.fastpath import SUPPORTED, FastPath, FastPathError
from pytest_logscale.graphql.resolvers import SCHEMA_SDL, Context
from pytest_logscale.http.app import AppOptions
from pytest_logscale.seeding import SeedOptions

#: graphql-core 3.2's field collection differs: there the fast path stays off (tested below).
needs_fast_path = pytest.mark.skipif(not SUPPORTED, reason="the fast path needs graphql-core 3.3")


@pytest.fixture(scope="module")
def fake() -> FakeLogScale:
    return FakeLogScale(SeedOptions(seed=11, users=20, sessions=120))


def graphql_core_answer(fake: FakeLogScale, caller: Caller, query: str) -> dict[str, Any]:
    result = core_graphql_sync(
        fake.app.schema, query, context_value=Context(fake.store, caller), variable_values={}
    )
    return {"data": result.data} if not result.errors else {"errors": result.errors}


def fast_path_answer(fake: FakeLogScale, caller: Caller, query: str) -> dict[str, Any] | None:
    prepared = fake.app.documents.prepare(query)
    operation = prepared.operation(None)
    if prepared.document is None or operation is None:
        return None
    data = fake.app.fast_path.run(prepared.document, operation, {}, Context(fake.store, caller))
    return None if data is None else {"data": data}


def document_cache(schema: GraphQLSchema, **limits: int) -> DocumentCache:
    """A document cache of its own, with the app's default limits but for those given."""
    defaults = AppOptions()
    return DocumentCache(
        schema,
        limits=dataclasses.replace(defaults.query_limits, **limits),
        max_bytes=defaults.document_cache_bytes,
    )


# -- differential: the fast path against plain graphql-core ------------------------------------


@needs_fast_path
def test_generated_queries_give_graphql_cores_answer_through_the_fast_path(
    fake: FakeLogScale,
) -> None:
    callers = {
        "owner": fake.store.authenticate(fake.token),
        "member": fake.store.authenticate(fake.member_token),
    }
    tally: Counter[str] = Counter()

    @settings(
        max_examples=250,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(
        query=from_schema(
            SCHEMA_SDL,
            fields=[
                "sessions",
                "currentUser",
                "viewer",
                "user",
                "organization",
                "validateAccessTokenV2",
            ],
        ),
        role=st.sampled_from(sorted(callers)),
    )
    def run(query: str, role: str) -> None:
        caller = callers[role]
        fast = fast_path_answer(fake, caller, query)
        if fast is None:
            tally["graphql-core"] += 1
            return
        tally["fast"] += 1
        expected = graphql_core_answer(fake, caller, query)
        assert fast == expected, query
        assert json.dumps(fast) == json.dumps(expected), "key order is part of the answer"

    run()
    assert tally["fast"] >= 100, tally  # the property is about the fast path: it must run


# -- a fragment bomb costs bounded work --------------------------------------------------------


def fragment_bomb(k: int) -> str:
    """K fragments, each spreading the next twice, the last selecting ``id``: 2**K leaves."""
    fragments = [f"fragment F{i} on Session {{ ...F{i + 1} ...F{i + 1} }}" for i in range(k)]
    fragments.append(f"fragment F{k} on Session {{ id }}")
    return "{ sessions { results { ...F0 } } } " + " ".join(fragments)


@needs_fast_path
@pytest.mark.parametrize("k", [20, 30])
def test_a_fragment_bomb_is_compiled_and_answered_promptly(fake: FakeLogScale, k: int) -> None:
    query = fragment_bomb(k)
    schema = fake.app.schema
    document = parse(query)
    assert not validate(schema, document)
    documents = document_cache(schema, max_selection_size=2**63 - 1)  # the compiler alone
    prepared = documents.prepare(query)
    operation = prepared.operation(None)
    assert prepared.document is not None and operation is not None
    caller = fake.store.authenticate(fake.token)
    started = time.perf_counter()
    data = FastPath(schema).run(prepared.document, operation, {}, Context(fake.store, caller))
    took = time.perf_counter() - started
    assert took < 1.0, f"K={k} took {took:.2f} s"
    assert {"data": data} == graphql_core_answer(fake, caller, query)


# -- the fast path's own mistakes surface ------------------------------------------------------

_TOY_SDL = """
type Query { things: [Thing!]! }
type Thing { id: String! owner: String! label: String! }
"""


def toy_schema(owner_reads_path: bool) -> Any:
    query = QueryType()
    query.set_field("things", lambda *_: [{"id": "a", "name": "x"}, {"id": "b", "name": "y"}])
    thing = ObjectType("Thing")
    thing.set_alias("label", "name")

    @thing.field("owner")
    def owner(_thing: Any, info: Any) -> str:
        return str(info.path.key) if owner_reads_path else str(info.context)

    return make_executable_schema(_TOY_SDL, query, thing)


def run_toy(fast: FastPath, schema: Any, query: str) -> Any:
    documents = document_cache(schema)
    prepared = documents.prepare(query)
    operation = prepared.operation(None)
    assert prepared.document is not None and operation is not None
    return fast.run(prepared.document, operation, {}, "ctx")


@needs_fast_path
def test_a_resolver_given_a_context_only_info_that_reads_more_is_a_loud_bug() -> None:
    schema = toy_schema(owner_reads_path=True)
    fast = FastPath(
        schema,
        attributes={"Thing": {"label": "name"}},
        context_only=frozenset({("Thing", "owner")}),
    )
    with pytest.raises(FastPathError, match=r"Thing\.owner.*path"):
        run_toy(fast, schema, "{ things { id owner } }")


@needs_fast_path
def test_context_only_resolvers_get_the_context() -> None:
    schema = toy_schema(owner_reads_path=False)
    fast = FastPath(
        schema,
        attributes={"Thing": {"label": "name"}},
        context_only=frozenset({("Thing", "owner")}),
    )
    data = run_toy(fast, schema, "{ things { id owner label } }")
    assert data == {
        "things": [
            {"id": "a", "owner": "ctx", "label": "x"},
            {"id": "b", "owner": "ctx", "label": "y"},
        ]
    }


@needs_fast_path
def test_an_alias_resolver_the_map_does_not_name_is_left_to_graphql_core() -> None:
    """An attribute the fast path cannot know is never guessed from the field's name."""
    schema = toy_schema(owner_reads_path=False)
    fast = FastPath(schema, attributes={}, context_only=frozenset())
    assert run_toy(fast, schema, "{ things { label } }") is None
    assert run_toy(fast, schema, "{ things { id } }") == {"things": [{"id": "a"}, {"id": "b"}]}


@needs_fast_path
def test_an_empty_selection_set_gives_graphql_cores_answer(fake: FakeLogScale) -> None:
    """graphql-core 3.3 parses ``{ }``: objects with no fields are empty dicts, not a crash."""
    caller = fake.store.authenticate(fake.token)
    query = "{ sessions(limit: 2) { results { } } }"
    assert fast_path_answer(fake, caller, query) == graphql_core_answer(fake, caller, query)


class _CallableList(list[str]):
    """A list that a default resolver calls, because it is callable."""

    def __call__(self, *_args: Any) -> list[str]:
        return ["called"]


@needs_fast_path
def test_a_callable_list_value_is_called_as_graphql_core_does() -> None:
    sdl = "type Query { thing: Thing! } type Thing { tags: [String!]! }"
    query = QueryType()
    query.set_field("thing", lambda *_: {"tags": _CallableList(["listed"])})
    schema = make_executable_schema(sdl, query)
    document = "{ thing { tags } }"
    assert core_graphql_sync(schema, document).data == {"thing": {"tags": ["called"]}}
    assert run_toy(FastPath(schema, attributes={}, context_only=frozenset()), schema, document) in (
        None,
        {"thing": {"tags": ["called"]}},
    )


PAGE = (
    "{ sessions(level: Organization, onlyActiveSessions: false, limit: 30) { totalResults"
    " results { id ip isCurrentSession user { id username createdAt } } } }"
)


@needs_fast_path
def test_a_selection_over_the_compile_budget_is_left_to_graphql_core(fake: FakeLogScale) -> None:
    caller = fake.store.authenticate(fake.token)
    prepared = fake.app.documents.prepare(PAGE)
    operation = prepared.operation(None)
    assert prepared.document is not None and operation is not None
    context = Context(fake.store, caller)
    assert (
        FastPath(fake.app.schema, max_fields=9).run(prepared.document, operation, {}, context)
        is None
    )
    data = FastPath(fake.app.schema, max_fields=10).run(prepared.document, operation, {}, context)
    assert {"data": data} == graphql_core_answer(fake, caller, PAGE)


def test_the_compile_budget_is_an_app_option_and_answers_stay_the_same() -> None:
    with FakeLogScale(SeedOptions(seed=11)) as fake:
        compiled = fake.execute(PAGE)
    with FakeLogScale(SeedOptions(seed=11), app_options=AppOptions(fast_path_fields=3)) as fake:
        assert fake.execute(PAGE) == compiled
        prepared = fake.app.documents.prepare(PAGE)
        operation = prepared.operation(None)
        assert prepared.document is not None and operation is not None
        assert fake.app.fast_path.compile(prepared.document, operation) is None


def test_without_graphql_core_3_3_every_answer_comes_from_graphql_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On graphql-core 3.2 the fast path is off; the answers over HTTP are the same."""
    with FakeLogScale(SeedOptions(seed=11)) as fake:
        fast = fake.execute(PAGE)
    monkeypatch.setattr(fastpath, "SUPPORTED", False)
    with FakeLogScale(SeedOptions(seed=11)) as fake:
        prepared = fake.app.documents.prepare(PAGE)
        operation = prepared.operation(None)
        assert prepared.document is not None and operation is not None
        assert fake.app.fast_path.compile(prepared.document, operation) is None
        assert fake.execute(PAGE) == fast


# -- the encoding on the wire ------------------------------------------------------------------


def test_large_longs_and_non_ascii_text_reach_the_client_exactly() -> None:
    with FakeLogScale(SeedOptions(seed=11)) as fake:
        big = 2**62 + 1  # above 2**53: a double would round it
        answer = fake.execute(
            "mutation($i: Long!, $f: Long!) { updateSessionSettings(input:"
            " {maxInactivityPeriod: $i, forceReauthenticationAfter: $f})"
            " { configs { session { maxInactivityPeriod forceReauthenticationAfter } } } }",
            {"i": big, "f": big + 2},
        )
        session = answer["data"]["updateSessionSettings"]["configs"]["session"]
        assert session == {"maxInactivityPeriod": big, "forceReauthenticationAfter": big + 2}
        login = fake.login(fake.owner(), client_info="Zürich 東京 \U0001f600 \u2028 \x7f")
        response = requests.post(
            fake.graphql_url,
            json={
                "query": "{ sessions(level: User, sortBy: LoginTime) { results { clientInfo } } }"
            },
            headers={"Authorization": f"Bearer {login.token}"},
            timeout=10,
        )
        assert response.headers["Content-Type"].startswith("application/json")
        infos = [
            r["clientInfo"] for r in json.loads(response.content)["data"]["sessions"]["results"]
        ]
        assert "Zürich 東京 \U0001f600 \u2028 \x7f" in infos


def test_an_answer_echoing_a_lone_surrogate_is_still_json() -> None:
    """json.loads takes an escaped lone surrogate; an error echoing it must stay valid JSON."""
    with FakeLogScale(SeedOptions(seed=11)) as fake:
        body = (
            b'{"query": "query($s: Sessions__SortBy) { sessions(sortBy: $s) { totalResults } }",'
            b' "variables": {"s": "x\\ud800"}}'
        )
        response = requests.post(
            fake.graphql_url,
            data=body,
            headers={"Authorization": f"Bearer {fake.token}"},
            timeout=10,
        )
        assert response.status_code == 400
        message = json.loads(response.content)["errors"][0]["message"]
        assert "'x\ud800' does not exist in 'Sessions__SortBy'" in message


@needs_fast_path
def test_a_constant_input_object_is_new_for_every_call() -> None:
    """An inline input object is worked out once, but no resolver gets one another got."""
    sdl = """
    input Filter { tags: [String!]! at: Int }
    type Query { echo(filter: Filter!): [String!]! }
    """
    given: list[Any] = []

    def echo(_obj: Any, _info: Any, filter: dict[str, Any]) -> list[str]:
        given.append(filter)
        seen = list(filter["tags"])
        filter["tags"].append("changed by the resolver")  # must not reach the next call
        filter["at"] = -1
        return seen

    query = QueryType()
    query.set_field("echo", echo)
    schema = make_executable_schema(sdl, query)
    fast = FastPath(schema, attributes={}, context_only=frozenset())
    prepared = document_cache(schema).prepare('{ echo(filter: {tags: ["a", "b"], at: 3}) }')
    operation = prepared.operation(None)
    assert prepared.document is not None and operation is not None
    for _ in range(3):  # one prepared operation, compiled once
        assert fast.run(prepared.document, operation, {}, "ctx") == {"echo": ["a", "b"]}
    assert given[0] is not given[1] and given[0]["tags"] is not given[1]["tags"]
    assert given[2] == {"tags": ["a", "b", "changed by the resolver"], "at": -1}
