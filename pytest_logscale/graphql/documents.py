"""Parsed and validated GraphQL documents, kept by query text.

Clients send the same few documents again and again; parsing and validating
one costs more than running it, so each text is prepared once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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

from .limits import QueryLimits, check_limits

__all__ = ["DocumentCache", "Operation", "Prepared"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a document: ``query`` or ``mutation``, its name and root fields.

    ``selections`` are the root field nodes in document order (fragments
    expanded, aliases kept) and ``definition`` the operation's node: the journal
    reads each call's arguments from them. ``memo`` keeps what those who run the
    operation work out once from it (the fast path's compiled plan), for as long
    as the operation is kept.
    """

    type: str
    name: str | None
    root_fields: tuple[str, ...]
    selections: tuple[FieldNode, ...] = field(compare=False, repr=False)
    definition: OperationDefinitionNode = field(compare=False, repr=False)
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)


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


def _root_selections(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _root_selections(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                found += _root_selections(fragments[name].selection_set, fragments, seen)
    return found


def _operation(
    d: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> Operation:
    selections = tuple(_root_selections(d.selection_set, fragments, set()))
    return Operation(
        type=d.operation.value,
        name=d.name.value if d.name else None,
        root_fields=tuple(dict.fromkeys(s.name.value for s in selections)),
        selections=selections,
        definition=d,
    )


def _operations(document: DocumentNode) -> tuple[Operation, ...]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return tuple(
        _operation(d, fragments)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class DocumentCache:
    """Parse and validate each query text once, keeping the most recent ``size`` of them.

    ``rules`` are validation rules beyond the specified ones; a document over
    ``limits`` is refused before the schema's validation runs. A text longer
    than :attr:`MAX_CACHED_CHARS` is prepared every time and never kept, so the
    cache holds a few megabytes at most, not ``size`` bodies of the largest size.
    """

    MAX_CACHED_CHARS = 16 * 1024

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        size: int = 512,
        rules: Sequence[type[ASTValidationRule]] = (),
        limits: QueryLimits | None = None,
    ) -> None:
        self._schema = schema
        self._size = size
        self._limits = limits
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
        if len(query) > self.MAX_CACHED_CHARS:
            return prepared
        with self._lock:
            self._entries[query] = prepared
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return prepared

    def __contains__(self, query: object) -> bool:
        """Whether a query text is kept prepared."""
        with self._lock:
            return query in self._entries

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self._limits.max_tokens if self._limits else None)
        except GraphQLError as error:
            return Prepared(None, (error,), ())
        errors = check_limits(document, self._limits) if self._limits else []
        if errors:  # before validation, which costs more the larger the document
            return Prepared(None, tuple(errors), ())
        errors = validate(self._schema, document, self._rules)
        if errors:
            return Prepared(None, tuple(errors), ())
        return Prepared(document, (), _operations(document))
