"""Limits on the shape of a query document: how deep it nests and how many aliases it uses.

They are checked after parsing and before the schema's own validation, so a
document built to be expensive is turned away before anything costly runs.
Fragments count where they are spread, each fragment's cost worked out once,
so a document that spreads fragments within fragments cannot make the check
itself slow.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["QueryLimits", "check_limits"]


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The most a document may ask for; see ``AppOptions`` for what each one means.

    ``max_tokens`` is enforced by the parser (see :func:`graphql.parse`), the
    others by :func:`check_limits`.
    """

    max_depth: int
    max_aliases: int
    max_tokens: int


@dataclass(frozen=True, slots=True)
class _Cost:
    depth: int
    aliases: int
    deepest: FieldNode | None  # the first field at the full depth, for the error's location


_FREE = _Cost(0, 0, None)


class _Measure:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.known: dict[str, _Cost] = {}
        self.visiting: set[str] = set()

    def selections(self, selection_set: SelectionSetNode | None) -> _Cost:
        depth, aliases, deepest = 0, 0, None
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                cost = _Cost(inner.depth + 1, inner.aliases, inner.deepest or selection)
                if selection.alias is not None:
                    cost = _Cost(cost.depth, cost.aliases + 1, cost.deepest)
            elif isinstance(selection, InlineFragmentNode):
                cost = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                cost = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other kind of selection
                continue
            aliases += cost.aliases
            if cost.depth > depth:
                depth, deepest = cost.depth, cost.deepest
        return _Cost(depth, aliases, deepest)

    def fragment(self, name: str) -> _Cost:
        found = self.known.get(name)
        if found is not None:
            return found
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return _FREE  # unknown or cyclic: the schema's validation reports it
        self.visiting.add(name)
        cost = self.selections(definition.selection_set)
        self.visiting.discard(name)
        self.known[name] = cost
        return cost


def check_limits(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    """An error for each operation of the document that is too deep or uses too many aliases."""
    measure = _Measure(document)
    errors: list[GraphQLError] = []
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        cost = measure.selections(operation.selection_set)
        what = f"The operation {operation.name.value!r}" if operation.name else "The operation"
        if cost.depth > limits.max_depth:
            errors.append(
                GraphQLError(
                    f"{what} nests fields {cost.depth} levels deep; this server allows at most "
                    f"{limits.max_depth} (max_depth).",
                    cost.deepest,
                )
            )
        if cost.aliases > limits.max_aliases:
            errors.append(
                GraphQLError(
                    f"{what} uses {cost.aliases} aliases, counting each fragment where it is "
                    f"spread; this server allows at most {limits.max_aliases} (max_aliases).",
                    operation,
                )
            )
    return errors
