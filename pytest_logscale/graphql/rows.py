"""How many sessions an operation may answer with, counted from its document before it runs.

Each ``sessions()`` field answers at most its ``limit`` (the schema's default
when left out, ``max_limit`` when above it); fields under one response name are
merged by GraphQL and answer once. The sum over an operation's root fields is
what :class:`~pytest_logscale.AppOptions` ``max_answer_rows`` bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLInt
from graphql.utilities import value_from_ast

from .documents import Operation

__all__ = ["requested_rows"]


def requested_rows(
    operation: Operation, variables: Mapping[str, Any], default_limit: int, max_limit: int
) -> int:
    """The most session rows ``operation`` can answer with, given its coerced ``variables``.

    ``@skip`` and ``@include`` are not read: a field they may leave out still counts.
    An operation without variables always answers the same: it is worked out once,
    in the operation's ``memo``.
    """
    if operation.definition.variable_definitions:
        return _rows(operation, variables, default_limit, max_limit)
    key = (requested_rows, default_limit, max_limit)
    found: int | None = operation.memo.get(key)
    if found is None:
        found = operation.memo[key] = _rows(operation, {}, default_limit, max_limit)
    return found


def _rows(
    operation: Operation, variables: Mapping[str, Any], default_limit: int, max_limit: int
) -> int:
    total, seen = 0, set()
    for selection in operation.selections:
        key = selection.alias.value if selection.alias else selection.name.value
        if selection.name.value != "sessions" or key in seen:
            continue
        seen.add(key)
        given = next((a.value for a in selection.arguments or () if a.name.value == "limit"), None)
        limit = value_from_ast(given, GraphQLInt, dict(variables)) if given is not None else None
        limit = default_limit if not isinstance(limit, int) else limit
        total += min(max(limit, 0), max_limit)
    return total
