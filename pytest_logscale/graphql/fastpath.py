"""A fast path for plain queries: graphql-core's exact result, without its per-field cost.

graphql-core spends a few microseconds on every field of every object it
returns, and a page of 50 sessions with every field is over a thousand fields.
For a query whose document has no directives and no abstract types, this module
compiles the operation's selection once, with graphql-core's own field
collection (``collect_fields``: fragments spread once per selection set, fields
of one response key merged), into straight-line Python: one function per
selected object, building its dict field by field. Plain attributes are read
directly (the attribute named in :data:`~.resolvers.ATTRIBUTES` when Ariadne
aliases the field), leaves are passed through when they already are their own
output and coerced by their type otherwise, and the schema's real resolvers are
called: those in :data:`~.resolvers.CONTEXT_ONLY` with an ``info`` that has only
``context`` (reading anything else raises :class:`FastPathError`), the others
with the ``info`` graphql-core builds. Within one request an object selected
by plain leaves is completed once and copied where it appears again.

The rule stays in the resolvers: anything out of the ordinary (a null where the
schema forbids it, a resolver that raises, a value that does not serialize)
makes :meth:`FastPath.run` return None, and the caller runs graphql-core, which
produces the errors. Queries do not change the state, so running one twice is
harmless. A mutation's root fields must not run twice: the fast path records
what each root resolver it ran gave (its value or its exception) in the
``outcomes`` the caller passes, and after a fallback the caller has graphql-core
replay those instead of calling the resolvers again (:func:`replaying`), so the
answer is still graphql-core's own. Compiling is bounded: a document
whose selection expands to more than ``max_fields`` compiled fields is left to
graphql-core. On graphql-core 3.2, whose field collection differs, the fast path
stays off and graphql-core runs every request.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

from ariadne import is_default_resolver
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    VariableDefinitionNode,
    default_field_resolver,
    is_leaf_type,
    visit,
)
from graphql.language import DirectiveNode, Node, VariableNode, Visitor
from graphql.pyutils import Path, Undefined, is_iterable

from ..domain.checks import whole_number
from .documents import Operation
from .resolvers import ATTRIBUTES, CONTEXT_ONLY

try:  # graphql-core 3.3's field collection and executor
    from graphql.execution.collect_fields import (
        FieldDetails,
        FragmentDetails,
        collect_fields,
        collect_subfields,
    )
    from graphql.execution.executor import Executor
    from graphql.execution.values import (
        VariableValues,
        get_argument_values,
        get_variable_values,
    )
except ImportError:  # pragma: no cover - graphql-core 3.2: graphql-core runs every request
    SUPPORTED = False
else:
    SUPPORTED = True

__all__ = ["DEFAULT_MAX_FIELDS", "SUPPORTED", "FastPath", "FastPathError", "Outcomes", "replaying"]

#: What each root field of a mutation gave when the fast path ran its resolver, by response
#: key: (True, value) or (False, the exception it raised).
Outcomes = dict[str, tuple[bool, Any]]

#: Compiled fields a document may expand to before the fast path leaves it to graphql-core.
DEFAULT_MAX_FIELDS = 1_000


class FastPathError(RuntimeError):
    """A bug of the fast path itself, never a client's doing: it must surface, not fall back."""


class _Ineligible(Exception):
    """The document uses something the fast path does not do."""


class _Fallback(Exception):
    """This run met something only graphql-core handles (an error, mostly)."""


@final
class _ContextInfo:
    """The ``info`` given to a resolver that reads only ``info.context``."""

    __slots__ = ("_coordinate", "context")

    def __init__(self, context: Any, coordinate: str) -> None:
        self.context, self._coordinate = context, coordinate

    def __getattr__(self, name: str) -> Any:
        raise FastPathError(
            f"the resolver of {self._coordinate} read info.{name}, but it is declared to read"
            " only info.context (resolvers.CONTEXT_ONLY)"
        )


