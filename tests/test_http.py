"""Every HTTP path of the fake and every way a request can go wrong, over real HTTP."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import pytest_logscale
from pytest_logscale import AppOptions, FakeLogScale
from pytest_logscale.plugin import LogScaleServerFactory

CURRENT_USER = '{"query": "{ currentUser { username } }"}'
TIMEOUT = 30


def post(
    server: FakeLogScale,
    body: str | bytes,
    *,
    token: str | None = "",
    authorization: str | None = None,
) -> requests.Response:
    """POST a raw body to /graphql; token "" means the owner's, None means no header at all."""
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token or server.token}"
    return requests.post(server.graphql_url, data=body, headers=headers, timeout=TIMEOUT)


def error_messages(response: requests.Response) -> list[str]:
    body = response.json()
    assert set(body) == {"errors"}, body
    return [error["message"] for error in body["errors"]]


def gql(query: str, **extra: Any) -> str:
    return json.dumps({"query": query, **extra})


# -- success --------------------------------------------------------------------------------


def test_a_query_with_the_owners_token_answers_200_with_data(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, CURRENT_USER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {
        "data": {"currentUser": {"username": logscale_server.owner().username}}
    }


def test_raw_newlines_and_tabs_inside_the_query_string_are_accepted(
    logscale_server: FakeLogScale,
) -> None:
    body = '{"query" : "query{\n\tcurrentUser {\n  username\n }\n}"\n}'
    response = post(logscale_server, body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentUser"]["username"].endswith("@company.com")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_matched_ignoring_case(
    logscale_server: FakeLogScale, scheme: str
) -> None:
    response = post(
        logscale_server, CURRENT_USER, authorization=f"{scheme} {logscale_server.token}"
    )
    assert response.status_code == 200, response.text


def test_variables_and_a_named_operation_are_used(logscale_server: FakeLogScale) -> None:
    query = (
        "query A($limit: Int) { sessions(limit: $limit) { results { id } } } "
        "query B { currentUser { id } }"
    )
    response = post(logscale_server, gql(query, variables={"limit": 1}, operationName="A"))
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["sessions"]["results"]) == 1


# -- 401 ------------------------------------------------------------------------------------


def assert_unauthorized(server: FakeLogScale, response: requests.Response, *words: str) -> None:
    """LogScale's plain-text 401 went out; the journal's reason holds the words."""
    assert response.status_code == 401, response.text
    assert response.text == "The supplied authentication is invalid"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    message = str(server.journal.entries[-1].auth_failure)
    for word in words:
        assert word in message.lower(), message


def test_no_authorization_header_gets_401_saying_there_is_no_token(
    logscale_server: FakeLogScale,
) -> None:
    assert_unauthorized(
        logscale_server, post(logscale_server, CURRENT_USER, token=None), "no access token"
    )


def test_an_empty_bearer_token_gets_401_saying_there_is_no_token(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, CURRENT_USER, authorization="Bearer ")
    assert_unauthorized(logscale_server, response, "no access token")


def test_a_basic_scheme_gets_401_saying_bearer_is_needed(logscale_server: FakeLogScale) -> None:
    response = post(logscale_server, CURRENT_USER, authorization="Basic dXNlcjpwYXNz")
    assert_unauthorized(logscale_server, response, "bearer", "basic")


def test_an_unknown_token_gets_401_saying_it_is_not_valid(logscale_server: FakeLogScale) -> None:
    response = post(logscale_server, CURRENT_USER, token="not-a-token-of-this-fake")
    assert_unauthorized(logscale_server, response, "not valid")


def test_a_logged_out_session_token_gets_401_saying_logged_out(
    logscale_server: FakeLogScale,
) -> None:
    session = logscale_server.login(logscale_server.admin())
    logout = post(logscale_server, gql("mutation { logoutOfSession }"), token=session.token)
    assert logout.json() == {"data": {"logoutOfSession": True}}
    assert_unauthorized(
        logscale_server, post(logscale_server, CURRENT_USER, token=session.token), "logged out"
    )


def test_a_revoked_session_token_gets_401_saying_revoked(logscale_server: FakeLogScale) -> None:
    session = logscale_server.login(logscale_server.member())
    revoke = post(
        logscale_server,
        gql(
            "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }",
            variables={"id": session.id},
        ),
    )
    assert revoke.json() == {"data": {"revokeSession": True}}
    assert_unauthorized(
        logscale_server, post(logscale_server, CURRENT_USER, token=session.token), "revoked"
    )


def test_an_expired_session_token_gets_401_saying_expired(logscale_server: FakeLogScale) -> None:
    assert post(logscale_server, CURRENT_USER).status_code == 200
    logscale_server.clock.advance(hours=11)
    assert_unauthorized(
        logscale_server, post(logscale_server, CURRENT_USER), "expired", "maxinactivityperiod"
    )


