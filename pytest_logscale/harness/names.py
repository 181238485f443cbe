"""The served schema's root field names, and the one check of a name a test gives against them.

Fault rules and journal assertions both take root field names; a misspelt one
would match nothing and let a test pass without checking anything, so both
refuse it here, naming the closest field.
"""

from __future__ import annotations

import difflib
from functools import cache

from graphql import ObjectTypeDefinitionNode, parse

from ..graphql.resolvers import SCHEMA_SDL

__all__ = ["check_root_field", "root_fields"]

_INTROSPECTION = frozenset({"__schema", "__type"})  # root fields that no schema type lists
_ROOT_TYPES = frozenset({"Query", "Mutation"})


@cache
def root_fields() -> frozenset[str]:
    """Every root field of the served schema (queries, mutations and introspection)."""
    names = set(_INTROSPECTION)
    for definition in parse(SCHEMA_SDL, no_location=True).definitions:
        if (
            isinstance(definition, ObjectTypeDefinitionNode)
            and definition.name.value in _ROOT_TYPES
        ):
            names.update(field.name.value for field in definition.fields or ())
    return frozenset(names)


def check_root_field(name: object) -> str:
    """``name`` when the served schema has that root field, else ValueError naming the closest."""
    known = root_fields()
    if isinstance(name, str) and name in known:
        return name
    listed = ", ".join(sorted(known))
    close = difflib.get_close_matches(name, sorted(known), n=1) if isinstance(name, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"the schema has no root field {name!r} (known: {listed}){hint}")