def _coerce(coerce: Callable[[Any], Any], value: Any) -> Any:
    """A leaf value serialized by its type; graphql-core reports the ones that do not."""
    if value is None or callable(value) or isinstance(value, Exception):
        raise _Fallback  # a null where the schema forbids it, a method, an error
    try:
        coerced = coerce(value)
    except Exception:
        raise _Fallback from None
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced


def _coerce_item(coerce: Callable[[Any], Any], nullable: bool, value: Any) -> Any:
    return None if value is None and nullable else _coerce(coerce, value)


#: How the generated code reads a source of each class: 0 attributes, 1 a mapping, 2 not at all.
_KINDS: dict[type, int] = {dict: 1}
_MAX_KINDS = 1024  # classes remembered; a class beyond them is looked at every time


def _kind(value: Any) -> int:
    """How to read the fields of ``value`` (by its class alone: callable and Exception are too)."""
    kind = (
        2
        if value is None or callable(value) or isinstance(value, Exception)
        else int(isinstance(value, Mapping))
    )
    if len(_KINDS) < _MAX_KINDS:
        _KINDS[value.__class__] = kind
    return kind


#: Built-in scalars whose output coercion returns a value of exactly this class unchanged.
_EXACT: dict[GraphQLNamedType, str] = {
    GraphQLString: "str",
    GraphQLID: "str",
    GraphQLBoolean: "bool",
}


def _exact_class(kind: GraphQLNamedType) -> str | None:
    """The class whose values a leaf type outputs as they are, if there is one."""
    if kind in _EXACT:
        return _EXACT[kind]
    if isinstance(kind, GraphQLScalarType) and kind.coerce_output_value is getattr(
        GraphQLScalarType, "serialize", None
    ):
        return "int"  # a scalar without a serializer passes values through: ints are the usual
    return None


class _Finder(Visitor):
    """Finds a node of one kind anywhere below a node."""

    def __init__(self, kind: type[Node]) -> None:
        super().__init__()
        self.kind, self.found = kind, False

    def enter(self, node: Node, *_args: Any) -> Any:
        if isinstance(node, self.kind):
            self.found = True
            return self.BREAK
        return None


def _contains(node: Node, kind: type[Node]) -> bool:
    finder = _Finder(kind)
    visit(node, finder)
    return finder.found


#: Argument values a resolver may be given again and again: none of them can be changed.
_IMMUTABLE = (str, int, float, bool, type(None))


def _copyable(value: Any) -> bool:
    """Whether a constant argument is made of dicts and lists of immutable values only."""
    if type(value) in _IMMUTABLE:
        return True
    if type(value) is dict:
        return all(_copyable(item) for item in value.values())
    if type(value) is list:
        return all(_copyable(item) for item in value)
    return False


def _fresh(value: Any) -> Any:
    """A new copy of a :func:`_copyable` value's dicts and lists (its leaves are immutable)."""
    if value.__class__ is dict:
        return {key: _fresh(item) for key, item in value.items()}
    if value.__class__ is list:
        return [_fresh(item) for item in value]
    return value


@dataclass(slots=True)
class _Site:
    """A field whose resolver gets an ``info``: its definition, nodes and parent type."""

    definition: GraphQLField
    nodes: list[FieldNode]
    parent: GraphQLObjectType


@dataclass(slots=True)
class _Plan:
    """An operation compiled: the root function and what its generated code refers to."""

    root: Callable[[Any, Any, Any], dict[str, Any]]
    schema: GraphQLSchema
    variable_definitions: Sequence[VariableDefinitionNode]
    sites: list[_Site]
    context_sites: list[str]
    memos: int


