"""Parsed and validated GraphQL documents, kept by query text.

Clients send the same few documents again and again; parsing and validating
one costs more than running it, so each text is prepared once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule

__all__ = ["DocumentCache", "Operation", "Prepared"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a document: ``query`` or ``mutation``, its name and root fields."""

    type: str
    name: str | None
    root_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document ready to run, or the errors that stop it from running."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: tuple[Operation, ...]

    def operation(self, name: str | None) -> Operation | None:
        """The operation a request names, or the only one when it names none."""
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        return next((op for op in self.operations if op.name == name), None)


def _root_fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> list[str]:
    names: list[str] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                names += _root_fields(fragments[name].selection_set, fragments, seen)
    return list(dict.fromkeys(names))


def _operations(document: DocumentNode) -> tuple[Operation, ...]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return tuple(
        Operation(
            type=d.operation.value,
            name=d.name.value if d.name else None,
            root_fields=tuple(_root_fields(d.selection_set, fragments, set())),
        )
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class DocumentCache:
    """Parse and validate each query text once, keeping the most recent ``size`` of them."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        size: int = 512,
        rules: Sequence[type[ASTValidationRule]] = (),
    ) -> None:
        self._schema = schema
        self._size = size
        self._rules = (*specified_rules, *rules)
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(self, query: str) -> Prepared:
        """The prepared document for a query text."""
        with self._lock:
            found = self._entries.get(query)
            if found is not None:
                self._entries.move_to_end(query)
                return found
        prepared = self._prepare(query)
        with self._lock:
            self._entries[query] = prepared
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query)
        except GraphQLError as error:
            return Prepared(None, (error,), ())
        errors = validate(self._schema, document, self._rules)
        if errors:
            return Prepared(None, tuple(errors), ())
        return Prepared(document, (), _operations(document))
