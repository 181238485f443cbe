"""The gql client, validating every query against the schema it introspects from the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gql import Client, GraphQLRequest, gql
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportQueryError, TransportServerError
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError, GraphQLSchema, print_schema
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


# -- issue 13: what a gql user meets ----------------------------------------------------------


def test_gql_sees_the_documented_sessions_defaults_in_the_schema(
    session: SyncClientSession,
) -> None:
    printed = print_schema(introspected(session))  # what a code generator reads
    for declared in (
        "level: Sessions__Filter_Level = Organization",
        "sortBy: Sessions__SortBy = LastActivityTime",
        "orderBy: OrderBy = ASC",
        "skip: Int = 0",
        "limit: Int = 50",
        "onlyActiveSessions: Boolean = true",
    ):
        assert declared in printed


def test_gql_default_sessions_query_lists_the_organization_oldest_activity_first(
    session: SyncClientSession, logscale_server: FakeLogScale
) -> None:
    page = session.execute(
        gql("{ sessions { totalResults results { lastActivityAt user { id } } } }")
    )
    results = page["sessions"]["results"]
    times = [row["lastActivityAt"] for row in results]
    assert times == sorted(times)
    assert len({row["user"]["id"] for row in results}) > 1


def test_gql_long_variables_given_as_text_are_refused(session: SyncClientSession) -> None:
    query = gql(
        "mutation($i: Long!, $f: Long!) { updateSessionSettings(input: "
        "{maxInactivityPeriod: $i, forceReauthenticationAfter: $f}) { id } }"
    )
    query.variable_values = {"i": "36000000", "f": 8640000000}
    with pytest.raises(TransportQueryError, match="never text"):
        session.execute(query)


def test_gql_reads_viewer_and_validates_a_token(
    session: SyncClientSession, logscale_server: FakeLogScale
) -> None:
    owner_session = next(s for s in logscale_server.sessions if s.token == logscale_server.token)
    query = gql(
        "query($t: String!) { viewer { id isOrganizationRoot } "
        "validateAccessTokenV2(accessToken: $t) { sessionId } }"
    )
    query.variable_values = {"t": logscale_server.token}
    assert session.execute(query) == {
        "viewer": {"id": logscale_server.owner().id, "isOrganizationRoot": True},
        "validateAccessTokenV2": {"sessionId": owner_session.id},
    }


def test_gql_batch_is_told_batching_is_not_supported(logscale_server: FakeLogScale) -> None:
    transport = RequestsHTTPTransport(
        url=logscale_server.graphql_url,
        headers={"Authorization": f"Bearer {logscale_server.token}"},
        timeout=60,
    )
    with Client(transport=transport) as batch, pytest.raises(TransportServerError, match="400"):
        batch.execute_batch([GraphQLRequest("{ currentUser { id } }")] * 2)
    (entry,) = logscale_server.journal
    assert "Batching is not supported" in entry.response["errors"][0]["message"]
