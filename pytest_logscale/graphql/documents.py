"""Parsed and validated GraphQL documents, kept by query text within a byte budget.

Clients send the same few documents again and again; parsing and validating
one costs more than running it, so each text is prepared once.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, final

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql.validation import (
    ASTValidationRule,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
)

from .compat import SPECIFIED_RULES
from .footprint import retained_bytes
from .limits import QueryLimits, check_limits
from .selections import Outline

__all__ = ["DocumentCache", "Operation", "Prepared", "operations_of"]


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


def _operations(document: DocumentNode) -> tuple[Operation, ...]:
    outline = Outline(document)
    operations = []
    for definition in outline.operations:
        selections = tuple(outline.root_fields(definition))
        operations.append(
            Operation(
                type=definition.operation.value,
                name=definition.name.value if definition.name else None,
                root_fields=tuple(dict.fromkeys(s.name.value for s in selections)),
                selections=selections,
                definition=definition,
            )
        )
    return tuple(operations)


def _parser_limits(max_tokens: int) -> dict[str, Any]:
    """The parse keywords bounding a document's tokens, as this graphql-core spells them.

    graphql-core 3.3.2 counts lexical tokens and comments apart (``max_tokens``
    is deprecated there); earlier versions from 3.2.3 count both in ``max_tokens``.
    """
    if "max_lexical_tokens" in _PARSE_KEYWORDS:
        return {"max_lexical_tokens": max_tokens, "max_comments": max_tokens}
    if "max_tokens" in _PARSE_KEYWORDS:  # pragma: no cover - graphql-core before 3.3.2
        return {"max_tokens": max_tokens}
    return {}  # pragma: no cover - before 3.2.3, only the body size bounds a document


_PARSE_KEYWORDS = frozenset(inspect.signature(parse).parameters)


def _unlink_tokens(document: DocumentNode) -> None:
    """Drop the chain of every token (comments too) the lexer made; nodes keep their own.

    Error locations need only a node's start and its source, never the chain.
    """
    token = document.loc.start_token if document.loc else None
    while token is not None:
        token.prev, token.next, token = None, None, token.next


@final
class DocumentCache:
    """Parse, check and validate each query text once, keeping the most recent within a budget.

    ``max_bytes`` bounds what the kept documents hold, as :func:`retained_bytes`
    counts it (60 to 100 bytes per character of query text); the least recently
    used go first, and a document taking more than a quarter of the budget is
    prepared every time and never kept. Only documents that validate are kept:
    a refusal is made again each time, at the cost of one parse. A document over
    ``limits`` is refused before the schema's validation runs; ``rules`` are
    validation rules beyond the specified ones.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        limits: QueryLimits,
        max_bytes: int,
        rules: Sequence[type[ASTValidationRule]] = (),
    ) -> None:
        self._schema = schema
        self._limits = limits
        self._parse_limits = _parser_limits(limits.max_tokens)
        self._max_bytes = max_bytes
        self._rules = (*SPECIFIED_RULES, *rules)
        self._entries: OrderedDict[str, tuple[Prepared, int]] = OrderedDict()
        self._retained = 0
        self._lock = threading.Lock()

    @property
    def retained_bytes(self) -> int:
        """Bytes the kept documents hold, as the budget counts them."""
        with self._lock:
            return self._retained

    def prepare(self, query: str) -> Prepared:
        """The prepared document for a query text."""
        with self._lock:
            found = self._entries.get(query)
            if found is not None:
                self._entries.move_to_end(query)
                return found[0]
        prepared = self._prepare(query)
        if prepared.document is not None:
            self._keep(query, prepared)
        return prepared

    def _keep(self, query: str, prepared: Prepared) -> None:
        cost = retained_bytes(query, prepared) + _ENTRY_BYTES
        if cost > self._max_bytes // 4:
            return
        with self._lock:
            if query in self._entries:  # another thread prepared it meanwhile
                return
            self._entries[query] = (prepared, cost)
            self._retained += cost
            while self._retained > self._max_bytes:
                _query, (_prepared, dropped) = self._entries.popitem(last=False)
                self._retained -= dropped

    def __contains__(self, query: object) -> bool:
        """Whether a query text is kept prepared."""
        with self._lock:
            return query in self._entries

    def __len__(self) -> int:
        """How many documents are kept."""
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget every kept document."""
        with self._lock:
            self._entries.clear()
            self._retained = 0

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query, **self._parse_limits)
        except GraphQLError as error:
            return Prepared(None, (error.with_traceback(None),), ())
        _unlink_tokens(document)
        errors = check_limits(document, self._limits)
        if errors:  # before validation, which costs more the larger the document
            return Prepared(None, tuple(errors), ())
        errors = self._validate(document)
        if errors:
            return Prepared(None, tuple(errors), ())
        return Prepared(document, (), _operations(document))

    def _validate(self, document: DocumentNode) -> list[GraphQLError]:
        """The schema's validation errors, with graphql-core giving up said plainly.

        graphql-core 3.3 meters the pairs of fields it compares for merging
        (OverlappingFieldsCanBeMerged) against a budget of 500,000 and aborts past
        it, which refused documents within every limit (a thousand copies of one
        field). Here the budget is ``limits.validation_budget``, for this
        validation only (never graphql-core's module-wide default).
        """
        budgets: list[Any] = []
        rules = [
            _budgeted(self._limits.validation_budget, budgets) if r is _MERGE else r
            for r in self._rules
        ]
        try:
            errors = validate(self._schema, document, rules)
        except RecursionError:  # graphql-core before 3.3 recurses past its own bound
            return [GraphQLError(_GAVE_UP)]
        spent = any(getattr(b, "remaining_complexity_budget", 0) < 0 for b in budgets)
        gave_up = _over_budget(self._limits.validation_budget) if spent else _GAVE_UP
        # graphql-core 3.3 aborts past its bounds with a bare "Validation aborted."
        return [GraphQLError(gave_up) if e.message == "Validation aborted." else e for e in errors]


_MERGE = OverlappingFieldsCanBeMergedRule


def _budgeted(budget: int, seen: list[Any]) -> type[ASTValidationRule]:
    """OverlappingFieldsCanBeMerged with ``budget`` for its comparisons; ``seen`` gets the
    meter (graphql-core's RuleContext), to tell the budget spent from other aborts."""

    class BudgetedMerge(OverlappingFieldsCanBeMergedRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            meter = getattr(self, "rule_context", None)
            if meter is not None and hasattr(meter, "remaining_complexity_budget"):
                meter.remaining_complexity_budget = budget
                seen.append(meter)

    return BudgetedMerge


def _over_budget(budget: int) -> str:
    return (
        "Validation aborted: checking that this document's fields can be merged costs more "
        f"than the validation budget of {budget:,} comparisons (validation_budget, "
        "serve --validation-budget). Use fewer copies of the same field or fragment."
    )


_GAVE_UP = (
    "Validation aborted: graphql-core's validation gave up on this document, which would cost "
    "too much to validate (fragments nested past graphql-core's own bound, or many copies of "
    "one field to compare). Simplify the document."
)

#: What an entry of the cache's ordered dict costs beyond the document (key, links, tuple).
_ENTRY_BYTES = 200


def operations_of(document: DocumentNode) -> tuple[Operation, ...]:
    """Every operation of a parsed document, unvalidated (the journal reads its entries so)."""
    return _operations(document)
