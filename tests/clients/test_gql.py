"""The gql client, validating every query against the schema it introspects from the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gql import Client, gql
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportServerError
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError, GraphQLSchema
from test_seed_docs import SESSIONS_DOC, assert_documented_sessions_shape, snippet

from pytest_logscale import FakeLogScale


def connect(server: FakeLogScale, token: str) -> Client:
    transport = RequestsHTTPTransport(
        url=server.graphql_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return Client(transport=transport, fetch_schema_from_transport=True)


@pytest.fixture
def session(logscale_server: FakeLogScale) -> Iterator[SyncClientSession]:
    with connect(logscale_server, logscale_server.token) as session:
        yield session


def introspected(session: SyncClientSession) -> GraphQLSchema:
    schema = session.client.schema
    assert schema is not None, "gql did not fetch the schema"
    return schema


def test_gql_runs_the_documented_query_validated_against_the_introspected_schema(
    session: SyncClientSession, logscale_server: FakeLogScale
) -> None:
    answer = session.execute(gql(snippet(SESSIONS_DOC, "Raw")))
    assert_documented_sessions_shape({"data": answer})
    assert len(answer["sessions"]["results"]) == 10
    sort_keys = introspected(session).get_type("Sessions__SortBy")
    assert sort_keys is not None and "LoginTime" in sort_keys.values  # type: ignore[attr-defined]
    introspection, query = logscale_server.journal
    assert introspection.root_fields == ("__schema",)
    assert query.root_fields == ("sessions",)


def test_gql_passes_variables_of_our_enum_and_input_types(
    session: SyncClientSession,
) -> None:
    query = gql(
        "query Page($sortBy: Sessions__SortBy, $orderBy: OrderBy, $limit: Int) {"
        " sessions(level: User, sortBy: $sortBy, orderBy: $orderBy, limit: $limit)"
        " { totalResults results { id createdAt } } }"
    )
    query.variable_values = {"sortBy": "LoginTime", "orderBy": "ASC", "limit": 3}
    results = session.execute(query)["sessions"]["results"]
    assert 0 < len(results) <= 3
    times = [result["createdAt"] for result in results if result["createdAt"] is not None]
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("{ sessions(sortBy: Name) { totalResults } }", "Value 'Name' does not exist"),
        ("{ sessions { results { id password } } }", "Cannot query field 'password'"),
        ('{ sessions(limit: "ten") { totalResults } }', "Int cannot represent"),
        ('mutation { logoutOfSession(id: "x") }', "Unknown argument 'id'"),
    ],
)
def test_gql_rejects_a_query_invalid_against_our_schema_without_sending_it(
    session: SyncClientSession, logscale_server: FakeLogScale, query: str, complaint: str
) -> None:
    with pytest.raises(GraphQLError, match=complaint):
        session.execute(gql(query))
    (introspection,) = logscale_server.journal  # only the schema was fetched
    assert introspection.root_fields == ("__schema",)


def test_gql_logs_out_and_then_gets_401(logscale_server: FakeLogScale) -> None:
    with connect(logscale_server, logscale_server.member_token) as session:
        assert session.execute(gql("mutation { logoutOfSession }")) == {"logoutOfSession": True}
        with pytest.raises(TransportServerError, match="401") as refused:
            session.execute(gql("{ currentUser { id } }"))
    assert refused.value.code == 401
    assert [exchange.status for exchange in logscale_server.journal] == [200, 200, 401]
    assert "logged out" in str(logscale_server.journal.entries[-1].auth_failure)