@final
class _Request:
    """What one run of a plan needs: the context, and graphql-core's executor when asked for."""

    __slots__ = (
        "_arguments",
        "_build",
        "_executor",
        "_raw",
        "_variables",
        "cinfo",
        "context",
        "memos",
        "outcomes",
        "plan",
    )

    def __init__(
        self,
        plan: _Plan,
        context: Any,
        variables: dict[str, Any] | None,
        build: Callable[[], Any],
        outcomes: Outcomes,
        coerced: VariableValues | None = None,
    ) -> None:
        self.plan, self.context, self._raw, self._build = plan, context, variables, build
        self.outcomes = outcomes
        self._executor: Any = None
        self._variables: VariableValues | None = coerced
        self._arguments: dict[int, dict[str, Any]] = {}
        self.cinfo = tuple(_ContextInfo(context, c) for c in plan.context_sites)
        self.memos: list[dict[int, Any]] = [{} for _ in range(plan.memos)]

    def executor(self) -> Any:
        if self._executor is None:
            executor = self._build()
            if isinstance(executor, list):
                raise _Fallback  # variables that do not fit: graphql-core reports them
            self._executor = executor
        return self._executor

    def info(self, site: int, path: Path) -> Any:
        """The ``info`` graphql-core would give the resolver at this site and path."""
        s = self.plan.sites[site]
        return self.executor().build_resolve_info(s.definition, s.nodes, s.parent, path)

    def arguments(self, site: int) -> dict[str, Any]:
        """The field's coerced arguments (the same for every object of this request)."""
        found = self._arguments.get(site)
        if found is None:
            if self._variables is None:
                coerced = get_variable_values(
                    self.plan.schema, self.plan.variable_definitions, self._raw or {}
                )
                if isinstance(coerced, list):
                    raise _Fallback  # variables that do not fit: graphql-core reports them
                self._variables = coerced
            s = self.plan.sites[site]
            try:
                found = get_argument_values(s.definition, s.nodes[0], self._variables)
            except GraphQLError:
                raise _Fallback from None
            self._arguments[site] = found
        return found


