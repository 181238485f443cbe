"""The schema: every type, field, argument and enum value of the reference subset, same types."""

from __future__ import annotations

from importlib.resources import files

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
)
from graphql.type import introspection_types, specified_scalar_types

from pytest_logscale.contract.client import LogScaleClient

REFERENCE = "reference-sessions.graphql"
BUILT_IN = set(introspection_types) | set(specified_scalar_types)


def reference_schema() -> GraphQLSchema:
    """The session subset of LogScale's schema, as shipped with the suite."""
    return build_schema(files(__package__).joinpath(REFERENCE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def target_schema(client: LogScaleClient) -> GraphQLSchema:
    """The target's schema, by introspection over HTTP."""
    data = client.data(get_introspection_query(descriptions=False))
    return build_client_schema(data)  # type: ignore[arg-type]


def differences(reference: GraphQLNamedType, target: GraphQLNamedType) -> list[str]:
    """What the target's type lacks or types differently, one line each."""
    name = reference.name
    if type(target) is not type(reference):
        return [f"{name} is a {type(target).__name__}, expected a {type(reference).__name__}"]
    found: list[str] = []
    if isinstance(reference, GraphQLEnumType) and isinstance(target, GraphQLEnumType):
        found += [
            f"{name}.{value} is missing" for value in set(reference.values) - set(target.values)
        ]
    if isinstance(reference, (GraphQLObjectType, GraphQLInputObjectType)):
        assert isinstance(target, (GraphQLObjectType, GraphQLInputObjectType))
        theirs = target.fields
        for field_name, field in reference.fields.items():
            where = f"{name}.{field_name}"
            if field_name not in theirs:
                found.append(f"{where} is missing")
                continue
            if str(theirs[field_name].type) != str(field.type):
                found.append(f"{where} is {theirs[field_name].type}, expected {field.type}")
            for arg_name, arg in getattr(field, "args", {}).items():
                their_args = theirs[field_name].args
                if arg_name not in their_args:
                    found.append(f"{where}({arg_name}) is missing")
                elif str(their_args[arg_name].type) != str(arg.type):
                    found.append(
                        f"{where}({arg_name}) is {their_args[arg_name].type}, expected {arg.type}"
                    )
    return sorted(found)


def test_the_reference_subset_is_part_of_the_targets_schema(
    target_schema: GraphQLSchema,
) -> None:
    """[schema] Each reference type, field, argument and enum value exists with the same type."""
    reference = reference_schema()
    found: list[str] = []
    checked = 0
    for name, named in reference.type_map.items():
        if name in BUILT_IN:
            continue
        checked += 1
        theirs = target_schema.type_map.get(name)
        if theirs is None:
            found.append(f"type {name} is missing")
        else:
            found += differences(named, theirs)
    assert checked >= 15
    assert found == [], "the target's schema differs from the reference subset:\n" + "\n".join(
        found
    )


def test_the_root_operations_are_where_the_reference_puts_them(
    target_schema: GraphQLSchema,
) -> None:
    """[schema] sessions and the mutations hang off the target's own Query and Mutation roots."""
    reference = reference_schema()
    for mine, theirs in (
        (reference.query_type, target_schema.query_type),
        (reference.mutation_type, target_schema.mutation_type),
    ):
        assert mine is not None
        assert theirs is not None, f"the target has no {mine.name} root"
        assert set(mine.fields) <= set(theirs.fields), sorted(set(mine.fields) - set(theirs.fields))


#: The defaults in the syntax block of LogScale's reference page for sessions().
DOCUMENTED_SESSIONS_DEFAULTS = {
    "level": "Organization",
    "sortBy": "LastActivityTime",
    "orderBy": "ASC",
    "skip": "0",
    "limit": "50",
    "onlyActiveSessions": "true",
}


def test_introspection_declares_the_documented_sessions_defaults(client: LogScaleClient) -> None:
    """[doc: sessions() reference page] The six argument defaults, as the target declares them."""
    data = client.data('{ __type(name: "Query") { fields { name args { name defaultValue } } } }')
    fields = {field["name"]: field for field in data["__type"]["fields"]}
    declared = {arg["name"]: arg["defaultValue"] for arg in fields["sessions"]["args"]}
    differing = {
        name: (declared.get(name), value)
        for name, value in DOCUMENTED_SESSIONS_DEFAULTS.items()
        if declared.get(name) != value
    }
    assert differing == {}, f"argument: (declared, documented) {differing}"
