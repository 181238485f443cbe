"""A fast path for plain queries: the same result as graphql-core, without its per-field cost.

graphql-core spends a few microseconds on every field of every object it
returns; a page of 50 sessions with every field is over a thousand fields.
For a query document that uses only plain fields (fragments on the same type
allowed; no directives, no abstract types, no introspection), this module
compiles the selection once into a tree of small functions: plain attributes
are read directly, leaves are serialized by their own type, and only the
schema's real resolvers are called, with the same ``info`` graphql-core builds.

Anything out of the ordinary, a null where the schema forbids it, a resolver
that raises, a value that does not serialize, makes :meth:`FastPath.run`
return None, and the caller runs graphql-core as usual, which produces the
errors. Queries do not change the state, so running one twice is harmless;
mutations always go to graphql-core.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined

from .documents import Operation

__all__ = ["FastPath"]


class _Ineligible(Exception):
    """The document uses something the fast path does not do."""


class _Fallback(Exception):
    """This run met something only graphql-core handles (an error, mostly)."""


@dataclass(slots=True)
class _Run:
    executor: Executor[Any]


#: Built-in scalars whose output coercion returns a value of exactly this type unchanged.
_EXACT: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}

#: Completes one resolved value: (value, run, path of the field) -> result.
_Complete = Callable[[Any, _Run, "Path | None"], Any]


def _attribute_of(field: GraphQLField, name: str) -> str | None:
    """The attribute a default resolver reads, or None when the resolver is a real one."""
    resolve = field.resolve
    if resolve is None:
        return name
    if getattr(resolve, "_ariadne_alias_resolver", False):
        attribute = inspect.getclosurevars(resolve).nonlocals.get("attr_name")
        if isinstance(attribute, str) and "." not in attribute:
            return attribute
    return None


class _Field:
    __slots__ = (
        "attribute",
        "complete",
        "definition",
        "key",
        "leaf",
        "node",
        "parent",
        "resolve",
        "takes_arguments",
    )

    def __init__(
        self,
        key: str,
        node: FieldNode,
        definition: GraphQLField,
        parent: GraphQLObjectType,
        complete: _Complete,
    ) -> None:
        self.key = key
        self.node = node
        self.definition = definition
        self.parent = parent
        self.complete = complete
        self.attribute = _attribute_of(definition, node.name.value)
        self.resolve = definition.resolve
        self.leaf = is_leaf_type(get_named_type(definition.type))
        self.takes_arguments = bool(definition.args or node.arguments)

    def value(self, source: Any, mapping: bool, run: _Run, path: Path | None) -> Any:
        attribute = self.attribute
        if attribute is not None and not self.node.arguments:
            value = source.get(attribute) if mapping else getattr(source, attribute, None)
            if callable(value) or isinstance(value, Exception):
                raise _Fallback
            if self.leaf:  # the common case: no path needed below a plain leaf
                return self.complete(value, run, None)
            return self.complete(value, run, Path(path, self.key, self.parent.name))
        field_path = Path(path, self.key, self.parent.name)
        if self.resolve is None:
            raise _Fallback  # a default resolver given arguments: a callable attribute
        executor = run.executor
        info = executor.build_resolve_info(self.definition, [self.node], self.parent, field_path)
        arguments = (
            get_argument_values(self.definition, self.node, executor.variable_values)
            if self.takes_arguments
            else {}
        )
        try:
            value = self.resolve(source, info, **arguments)
        except Exception:
            raise _Fallback from None
        if isinstance(value, Exception):
            raise _Fallback
        return self.complete(value, run, field_path)


class _Typename:
    __slots__ = ("key", "name")

    def __init__(self, key: str, name: str) -> None:
        self.key, self.name = key, name

    def value(self, source: Any, mapping: bool, run: _Run, path: Path | None) -> Any:
        return self.name


#: Values that are never callable nor an exception: a default resolver returns them as they are.
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})

#: Reads one field of a source: (source, source is a mapping, run, path of the source) -> value.
_Read = Callable[[Any, bool, _Run, "Path | None"], Any]


def _reader(field: Any) -> _Read:
    """The fastest way to read one field: inline for a plain leaf attribute, else its method."""
    if not isinstance(field, _Field) or field.attribute is None or field.node.arguments:
        return field.value  # type: ignore[no-any-return]
    if not field.leaf:
        return field.value
    attribute, complete = field.attribute, field.complete
    kind = field.definition.type
    nullable = not isinstance(kind, GraphQLNonNull)
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    exact = _EXACT.get(getattr(inner, "name", ""))  # a value of this type is its own output

    def read_leaf(source: Any, mapping: bool, run: _Run, path: Path | None) -> Any:
        value = source.get(attribute) if mapping else getattr(source, attribute, None)
        kind_of_value = type(value)
        if kind_of_value is exact or (value is None and nullable):
            return value
        if kind_of_value not in _PLAIN and (callable(value) or isinstance(value, Exception)):
            raise _Fallback
        return complete(value, run, None)

    return read_leaf


def _serialized(coerce: Callable[[Any], Any], value: Any) -> Any:
    """A leaf value serialized by its type; graphql-core reports the ones that do not serialize."""
    try:
        coerced = coerce(value)
    except Exception:
        raise _Fallback from None
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType
    ) -> list[FieldNode]:
        nodes: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise _Ineligible
            if isinstance(selection, FieldNode):
                nodes.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise _Ineligible
                nodes += self.selections(selection.selection_set, parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if (
                    fragment is None
                    or getattr(selection, "arguments", None)
                    or fragment.directives
                    or fragment.type_condition.name.value != parent.name
                ):
                    raise _Ineligible
                nodes += self.selections(fragment.selection_set, parent)
            else:
                raise _Ineligible
        return nodes

    def object(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> list[Any]:
        fields: list[Any] = []
        keys: set[str] = set()
        for node in self.selections(selection_set, parent):
            key = node.alias.value if node.alias else node.name.value
            if key in keys:
                raise _Ineligible  # graphql-core merges these; leave that to it
            keys.add(key)
            name = node.name.value
            if name == "__typename":
                fields.append(_Typename(key, parent.name))
                continue
            definition = parent.fields.get(name)
            if definition is None or name.startswith("__"):
                raise _Ineligible
            complete = self.completer(definition.type, node)
            fields.append(_Field(key, node, definition, parent, complete))
        return fields

    def completer(self, kind: GraphQLOutputType, node: FieldNode) -> _Complete:
        if isinstance(kind, GraphQLNonNull) and is_leaf_type(kind.of_type):
            coerce_required = kind.of_type.coerce_output_value

            exact = _EXACT.get(kind.of_type.name)

            def required_leaf(value: Any, run: _Run, path: Path | None) -> Any:
                if type(value) is exact:
                    return value  # what the built-in scalar's coercion returns for it
                if value is None:
                    raise _Fallback
                return _serialized(coerce_required, value)

            return required_leaf
        if isinstance(kind, GraphQLNonNull):
            inner = self.completer(kind.of_type, node)

            def non_null(value: Any, run: _Run, path: Path | None) -> Any:
                if value is None:
                    raise _Fallback
                return inner(value, run, path)

            return non_null
        if isinstance(kind, GraphQLList):
            item = self.completer(kind.of_type, node)

            def listed(value: Any, run: _Run, path: Path | None) -> Any:
                if value is None:
                    return None
                if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
                    raise _Fallback
                return [item(entry, run, Path(path, i, None)) for i, entry in enumerate(value)]

            return listed
        if is_leaf_type(kind):
            coerce = kind.coerce_output_value

            exact_type = _EXACT.get(kind.name)

            def leaf(value: Any, run: _Run, path: Path | None) -> Any:
                if value is None or type(value) is exact_type:
                    return value
                return _serialized(coerce, value)

            return leaf
        if isinstance(kind, GraphQLObjectType) and kind.is_type_of is None:
            if node.selection_set is None:
                raise _Ineligible
            readers = [
                (field.key, _reader(field)) for field in self.object(node.selection_set, kind)
            ]

            def complete_object(value: Any, run: _Run, path: Path | None) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise _Fallback
                mapping = isinstance(value, Mapping)
                return {key: read(value, mapping, run, path) for key, read in readers}

            return complete_object
        raise _Ineligible  # interfaces and unions


class FastPath:
    """Run plain query operations of a validated document without graphql-core's executor.

    An operation's compiled plan is kept in the operation's own ``memo``, so it
    lives exactly as long as the prepared document the :class:`DocumentCache`
    keeps (and no longer, for the long documents it does not keep).
    """

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema

    def _plan(self, document: DocumentNode, operation: Operation) -> list[Any] | None:
        if self in operation.memo:
            plan: list[Any] | None = operation.memo[self]
            return plan
        plan = None
        root = self._schema.query_type
        definition = operation.definition
        if operation.type == "query" and root is not None and not definition.directives:
            try:
                plan = _Compiler(self._schema, document).object(definition.selection_set, root)
            except _Ineligible:
                plan = None
        operation.memo[self] = plan  # plans are this schema's: kept per fast path
        return plan

    def run(
        self,
        document: DocumentNode,
        operation: Operation,
        variables: dict[str, Any] | None,
        context: Any,
    ) -> dict[str, Any] | None:
        """The ``data`` of the result, or None when graphql-core must run this request."""
        plan = self._plan(document, operation)
        if plan is None:
            return None
        executor = Executor.build(self._schema, document, None, context, variables, operation.name)
        if isinstance(executor, list):
            return None  # variables that do not fit: graphql-core reports them
        run = _Run(executor)
        try:
            return {field.key: field.value(None, False, run, None) for field in plan}
        except _Fallback:
            return None
        except Exception:
            return None