class _Compiler:
    """Turns one operation's selection into the source of one function per selected object."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: Operation,
        attributes: Mapping[str, Mapping[str, str]],
        context_only: frozenset[tuple[str, str]],
        max_fields: int,
    ) -> None:
        self.schema, self.operation = schema, operation.definition
        self.records = operation.type == "mutation"  # root resolvers write: keep what they gave
        self.attributes, self.context_only = attributes, context_only
        self.fragments = {
            d.name.value: FragmentDetails(d)
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = VariableValues({}, {})
        self.budget = max_fields
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "_Fallback": _Fallback,
            "FastPathError": FastPathError,
            "_Path": Path,
            "_coerce": _coerce,
            "_coerce_item": _coerce_item,
            "_fresh": _fresh,
            "_kinds": _KINDS,
            "_kind": _kind,
            "_is_iterable": is_iterable,
        }
        self.sites: list[_Site] = []
        self.context_sites: list[str] = []
        self.memos = 0
        self.functions = 0

    def constant(self, value: Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def plan(self, root: GraphQLObjectType) -> _Plan:
        grouped = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation
        ).grouped_field_set
        name, _flat, _path = self.object(root, grouped, root=True)
        source = "\n".join(self.lines)
        exec(
            compile(
                source,
                f"<fast path: {self.operation.name.value if self.operation.name else 'query'}>",
                "exec",
            ),
            self.namespace,
        )
        return _Plan(
            self.namespace[name],
            self.schema,
            self.operation.variable_definitions or (),
            self.sites,
            self.context_sites,
            self.memos,
        )

    def object(
        self,
        parent: GraphQLObjectType,
        grouped: Mapping[str, list[FieldDetails]],
        root: bool = False,
        loop: bool | None = None,
    ) -> tuple[str, bool, bool]:
        """Compile one selected object: (function name, only plain leaves, needs its path).

        The function is ``o<n>(src, rq, path)`` building one dict, or with ``loop`` (True:
        items may be null, False: they may not) ``l<n>(items, rq, path)`` building the list of
        them in one loop, with no call per item.
        """
        if parent.is_type_of is not None:
            raise _Ineligible
        by_attribute: list[str] = []
        by_key: list[str] = []
        values: list[str] = []
        flat, needs_path = True, False
        for number, (key, details) in enumerate(grouped.items()):
            self.budget -= 1
            if self.budget < 0:
                raise _Ineligible  # an expanded selection this large is graphql-core's to run
            nodes = [detail.node for detail in details]
            name = nodes[0].name.value
            if name == "__typename":
                values.append(f"{key!r}: {parent.name!r}")
                continue
            definition = parent.fields.get(name)
            if definition is None or name.startswith("__"):
                raise _Ineligible  # introspection
            value = f"v{number}"
            read, as_mapping, plain, path = self.resolve(
                parent, key, definition, nodes, value, root and self.records
            )
            complete, leaf, path_below = self.complete(definition.type, parent, key, nodes, value)
            flat = flat and plain and leaf
            needs_path = needs_path or path or path_below
            by_attribute += read + complete
            by_key += as_mapping + complete
            values.append(f"{key!r}: {value}")
        built = "{" + ", ".join(values) + "}"
        function = f"{'o' if loop is None else 'l'}{self.functions}"
        self.functions += 1
        body = [
            # the root value is None: the attribute branch (an attribute of None falls back)
            "kind = 0" if root else "kind = _kinds.get(src.__class__)",
            *(
                []
                if root
                else [
                    "if kind is None:",
                    "    kind = _kind(src)",
                    "if kind == 2:",
                    "    raise _Fallback  # null, a method or an error: graphql-core's to do",
                ]
            ),
            "if kind:",
            *(f"    {line}" for line in by_key or ["pass"]),  # {} selects nothing (3.3 parses it)
            "else:",
            "    try:",
            *(f"        {line}" for line in by_attribute or ["pass"]),
            "    except AttributeError:",
            "        raise _Fallback from None",
        ]
        if loop is None:
            self.lines += [
                f"def {function}(src, rq, path):",
                "    cinfo, memos = rq.cinfo, rq.memos",
                *(f"    {line}" for line in body),
                f"    return {built}",
                "",
            ]
            return function, flat, needs_path
        items = "for i, src in enumerate(items):" if needs_path else "for src in items:"
        self.lines += [
            f"def {function}(items, rq, listed):",
            "    cinfo, memos = rq.cinfo, rq.memos",
            "    out = []",
            "    append = out.append",
            f"    {items}",
            *(["        path = _Path(listed, i, None)"] if needs_path else []),
            *(
                ["        if src is None:", "            append(None)", "            continue"]
                if loop
                else []
            ),
            *(f"        {line}" for line in body),
            f"        append({built})",
            "    return out",
            "",
        ]
        return function, flat, needs_path

    def resolve(
        self,
        parent: GraphQLObjectType,
        key: str,
        definition: GraphQLField,
        nodes: list[FieldNode],
        value: str,
        records: bool = False,
    ) -> tuple[list[str], list[str], bool, bool]:
        """Lines reading one field from ``src`` as an object and as a mapping.

        Also whether it is a plain read (no resolver) and whether it needs the path.
        With ``records`` (a mutation's root field) what the resolver gave is kept in
        ``rq.outcomes``, for graphql-core to replay after a fallback.
        """
        name, resolve = nodes[0].name.value, definition.resolve
        if is_default_resolver(resolve):
            if records:
                raise _Ineligible  # a mutation field without its resolver: graphql-core's
            attribute = self.attributes.get(parent.name, {}).get(name)
            if attribute is None:
                if resolve is not None and resolve is not default_field_resolver:
                    raise _Ineligible  # an alias the map does not name: never guess
                attribute = name
            if "." in attribute:
                raise _Ineligible  # Ariadne reads dotted paths step by step
            plain = attribute.isidentifier() and not keyword.iskeyword(attribute)
            read = f"src.{attribute}" if plain else f"getattr(src, {attribute!r})"
            return [f"{value} = {read}"], [f"{value} = src.get({attribute!r})"], True, False
        coordinate = f"{parent.name}.{name}"
        function = self.constant(resolve)
        site = len(self.sites)
        self.sites.append(_Site(definition, nodes, parent))
        arguments = ""
        if definition.args:
            arguments = f", **rq.arguments({site})"
            if not _contains(nodes[0], VariableNode):  # the same for every request: work out once
                try:
                    fixed = get_argument_values(definition, nodes[0], self.variables)
                except GraphQLError:
                    fixed = None
                if fixed is not None and all(type(v) in _IMMUTABLE for v in fixed.values()):
                    arguments = f", **{self.constant(fixed)}"  # unpacked: resolvers get a copy
                elif fixed is not None and _copyable(fixed):  # an input object, a list
                    arguments = f", **_fresh({self.constant(fixed)})"  # new ones for each call
        if (parent.name, name) in self.context_only:
            info, path = f"cinfo[{len(self.context_sites)}]", False
            self.context_sites.append(coordinate)
        else:
            info, path = f"rq.info({site}, _Path(path, {key!r}, {parent.name!r}))", True
        if records:
            lines = [
                "try:",
                f"    {value} = {function}(src, {info}{arguments})",
                "except FastPathError:",
                "    raise",
                "except Exception as error:",
                f"    rq.outcomes[{key!r}] = (False, error)",
                "    raise _Fallback from None",
                f"rq.outcomes[{key!r}] = (True, {value})",
            ]
            return lines, lines, False, path
        lines = [
            "try:",
            f"    {value} = {function}(src, {info}{arguments})",
            "except FastPathError:",
            "    raise",
            "except Exception:",
            "    raise _Fallback from None",
        ]
        return lines, lines, False, path

    def complete(
        self,
        kind: GraphQLOutputType,
        parent: GraphQLObjectType,
        key: str,
        nodes: list[FieldNode],
        value: str,
    ) -> tuple[list[str], bool, bool]:
        """Lines completing ``value`` as its type; whether it is a leaf; whether it needs path."""
        nullable = not isinstance(kind, GraphQLNonNull)
        inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
        if is_leaf_type(inner):
            coerce = self.constant(inner.coerce_output_value)
            exact = _exact_class(inner)
            test = f"{value}.__class__ is not {exact}" if exact else "True"
            if nullable:
                test = f"{value} is not None and {test}"
            if test == "True":
                return [f"{value} = _coerce({coerce}, {value})"], True, False
            return [f"if {test}:", f"    {value} = _coerce({coerce}, {value})"], True, False
        guard = f"if {value} is not None:" if nullable else "if True:"
        if isinstance(inner, GraphQLObjectType):
            function, flat, path = self.object(inner, self.subfields(inner, nodes))
            here = f"_Path(path, {key!r}, {parent.name!r})" if path else "None"
            if not flat or path:
                return [guard, f"    {value} = {function}({value}, rq, {here})"], False, path
            memo = self.memos  # an object of plain leaves: completed once per request
            self.memos += 1
            return (
                [
                    guard,
                    f"    m = memos[{memo}]",
                    f"    h = m.get(id({value}))",
                    "    if h is None:",
                    f"        h = m[id({value})] = ({value}, {function}({value}, rq, None))",
                    f"    {value} = h[1].copy()",
                ],
                False,
                False,
            )
        if isinstance(inner, GraphQLList):
            lines, path = self.complete_list(inner, parent, key, nodes, value, guard)
            return lines, False, path
        raise _Ineligible  # interfaces and unions

    def complete_list(
        self,
        kind: GraphQLList[Any],
        parent: GraphQLObjectType,
        key: str,
        nodes: list[FieldNode],
        value: str,
        guard: str,
    ) -> tuple[list[str], bool]:
        """Lines completing a list of leaves or objects; whether they need the path."""
        item = kind.of_type
        nullable = not isinstance(item, GraphQLNonNull)
        inner = item.of_type if isinstance(item, GraphQLNonNull) else item
        check = [
            guard,
            # a default resolver calls a callable value, even one that is also iterable
            f"    if {value}.__class__ is not list and"
            f" (callable({value}) or not _is_iterable({value})):",
            "        raise _Fallback",
        ]
        if is_leaf_type(inner):
            coerce = self.constant(inner.coerce_output_value)
            line = f"    {value} = [_coerce_item({coerce}, {nullable}, x) for x in {value}]"
            return [*check, line], False
        if not isinstance(inner, GraphQLObjectType):
            raise _Ineligible  # lists of lists, interfaces and unions
        function, _flat, path = self.object(inner, self.subfields(inner, nodes), loop=nullable)
        here = f"_Path(path, {key!r}, {parent.name!r})" if path else "None"
        return [*check, f"    {value} = {function}({value}, rq, {here})"], path

    def subfields(
        self, kind: GraphQLObjectType, nodes: list[FieldNode]
    ) -> Mapping[str, list[FieldDetails]]:
        details = [FieldDetails(node, None) for node in nodes]
        return collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, kind, details
        ).grouped_field_set


@final
class FastPath:
    """Run plain query operations of a validated document without graphql-core's executor.

    ``attributes`` names the record attribute of each field Ariadne aliases,
    ``context_only`` the resolvers that read only ``info.context`` (both default
    to this package's schema). A document expanding to more than ``max_fields``
    compiled fields is left to graphql-core. An operation's compiled plan is kept
    in the operation's own ``memo``, so it lives exactly as long as the prepared
    document the :class:`~.documents.DocumentCache` keeps.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
        context_only: frozenset[tuple[str, str]] | None = None,
        max_fields: int = DEFAULT_MAX_FIELDS,
    ) -> None:
        self._schema = schema
        self._attributes = ATTRIBUTES if attributes is None else attributes
        self._context_only = CONTEXT_ONLY if context_only is None else context_only
        self._max_fields = whole_number(max_fields, "FastPath max_fields", 1)

    def compile(self, document: DocumentNode, operation: Operation) -> _Plan | None:
        """The operation's compiled plan, or None when graphql-core must run it."""
        if self in operation.memo:
            plan: _Plan | None = operation.memo[self]
            return plan
        plan = None
        root = {
            "query": self._schema.query_type,
            "mutation": self._schema.mutation_type,
        }.get(operation.type)
        # @skip and @include would make the selection depend on the variables
        if SUPPORTED and root is not None and not _contains(document, DirectiveNode):
            compiler = _Compiler(
                self._schema,
                document,
                operation,
                self._attributes,
                self._context_only,
                self._max_fields,
            )
            try:
                plan = compiler.plan(root)
            except _Ineligible:
                plan = None
        operation.memo[self] = plan  # plans are this fast path's: kept per instance
        return plan

    def run(
        self,
        document: DocumentNode,
        operation: Operation,
        variables: dict[str, Any] | None,
        context: Any,
        outcomes: Outcomes | None = None,
        coerced: VariableValues | None = None,
    ) -> dict[str, Any] | None:
        """The ``data`` of the result, or None when graphql-core must run this request.

        For a mutation, pass ``outcomes`` (an empty dict): after None, graphql-core must
        run the request with :func:`replaying` them, or root resolvers would run twice.
        ``coerced``: ``variables`` as graphql-core's ``get_variable_values`` coerced them
        for this operation, when the caller already did (they are not coerced again).
        """
        plan = self.compile(document, operation)
        if plan is None:
            return None

        def build() -> Any:
            return Executor.build(self._schema, document, None, context, variables, operation.name)

        try:
            kept = {} if outcomes is None else outcomes
            request = _Request(plan, context, variables, build, kept, coerced)
            return plan.root(None, request, None)
        except _Fallback:
            return None


def replaying(outcomes: Outcomes) -> Callable[..., Any]:
    """A graphql-core middleware giving each root field in ``outcomes`` what it gave before.

    Its value is returned, or its exception raised again, instead of calling the
    resolver a second time; every other field is resolved as usual.
    """

    def middleware(resolve: Callable[..., Any], root: Any, info: Any, **args: Any) -> Any:
        if info.path.prev is None and info.path.key in outcomes:
            done, value = outcomes[info.path.key]
            if done:
                return value
            raise value
        return resolve(root, info, **args)

    return middleware
