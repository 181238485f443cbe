"""Fields LogScale has and this fake does not serve: say so, instead of "Cannot query field".

graphql-core's "Cannot query field" (or "Unknown type") tells a client author their query is wrong.
When the field (or type) exists in LogScale's full schema, the query is
right and the fake is the one lacking; the error says that. The full schema
(``logscale-full.graphql``, LogScale's schema with its descriptions stripped
by ``scripts/strip_descriptions.py``) is read only when such an error occurs,
so start-up and valid documents never pay for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from graphql import GraphQLError, parse
from graphql.language import (
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    TypeDefinitionNode,
)

__all__ = ["LogScaleSchema", "explain_unserved", "logscale_schema"]

_CANNOT_QUERY = re.compile(r"Cannot query field '(?P<field>[^']+)' on type '(?P<type>[^']+)'\.")
_UNKNOWN_TYPE = re.compile(r"Unknown type '(?P<type>[^']+)'\.")
_TYPES_WITH_FIELDS = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
)


@dataclass(frozen=True, slots=True)
class LogScaleSchema:
    """The names in LogScale's full schema: every named type, and the fields of each object type."""

    types: frozenset[str]
    fields: Mapping[str, frozenset[str]]


@functools.cache
def logscale_schema() -> LogScaleSchema:
    """LogScale's full schema, read from the shipped copy on first use (parsed, never built)."""
    text = resources.files(__package__).joinpath("logscale-full.graphql").read_text("utf-8")
    types: set[str] = set()
    fields: dict[str, set[str]] = {}
    for definition in parse(text, no_location=True).definitions:
        if isinstance(definition, TypeDefinitionNode):
            types.add(definition.name.value)
        if isinstance(definition, _TYPES_WITH_FIELDS):
            named = fields.setdefault(definition.name.value, set())
            named.update(field.name.value for field in definition.fields or ())
    return LogScaleSchema(frozenset(types), {k: frozenset(v) for k, v in fields.items()})


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
        if name in logscale_schema().fields.get(type_name, ()):
            return (
                f"The field '{type_name}.{name}' exists in LogScale's schema, but "
                "pytest-logscale does not implement it."
            )
        return None
    unknown = _UNKNOWN_TYPE.match(message)
    if unknown is not None and unknown["type"] in logscale_schema().types:
        return (
            f"The type '{unknown['type']}' exists in LogScale's schema, but "
            "pytest-logscale does not implement it."
        )
    return None
