"""The served schema is LogScale's: exactly the reference subset, and a part of the full one."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import requests
from ariadne import make_executable_schema
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    ast_from_value,
    build_client_schema,
    build_schema,
    get_introspection_query,
    introspection_from_schema,
    lexicographic_sort_schema,
    print_ast,
    print_schema,
)
from graphql.pyutils import Undefined
from graphql.type import introspection_types, specified_scalar_types

from pytest_logscale import AppOptions, FakeLogScale
from pytest_logscale.graphql.resolvers import SCHEMA_SDL
from pytest_logscale.graphql.resolvers import build_schema as build_served_schema
from pytest_logscale.graphql.resolvers import mutation as mutation_bindings
from pytest_logscale.plugin import LogScaleServerFactory

DATA = Path(__file__).parent / "data"
BUILT_IN = set(introspection_types) | set(specified_scalar_types)


@pytest.fixture(scope="module")
def full_schema() -> GraphQLSchema:
    return build_schema((DATA / "logscale-full-schema.graphql").read_text(encoding="utf-8"))


@pytest.fixture
def served_schema(logscale_server: FakeLogScale) -> GraphQLSchema:
    """The schema as a client sees it: introspected over HTTP, descriptions left out."""
    response = requests.post(
        logscale_server.graphql_url,
        json={"query": get_introspection_query(descriptions=False)},
        headers={"Authorization": f"Bearer {logscale_server.token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return build_client_schema(body["data"])


def without_descriptions(schema: GraphQLSchema) -> str:
    """The SDL of a schema, its types and fields in name order, without descriptions."""
    client = build_client_schema(introspection_from_schema(schema, descriptions=False))
    return print_schema(lexicographic_sort_schema(client))


def own_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {name: t for name, t in schema.type_map.items() if name not in BUILT_IN}


def test_the_served_schema_is_exactly_the_reference_subset(served_schema: GraphQLSchema) -> None:
    shipped = files("pytest_logscale.contract").joinpath("reference-sessions.graphql")
    reference = build_schema(shipped.read_text(encoding="utf-8"))
    assert without_descriptions(served_schema) == without_descriptions(reference)


def test_the_served_schema_has_descriptions_for_its_root_fields(
    logscale_server: FakeLogScale,
) -> None:
    answer = logscale_server.execute('{ __type(name: "Query") { fields { name description } } }')
    fields = answer["data"]["__type"]["fields"]
    assert fields
    assert all(field["description"] for field in fields), fields


def test_every_served_type_exists_with_the_same_kind_in_the_full_schema(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    for name, served in own_types(served_schema).items():
        assert name in full_schema.type_map, name
        assert type(full_schema.type_map[name]) is type(served), name


def fields_of(named: GraphQLNamedType) -> dict[str, Any]:
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        return dict(named.fields)
    return {}


def test_every_served_field_has_the_same_type_in_the_full_schema(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    checked = 0
    for name, served in own_types(served_schema).items():
        full_fields = fields_of(full_schema.type_map[name])
        for field_name, field in fields_of(served).items():
            assert field_name in full_fields, f"{name}.{field_name}"
            assert str(field.type) == str(full_fields[field_name].type), f"{name}.{field_name}"
            checked += 1
    assert checked >= 40


def test_every_served_argument_has_the_same_type_and_default_in_the_full_schema(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    checked = 0
    for name, served in own_types(served_schema).items():
        if not isinstance(served, (GraphQLObjectType, GraphQLInterfaceType)):
            continue
        full_fields = fields_of(full_schema.type_map[name])
        for field_name, field in served.fields.items():
            full_args = full_fields[field_name].args
            for arg_name, arg in field.args.items():
                where = f"{name}.{field_name}({arg_name})"
                assert arg_name in full_args, where
                assert str(arg.type) == str(full_args[arg_name].type), where
                documented = DOCUMENTED_DEFAULTS.get((name, field_name, arg_name))
                expected = default_of(full_args[arg_name]) if documented is None else documented
                assert default_of(arg) == expected, where
                checked += 1
    assert checked >= 10


#: Defaults the served schema declares where LogScale's published schema declares none: the
#: ones the sessions() reference page documents (docs/behaviour.md, the sessions() table).
DOCUMENTED_DEFAULTS = {
    ("Query", "sessions", "level"): "Organization",
    ("Query", "sessions", "sortBy"): "LastActivityTime",
    ("Query", "sessions", "orderBy"): "ASC",
    ("Query", "sessions", "skip"): "0",
    ("Query", "sessions", "limit"): "50",
    ("Query", "sessions", "onlyActiveSessions"): "true",
}


def default_of(arg: GraphQLArgument) -> str | None:
    """An argument's default as GraphQL text, None when it has none.

    graphql-core 3.2 keeps it in ``default_value``; 3.3 keeps a schema's literal default
    in ``default`` and leaves ``default_value`` undefined, so comparing ``default_value``
    alone compares nothing there.
    """
    if arg.default_value is not Undefined:
        return print_ast(ast_from_value(arg.default_value, arg.type))
    literal = getattr(getattr(arg, "default", None), "literal", None)
    return None if literal is None else print_ast(literal)


def is_required(type_: Any, default: Any) -> bool:
    return isinstance(type_, GraphQLNonNull) and default is Undefined


def test_the_full_schema_requires_no_argument_or_input_field_the_fake_lacks(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    # else a query valid against the fake would be refused by LogScale
    for name, served in own_types(served_schema).items():
        full = full_schema.type_map[name]
        if isinstance(served, GraphQLInputObjectType):
            assert isinstance(full, GraphQLInputObjectType)
            for field_name, field in full.fields.items():
                if is_required(field.type, field.default_value):
                    assert field_name in served.fields, f"{name}.{field_name}"
        if isinstance(served, (GraphQLObjectType, GraphQLInterfaceType)):
            full_fields = fields_of(full)
            for field_name in served.fields:
                for arg_name, arg in full_fields[field_name].args.items():
                    if is_required(arg.type, arg.default_value):
                        assert arg_name in served.fields[field_name].args, (
                            f"{name}.{field_name}({arg_name})"
                        )


def test_every_served_enum_value_exists_in_the_full_schema(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    enums = [t for t in own_types(served_schema).values() if isinstance(t, GraphQLEnumType)]
    assert len(enums) >= 5
    for enum in enums:
        full = full_schema.type_map[enum.name]
        assert isinstance(full, GraphQLEnumType)
        assert set(enum.values) <= set(full.values), enum.name


def test_the_session_enums_have_exactly_the_full_schemas_values(
    served_schema: GraphQLSchema, full_schema: GraphQLSchema
) -> None:
    for name in (
        "Sessions__Filter_Level",
        "Sessions__SortBy",
        "OrderBy",
        "SessionRevocation__Type",
    ):
        served, full = served_schema.type_map[name], full_schema.type_map[name]
        assert isinstance(served, GraphQLEnumType)
        assert isinstance(full, GraphQLEnumType)
        assert set(served.values) == set(full.values), name


def test_every_root_field_has_a_resolver_bound() -> None:
    schema = build_served_schema()
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            assert field.resolve is not None, f"{root.name}.{name}"


def test_binding_a_resolver_to_a_field_the_schema_lacks_fails_loudly() -> None:
    renamed = SCHEMA_SDL.replace("logoutOfSession", "logOutOfSession")
    with pytest.raises(ValueError, match="logoutOfSession"):
        make_executable_schema(renamed, mutation_bindings)


def test_introspection_can_be_switched_off(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(app_options=AppOptions(introspection=False)) as server:
        status, body = server.post(
            '{"query": "{ __schema { types { name } } }"}', token=server.token
        )
    assert status == 400
    assert "introspection" in body["errors"][0]["message"].lower()
    assert "data" not in body
