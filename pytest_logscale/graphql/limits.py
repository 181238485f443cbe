"""Limits on the shape of a query document, checked after parsing and before validation.

``max_selection_size`` is LogScale's own ``GraphQLSelectionSizeLimit``: the
fields and fragments an operation selects, a fragment counted each time it is
spread. ``max_depth`` (fields nested in fields) and ``max_fragment_depth``
(fragments nested in fragments) are safety limits of this fake that LogScale's
limit does not cover: they keep graphql-core's validation, which recurses
through both, well inside its own bound. ``max_tokens`` is the parser's.

Each fragment is measured once, after every fragment it spreads, so checking a
document costs time in proportion to its text, whatever its fragments would
expand to: a "fragment bomb" is refused without ever being expanded.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
)

from .selections import Definition, Outline

__all__ = ["QueryLimits", "check_limits"]

#: Counts stop growing here, so a fragment bomb's figures stay machine-sized.
CEILING = 2**63 - 1


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The most a document may ask for; see ``AppOptions`` for the defaults.

    ``max_tokens`` is enforced by the parser (see :func:`graphql.parse`),
    ``validation_budget`` by the document cache's validation (the comparisons of
    fields for merging it may make), the others by :func:`check_limits`.
    """

    max_selection_size: int
    max_depth: int
    max_fragment_depth: int
    max_tokens: int
    validation_budget: int = 2_000_000


@dataclass(frozen=True, slots=True)
class _Measure:
    """A definition's figures with its fragment spreads expanded, and where each peaks."""

    size: int = 0
    depth: int = 0
    deepest: FieldNode | None = None  # the first field at the full depth
    fragments: int = 0
    innermost: Node | None = None  # the first fragment at the full fragment depth


def _measure(outline: Outline, definition: Definition, known: dict[str, _Measure]) -> _Measure:
    """A definition's figures, taking those of the fragments it spreads from ``known``.

    A spread of a fragment not in ``known`` (undefined, or closing a cycle)
    counts as itself alone: validation refuses such a document anyway.
    """
    size, depth, fragments = 0, 0, 0
    deepest: FieldNode | None = None
    innermost: Node | None = None
    for selected in outline.selections(definition):
        node = selected.node
        size += 1
        reach, reach_at = 0, deepest
        nesting, nesting_at = 0, innermost
        if isinstance(node, FieldNode):
            reach, reach_at = selected.depth + 1, node
        elif isinstance(node, InlineFragmentNode):
            nesting, nesting_at = selected.fragments + 1, node
        elif isinstance(node, FragmentSpreadNode):
            inner = known.get(node.name.value, _Measure())
            size = min(size + inner.size, CEILING)
            reach, reach_at = selected.depth + inner.depth, inner.deepest
            nesting = selected.fragments + 1 + inner.fragments
            nesting_at = inner.innermost or node
        if reach > depth:
            depth, deepest = reach, reach_at
        if nesting > fragments:
            fragments, innermost = nesting, nesting_at
    return _Measure(size, depth, deepest, fragments, innermost)


def check_limits(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    """An error for each limit each operation of the document goes over."""
    outline = Outline(document)
    known: dict[str, _Measure] = {}
    for fragment in outline.in_dependency_order():
        known[fragment.name.value] = _measure(outline, fragment, known)
    errors: list[GraphQLError] = []
    for operation in outline.operations:
        measure = _measure(outline, operation, known)
        what = f"The operation {operation.name.value!r}" if operation.name else "The operation"
        if measure.size > limits.max_selection_size:
            size = f"at least {CEILING}" if measure.size >= CEILING else str(measure.size)
            errors.append(
                GraphQLError(
                    f"{what} selects {size} fields and fragments, counting a fragment each time "
                    f"it is spread; this server allows at most {limits.max_selection_size} "
                    "(LogScale's GraphQLSelectionSizeLimit, max_selection_size).",
                    operation,
                )
            )
        if measure.depth > limits.max_depth:
            errors.append(
                GraphQLError(
                    f"{what} nests fields {measure.depth} levels deep; this server allows at "
                    f"most {limits.max_depth} (max_depth).",
                    measure.deepest,
                )
            )
        if measure.fragments > limits.max_fragment_depth:
            errors.append(
                GraphQLError(
                    f"{what} nests fragments {measure.fragments} deep; this server allows at "
                    f"most {limits.max_fragment_depth} (max_fragment_depth).",
                    measure.innermost,
                )
            )
    return errors
