"""requested_rows: the memo of an operation without variables answers for its own limits only."""

from __future__ import annotations

from pytest_logscale import AppOptions
from pytest_logscale.graphql.documents import DocumentCache, Operation
from pytest_logscale.graphql.resolvers import build_schema
from pytest_logscale.graphql.rows import requested_rows

SCHEMA = build_schema()


def operation(query: str) -> Operation:
    prepared = DocumentCache(SCHEMA, limits=AppOptions().query_limits, max_bytes=1 << 20).prepare(
        query
    )
    found = prepared.operation(None)
    assert found is not None, prepared.errors
    return found


def test_an_operation_without_variables_is_counted_again_for_other_limits() -> None:
    op = operation("{ a: sessions(limit: 30) { totalResults } b: sessions { totalResults } }")
    assert requested_rows(op, {}, 20, 100) == 50
    assert requested_rows(op, {}, 20, 100) == 50  # from the memo
    assert requested_rows(op, {}, 20, 25) == 45  # another cap
    assert requested_rows(op, {}, 10, 100) == 40  # another default


def test_an_operation_with_variables_is_counted_for_each_request() -> None:
    op = operation("query($n: Int) { sessions(limit: $n) { totalResults } }")
    assert requested_rows(op, {"n": 7}, 20, 100) == 7
    assert requested_rows(op, {"n": 70}, 20, 100) == 70
    assert requested_rows(op, {}, 20, 100) == 20