# -- 400: the body ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b"{query: nope", ("not valid json",), id="not-json"),
        pytest.param(b'{"query": "\xff\xfe"}', ("utf-8",), id="not-utf8"),
        pytest.param(b"", ("empty",), id="empty"),
        pytest.param(b"  \n ", ("empty",), id="blank"),
        pytest.param(b'["{ currentUser { id } }"]', ("json object",), id="array"),
        pytest.param(b'"{ currentUser { id } }"', ("json object",), id="string"),
        pytest.param(b"42", ("json object",), id="number"),
        pytest.param(b"null", ("json object",), id="null"),
        pytest.param(b'{"variables": {}}', ('"query" string',), id="missing-query"),
        pytest.param(b'{"query": 7}', ('"query" string',), id="non-string-query"),
        pytest.param(
            b'{"query": "{ currentUser { id } }", "variables": [1]}',
            ('"variables"',),
            id="variables-array",
        ),
        pytest.param(
            b'{"query": "{ currentUser { id } }", "variables": "{}"}',
            ('"variables"',),
            id="variables-string",
        ),
        pytest.param(
            b'{"query": "{ currentUser { id } }", "operationName": 1}',
            ('"operationname"',),
            id="operation-name-number",
        ),
        pytest.param(
            b'{"query": "query A { currentUser { id } }", "operationName": "B"}',
            ("no operation named", "'b'"),
            id="unknown-operation-name",
        ),
        pytest.param(
            b'{"query": "query A { currentUser { id } } query B { organization { id } }"}',
            ("several operations", "operationname"),
            id="several-operations-unnamed",
        ),
    ],
)
def test_a_bad_body_gets_400_with_a_json_error_saying_what_is_wrong(
    logscale_server: FakeLogScale, body: bytes, words: tuple[str, ...]
) -> None:
    response = post(logscale_server, body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    (message,) = error_messages(response)
    for word in words:
        assert word in message.lower(), message


def test_a_document_that_does_not_parse_gets_400_with_locations_and_no_data(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, gql("{ currentUser {"))
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 16}]


def test_a_document_that_does_not_validate_gets_400_with_locations_and_no_data(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, gql("{\n  currentUser { id }\n  nope\n}"))
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert "nope" in error["message"]
    assert error["locations"] == [{"line": 3, "column": 3}]


def test_a_variable_of_the_wrong_type_gets_400_with_no_data(
    logscale_server: FakeLogScale,
) -> None:
    query = "query($limit: Int) { sessions(limit: $limit) { totalResults } }"
    response = post(logscale_server, gql(query, variables={"limit": "ten"}))
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert "$limit" in error["message"]
    assert "locations" in error


def test_a_missing_required_variable_gets_400(logscale_server: FakeLogScale) -> None:
    query = "query($id: String!) { user(id: $id) { id } }"
    response = post(logscale_server, gql(query))
    assert response.status_code == 400, response.text
    assert "$id" in response.json()["errors"][0]["message"]


# -- 413 and the order of checks ---------------------------------------------------------------


