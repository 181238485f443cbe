"""Fields LogScale has and this fake does not serve: say so, instead of "Cannot query field".

graphql-core's "Cannot query field" tells a client author their query is wrong.
When the field (or argument) exists in LogScale's full schema, the query is
right and the fake is the one lacking; the error says that. The full schema
(``logscale-full.graphql``, LogScale's schema with its descriptions stripped
by ``scripts/strip_descriptions.py``) is read only when such an error occurs,
so start-up and valid documents never pay for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from importlib import resources

from graphql import GraphQLError, parse
from graphql.language import (
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
)

__all__ = ["explain_unserved", "logscale_fields"]

_CANNOT_QUERY = re.compile(r"Cannot query field '(?P<field>[^']+)' on type '(?P<type>[^']+)'\.")
_UNKNOWN_ARGUMENT = re.compile(
    r"Unknown argument '(?P<argument>[^']+)' on field '(?P<type>[^'.]+)\.(?P<field>[^']+)'\."
)
_TYPES_WITH_FIELDS = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
)


@functools.cache
def logscale_fields() -> Mapping[str, Mapping[str, frozenset[str]]]:
    """LogScale's object and interface types: type name to field name to argument names.

    Read from the shipped full schema on first use (parsing only, no schema build).
    """
    text = resources.files(__package__).joinpath("logscale-full.graphql").read_text("utf-8")
    types: dict[str, dict[str, frozenset[str]]] = {}
    for definition in parse(text, no_location=True).definitions:
        if isinstance(definition, _TYPES_WITH_FIELDS):
            fields = types.setdefault(definition.name.value, {})
            for field in definition.fields or ():
                fields[field.name.value] = frozenset(a.name.value for a in field.arguments or ())
    return types


def explain_unserved(errors: Iterable[GraphQLError]) -> list[GraphQLError]:
    """The validation errors, those about something LogScale has told as not implemented here."""
    return [_explained(error) for error in errors]


def _explained(error: GraphQLError) -> GraphQLError:
    message = _unserved_message(error.message)
    if message is None:
        return error
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, extensions=error.extensions
    )


def _unserved_message(message: str) -> str | None:
    field = _CANNOT_QUERY.match(message)
    if field is not None:
        type_name, name = field["type"], field["field"]
        if name in logscale_fields().get(type_name, {}):
            return (
                f"The field '{type_name}.{name}' exists in LogScale's schema, but "
                "pytest-logscale does not implement it."
            )
        return None
    argument = _UNKNOWN_ARGUMENT.match(message)
    if argument is not None:
        type_name, name = argument["type"], argument["field"]
        if argument["argument"] in logscale_fields().get(type_name, {}).get(name, ()):
            return (
                f"The argument '{argument['argument']}' of '{type_name}.{name}' exists in "
                "LogScale's schema, but pytest-logscale does not implement it."
            )
    return None