@pytest.fixture
def small_server(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory(app_options=AppOptions(max_body_bytes=100)) as server:
        yield server


def padded(size: int) -> str:
    """A valid request body of exactly ``size`` bytes."""
    body = gql("{ currentUser { id } }", padding="")
    return body[:-2] + "x" * (size - len(body)) + body[-2:]


def test_a_body_at_the_limit_is_served_and_one_byte_more_gets_413(
    small_server: FakeLogScale,
) -> None:
    assert post(small_server, padded(100)).status_code == 200
    response = post(small_server, padded(101))
    assert response.status_code == 413
    (message,) = error_messages(response)
    assert "100 bytes" in message


def test_a_body_over_one_mebibyte_gets_413_by_default(logscale_server: FakeLogScale) -> None:
    response = post(logscale_server, padded((1 << 20) + 1))
    assert response.status_code == 413
    assert "1048576 bytes" in error_messages(response)[0]


def test_a_chunked_body_over_the_limit_gets_413(small_server: FakeLogScale) -> None:
    chunks = iter([b'{"query": "', b"x" * 200, b'"}'])
    response = requests.post(
        small_server.graphql_url,
        data=chunks,
        headers={"Authorization": f"Bearer {small_server.token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 413


def test_an_oversized_body_without_a_token_gets_413_not_401(small_server: FakeLogScale) -> None:
    assert post(small_server, padded(500), token=None).status_code == 413


def test_a_bad_body_without_a_token_gets_401_not_400(logscale_server: FakeLogScale) -> None:
    assert post(logscale_server, b"{not json", token=None).status_code == 401


def test_a_bad_body_with_an_unknown_token_gets_401_not_400(logscale_server: FakeLogScale) -> None:
    assert post(logscale_server, b"[]", token="unknown").status_code == 401


# -- resolver errors ---------------------------------------------------------------------------


def test_a_permission_error_deep_in_a_non_null_chain_nulls_data_with_http_200(
    logscale_server: FakeLogScale,
) -> None:
    query = "{ organization { configs { session { maxInactivityPeriod } } } }"
    response = post(logscale_server, gql(query), token=logscale_server.member_token)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert "ViewSessionSettings" in error["message"]
    assert error["path"] == ["organization", "configs", "session"]
    assert error["locations"] == [{"line": 1, "column": 28}]


def test_the_owner_reads_the_same_chain_without_errors(logscale_server: FakeLogScale) -> None:
    query = "{ organization { configs { session { maxInactivityPeriod } } } }"
    body = post(logscale_server, gql(query)).json()
    assert body == {
        "data": {"organization": {"configs": {"session": {"maxInactivityPeriod": 36_000_000}}}}
    }


def test_a_bad_argument_value_is_a_resolver_error_with_path_and_http_200(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, gql("{ sessions(skip: -1) { totalResults } }"))
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert "skip" in error["message"]
    assert error["path"] == ["sessions"]
    assert error["locations"] == [{"line": 1, "column": 3}]


# -- other paths and methods -------------------------------------------------------------------


def test_get_graphql_serves_the_html_explorer_to_a_browser(logscale_server: FakeLogScale) -> None:
    response = requests.get(
        logscale_server.graphql_url, headers={"Accept": "text/html"}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_the_status_endpoint_answers_ok_and_the_version_without_a_token(
    logscale_server: FakeLogScale,
) -> None:
    response = requests.get(logscale_server.url + "/api/v1/status", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "OK", "version": pytest_logscale.__version__}


@pytest.mark.parametrize("path", ["/", "/graphq", "/api/v1/statuses", "/graphql/x"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_other_paths_get_404_with_a_json_error(
    logscale_server: FakeLogScale, path: str, method: str
) -> None:
    response = requests.request(method, logscale_server.url + path, timeout=TIMEOUT)
    assert response.status_code == 404
    (message,) = error_messages(response)
    assert "/graphql" in message


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_on_graphql_get_405_with_an_allow_header(
    logscale_server: FakeLogScale, method: str
) -> None:
    response = requests.request(method, logscale_server.graphql_url, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert method in error_messages(response)[0]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_on_the_status_endpoint_get_405_allowing_get_and_head(
    logscale_server: FakeLogScale, method: str
) -> None:
    url = logscale_server.url + "/api/v1/status"
    response = requests.request(method, url, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert method in error_messages(response)[0]


def raw_exchange(
    server: FakeLogScale, method: str, path: str, body: bytes | None
) -> tuple[http.client.HTTPResponse, bytes]:
    """One request over http.client: the response and its body."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {server.token}"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/graphql", CURRENT_USER.encode(), 200),
        ("POST", "/graphql", b"{", 400),
        ("POST", "/graphql", b'{"query": "{ sessions(limit: -1) { totalResults } }"}', 200),
        ("GET", "/graphql", None, 405),
        ("GET", "/api/v1/status", None, 200),
        ("GET", "/elsewhere", None, 404),
        ("PUT", "/graphql", b"", 405),
    ],
)
def test_every_response_carries_a_content_length_matching_its_body(
    logscale_server: FakeLogScale, method: str, path: str, body: bytes | None, status: int
) -> None:
    response, content = raw_exchange(logscale_server, method, path, body)
    assert response.status == status
    assert response.getheader("Content-Length") == str(len(content))
    assert response.getheader("Transfer-Encoding") is None


def test_a_401_carries_a_content_length_too(logscale_server: FakeLogScale) -> None:
    response = post(logscale_server, CURRENT_USER, token=None)
    assert response.status_code == 401
    assert response.headers["Content-Length"] == str(len(response.content))


# -- robustness ----------------------------------------------------------------------------------


def send_raw(server: FakeLogScale, data: bytes) -> None:
    """Send bytes on a fresh connection, read whatever comes back, and hang up."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port or 80), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass


def test_the_server_still_answers_after_a_burst_of_bad_requests(
    logscale_server: FakeLogScale,
) -> None:
    bad_bodies: list[bytes] = [
        b"",
        b"{",
        b"\xff",
        b"[]",
        b'{"query": null}',
        b'{"query": "{"}',
        b'{"query": "{ nope }"}',
        b'{"query": "{ currentUser { id } }", "variables": 3}',
        b'{"query": "' + b"{" * 5000 + b'"}',
        b"[" * 100_000,
    ]
    for body in bad_bodies:
        assert post(logscale_server, body).status_code == 400
        assert post(logscale_server, body, token=None).status_code == 401
    for garbage in (
        b"NONSENSE\r\n\r\n",
        b"POST /graphql HTTP/1.1\r\nContent-Length: 50\r\n\r\n{",
        b"POST /graphql HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ):
        send_raw(logscale_server, garbage)
    assert post(logscale_server, CURRENT_USER).status_code == 200


def test_the_handles_post_sends_a_text_body_as_utf8(logscale_server: FakeLogScale) -> None:
    query = "{ currentUser { id } } # snowman ☃, euro €"
    status, answer = logscale_server.post(
        json.dumps({"query": query}, ensure_ascii=False), token=logscale_server.token
    )
    assert status == 200, answer
    assert answer == {"data": {"currentUser": {"id": logscale_server.owner().id}}}
    assert logscale_server.journal[-1].query == query
