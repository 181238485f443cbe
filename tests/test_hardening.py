"""Hardening: every limit and switch over real HTTP, and odd input that must not make a 5xx.

Each test that throws something odd at the server also checks that it still
answers a normal query afterwards.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from graphql import get_introspection_query
from serve_process import ServeProcess, run_serve

from pytest_logscale import AppOptions, FakeLogScale
from pytest_logscale.domain.ids import token_digest
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 30
CURRENT_USER = "{ currentUser { id } }"
EVERY_SESSION = "{ sessions(level: Organization, onlyActiveSessions: false, limit: %d) { %s } }"


def post(
    url: str, body: str | bytes, token: str | None, content_type: str = "application/json"
) -> requests.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url + "/graphql", data=body, headers=headers, timeout=TIMEOUT)


def ask(server: FakeLogScale, query: str, **extra: Any) -> requests.Response:
    return post(server.url, json.dumps({"query": query, **extra}), server.token)


def messages(response: requests.Response) -> list[str]:
    body = response.json()
    assert "data" not in body, body
    return [error["message"] for error in body["errors"]]


def refusal(server: FakeLogScale, query: str) -> str:
    """The first error message of a query that must get 400."""
    response = ask(server, query)
    assert response.status_code == 400, response.text
    return messages(response)[0]


def assert_still_answers(server: FakeLogScale) -> None:
    response = ask(server, CURRENT_USER)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentUser"]["id"]


@pytest.fixture(scope="module")
def strict(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    """A server with small limits, so that each one is easy to reach."""
    options = AppOptions(max_depth=3, max_tokens=60, max_limit=3)
    with logscale_server_factory(app_options=options) as server:
        yield server


# -- query depth -----------------------------------------------------------------------------------


def test_a_query_at_the_depth_limit_is_served(strict: FakeLogScale) -> None:
    response = ask(strict, "{ sessions { results { id } } }")
    assert response.status_code == 200, response.text


def test_a_query_one_level_deeper_gets_400_naming_the_limit_and_the_field(
    strict: FakeLogScale,
) -> None:
    response = ask(strict, "query Deep {\n  sessions { results { user { id } } }\n}")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == (
        "The operation 'Deep' nests fields 4 levels deep; this server allows at most 3 (max_depth)."
    )
    assert error["locations"] == [{"line": 2, "column": 31}]  # the innermost field
    assert "data" not in response.json()
    assert_still_answers(strict)


@pytest.mark.parametrize(
    "query",
    [
        "{ ...Q } fragment Q on Query { sessions { results { user { id } } } }",
        "{ sessions { ...R } } fragment R on SessionQueryResultSet { results { user { id } } }",
        "{ sessions { results { ... on Session { user { ... on User { id } } } } } }",
    ],
    ids=["fragment-at-root", "fragment-inside", "inline-fragments"],
)
def test_depth_counts_through_fragments_where_they_are_spread(
    strict: FakeLogScale, query: str
) -> None:
    assert "4 levels deep" in refusal(strict, query)


def test_the_default_depth_takes_a_full_introspection_query(
    logscale_server: FakeLogScale,
) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    response = ask(logscale_server, query)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_the_default_depth_limit_is_twenty(logscale_server: FakeLogScale) -> None:
    def nested(levels: int) -> str:  # __type, a chain of ofType, then name
        return '{ __type(name: "Session") { ' + "ofType { " * (levels - 2) + "name" + " }" * levels

    response = ask(logscale_server, nested(21))
    assert response.status_code == 400
    assert messages(response) == [
        "The operation nests fields 21 levels deep; this server allows at most 20 (max_depth)."
    ]
    assert ask(logscale_server, nested(20)).status_code == 200


# -- fragments and size ---------------------------------------------------------------------------


def test_a_fragment_cycle_gets_the_validation_error_not_a_hang(strict: FakeLogScale) -> None:
    query = "{ ...F } fragment F on Query { ...G } fragment G on Query { ...F }"
    assert "Cannot spread fragment 'F' within itself" in refusal(strict, query)


def test_a_document_over_the_token_limit_gets_400(strict: FakeLogScale) -> None:
    ok = "{ currentUser { " + "id " * 50 + "} }"  # 50 + 6 tokens
    assert ask(strict, ok).status_code == 200
    response = ask(strict, "{ currentUser { " + "id " * 60 + "} }")
    assert response.status_code == 400
    assert messages(response) == [
        "Syntax Error: Document contains more than 60 tokens. Parsing aborted."
    ]


def test_a_huge_repetitive_document_is_refused_before_validation_by_default(
    logscale_server: FakeLogScale,
) -> None:
    response = ask(logscale_server, "{ currentUser { " + "id " * 300_000 + "} }")
    assert response.status_code == 400
    assert "more than 10000 tokens" in messages(response)[0]
    assert_still_answers(logscale_server)


# -- the cap on limit ------------------------------------------------------------------------------


def test_a_limit_over_the_cap_is_served_as_the_cap_with_the_true_total(
    strict: FakeLogScale,
) -> None:
    response = ask(strict, EVERY_SESSION % (1000, "totalResults results { id }"))
    assert response.status_code == 200, response.text
    page = response.json()["data"]["sessions"]
    assert len(page["results"]) == 3
    assert page["totalResults"] == len(strict.sessions) > 3
    assert "errors" not in response.json()


def test_a_limit_under_the_cap_and_a_negative_limit_are_unchanged(strict: FakeLogScale) -> None:
    under = ask(strict, EVERY_SESSION % (2, "results { id }")).json()
    assert len(under["data"]["sessions"]["results"]) == 2
    negative = ask(strict, EVERY_SESSION % (-1, "results { id }")).json()
    assert negative["data"] is None
    assert negative["errors"][0]["message"] == "limit must not be negative, got -1."


def test_the_cap_applies_to_a_limit_given_in_a_variable(strict: FakeLogScale) -> None:
    query = "query($n: Int) { sessions(level: Organization, limit: $n) { results { id } } }"
    response = ask(strict, query, variables={"n": 2_000_000_000})
    assert len(response.json()["data"]["sessions"]["results"]) == 3


def test_the_largest_int_limit_is_served_by_default(logscale_server: FakeLogScale) -> None:
    response = ask(logscale_server, EVERY_SESSION % (2**31 - 1, "totalResults results { id }"))
    page = response.json()["data"]["sessions"]
    assert len(page["results"]) == page["totalResults"] == len(logscale_server.sessions)


# -- the bound on the sessions one request may ask for ---------------------------------------------

ALIASED = "{ %s }"
PAGE = "s%d: sessions(level: Organization, onlyActiveSessions: false%s) { results { id } }"


def aliases(*limits: int | None) -> str:
    """One sessions() field per limit, each under its own alias (None: no limit given)."""
    fields = [PAGE % (i, "" if n is None else f", limit: {n}") for i, n in enumerate(limits)]
    return ALIASED % " ".join(fields)


def test_thirty_full_pages_in_one_request_get_400_before_running(
    logscale_server: FakeLogScale,
) -> None:
    message = refusal(logscale_server, aliases(*[10_000] * 30))
    assert message == (
        "The operation asks for up to 300000 sessions in all (the limits of its sessions() "
        "fields added across aliases, each at most max_limit 10000); this server answers at "
        "most 100000 per request (max_answer_rows, serve --max-answer-rows)."
    )
    assert_still_answers(logscale_server)


def test_ten_full_pages_in_one_request_are_served(logscale_server: FakeLogScale) -> None:
    response = ask(logscale_server, aliases(*[10_000] * 10))
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 10


@pytest.fixture(scope="module")
def few_rows(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory(app_options=AppOptions(max_answer_rows=5, max_limit=3)) as server:
        yield server


@pytest.mark.parametrize(
    ("query", "variables", "served"),
    [
        (aliases(2, 3), {}, True),
        (aliases(3, 3), {}, False),  # 6 > 5
        (aliases(3, 1000), {}, False),  # each capped at max_limit 3 first: 6
        (aliases(None, None), {}, False),  # the schema's default limit, capped: 3 + 3
        (aliases(5), {}, True),  # one field: capped at 3
        (aliases(-1, 3, 2), {}, True),  # a negative limit answers nothing (an error)
        (
            "query($n: Int) { a: sessions(limit: $n) { results { id } } "
            "b: sessions(limit: $n) { results { id } } }",
            {"n": 3},
            False,
        ),
        (
            "query($n: Int = 3) { a: sessions(limit: $n) { results { id } } "
            "b: sessions(limit: $n) { results { id } } }",
            {},
            False,
        ),
        (
            "query($n: Int) { a: sessions(limit: $n) { results { id } } "
            "b: sessions(limit: $n) { results { id } } }",
            {"n": 2},
            True,
        ),
        (
            "{ s: sessions(limit: 3) { results { id } } s: sessions(limit: 3) { totalResults } "
            "...F } fragment F on Query { s: sessions(limit: 3) { results { ip } } }",
            {},
            True,  # one response name: merged, answered once
        ),
        (
            "{ a: sessions(limit: 3) { results { id } } ...F } "
            "fragment F on Query { b: sessions(limit: 3) { results { id } } }",
            {},
            False,  # fragments are counted where they are spread
        ),
    ],
)
def test_the_rows_asked_for_are_added_across_aliases_variables_and_fragments(
    few_rows: FakeLogScale, query: str, variables: dict[str, Any], served: bool
) -> None:
    response = ask(few_rows, query, variables=variables)
    if served:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert "this server answers at most 5 per request" in messages(response)[0]


@pytest.mark.parametrize(
    "field",
    [
        "max_body_bytes",
        "max_depth",
        "max_tokens",
        "max_limit",
        "fast_path_fields",
        "max_answer_rows",
        "validation_budget",
    ],
)
@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_an_app_option_that_is_not_a_positive_whole_number_is_refused(
    field: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=f"AppOptions.{field} must be a whole number"):
        AppOptions(**{field: value})


# -- switches --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def closed(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    """A server with introspection and the explorer switched off."""
    options = AppOptions(introspection=False, explorer=False)
    with logscale_server_factory(app_options=options) as server:
        yield server


@pytest.mark.parametrize(
    "query",
    ["{ __schema { queryType { name } } }", '{ __type(name: "Session") { name } }'],
)
def test_introspection_off_refuses_schema_and_type_queries(
    closed: FakeLogScale, query: str
) -> None:
    response = ask(closed, query)
    assert response.status_code == 400
    assert "introspection" in messages(response)[0].lower()


def test_introspection_off_still_serves_typename_and_normal_queries(closed: FakeLogScale) -> None:
    response = ask(closed, "{ __typename currentUser { __typename id } }")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["currentUser"]["__typename"] == "User"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_explorer_off_answers_405_and_post_still_works(closed: FakeLogScale, method: str) -> None:
    response = requests.request(method, closed.graphql_url, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Allow"] == "POST"
    assert requests.put(closed.graphql_url, timeout=TIMEOUT).headers["Allow"] == "POST"
    if method == "GET":
        assert messages(response) == ["The explorer is switched off; send queries with POST."]
    assert_still_answers(closed)


def test_the_explorer_is_on_by_default(logscale_server: FakeLogScale) -> None:
    response = requests.get(
        logscale_server.graphql_url, headers={"Accept": "text/html"}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


# -- binding ---------------------------------------------------------------------------------------


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


def test_a_fake_binds_to_127_0_0_1_only_by_default(logscale_server: FakeLogScale) -> None:
    address = urlsplit(logscale_server.url)
    assert address.hostname == "127.0.0.1"
    assert address.port is not None
    assert reachable("127.0.0.1", address.port)
    # another loopback address reaches every interface of a wildcard bind, not 127.0.0.1's
    assert not reachable("127.0.0.2", address.port)


def test_a_fake_told_another_host_binds_there(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    with logscale_server_factory(host="0.0.0.0") as server:
        assert reachable("127.0.0.2", server.server.port)  # the check above can fail


def test_serve_binds_to_127_0_0_1_by_default() -> None:
    with ServeProcess() as served:
        address = urlsplit(served.url)
        assert address.hostname == "127.0.0.1"
        assert address.port is not None
        assert reachable("127.0.0.1", address.port)
        assert not reachable("127.0.0.2", address.port)
        assert served.stop() == 0


# -- the serve command's options -------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    limits = ["--max-depth", "3", "--max-selection-size", "4", "--max-tokens", "40"]
    more = ["--max-limit", "2", "--max-body-bytes", "300", "--no-introspection", "--no-explorer"]
    more += ["--max-answer-rows", "3"]
    with ServeProcess(*limits, *more) as process:
        yield process
        process.stop()


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("{ sessions { results { user { id } } } }", 400, "at most 3 (max_depth)"),
        (
            "{ a: currentUser { id } b: organization { id name } }",
            400,
            "at most 4 (LogScale's GraphQLSelectionSizeLimit",
        ),
        ("{ currentUser { " + "id " * 40 + "} }", 400, "more than 40 tokens"),
        ("{ __schema { queryType { name } } }", 400, "introspection"),
        ("{ currentUser { id " + " " * 300 + "} }", 413, "limit of 300 bytes"),
        (
            "{ a: sessions { totalResults } b: sessions { totalResults } }",
            400,
            "at most 3 per request (max_answer_rows",
        ),
    ],
    ids=["depth", "selection-size", "tokens", "introspection", "body", "answer-rows"],
)
def test_serve_applies_each_limit_option(
    served: ServeProcess, query: str, status: int, words: str
) -> None:
    response = post(served.url, json.dumps({"query": query}), served.values["LOGSCALE_TOKEN"])
    assert response.status_code == status
    assert words in response.json()["errors"][0]["message"]


def test_serve_caps_limit_and_can_switch_the_explorer_off(served: ServeProcess) -> None:
    token = served.values["LOGSCALE_TOKEN"]
    query = json.dumps({"query": EVERY_SESSION % (50, "totalResults results { id }")})
    page = post(served.url, query, token).json()["data"]["sessions"]
    assert len(page["results"]) == 2 < page["totalResults"]
    assert requests.get(served.url + "/graphql", timeout=TIMEOUT).status_code == 405


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--max-depth", "0"], "--max-depth must be a whole number of at least 1, not 0"),
        (["--max-limit", "many"], "--max-limit must be a whole number, not 'many'"),
        (
            ["--fast-path-fields", "0"],
            "--fast-path-fields must be a whole number of at least 1, not 0",
        ),
    ],
)
def test_serve_refuses_a_limit_that_is_not_a_positive_whole_number(
    args: list[str], words: str
) -> None:
    result = run_serve(args)
    assert result.returncode == 2
    assert words in result.stderr


# -- tokens ----------------------------------------------------------------------------------------


def test_tokens_are_held_only_as_sha256_digests(logscale_server: FakeLogScale) -> None:
    credentials = logscale_server.store.dataset.credentials
    token = logscale_server.token
    assert token_digest(token) in credentials
    assert all(isinstance(key, bytes) and len(key) == 32 for key in credentials)
    assert token.encode() not in credentials


@pytest.mark.parametrize(
    "guess",
    [
        lambda token: token[:-1],
        lambda token: token + "x",
        lambda token: token[:-1] + chr(ord(token[-1]) ^ 1),
        lambda token: token.upper() if token != token.upper() else token.lower(),
        lambda token: token + "\ud800",
        lambda token: "x" * 10_000,
    ],
    ids=["prefix", "longer", "last-char", "case", "lone-surrogate", "huge"],
)
def test_near_misses_of_a_token_all_get_the_same_401(
    logscale_server: FakeLogScale, guess: Any
) -> None:
    wrong = guess(logscale_server.token).encode("utf-8", "surrogatepass").decode("latin-1")
    response = post(logscale_server.url, json.dumps({"query": CURRENT_USER}), wrong)
    assert (response.status_code, response.text) == (401, "The supplied authentication is invalid")
    assert logscale_server.journal.entries[-1].auth_failure == "The access token is not valid."


# -- odd bodies ------------------------------------------------------------------------------------


def nested_json(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


ODD_BODIES: dict[str, tuple[bytes, int, str]] = {
    "deep-array": (b"[" * 200_000, 400, "not valid JSON"),
    "deep-object": (nested_json(150_000), 400, "not valid JSON"),
    "deep-variables": (
        b'{"query": "{ currentUser { id } }", "variables": ' + nested_json(100_000) + b"}",
        400,
        "not valid JSON",
    ),
    "invalid-utf8": (b'{"query": "{ currentUser { id } }\xff"}', 400, "not UTF-8"),
    "utf16": ('{"query": "{ currentUser { id } }"}'.encode("utf-16"), 400, "not UTF-8"),
    "bom": ('\ufeff{"query": "{ currentUser { id } }"}'.encode(), 400, "BOM"),
    "lone-surrogate-in-query": (b'{"query": "{ user(id: \\"\\ud800\\") { id } }"}', 400, "U+D800"),
    "nul-in-query": (b'{"query": "\\u0000{ currentUser { id } }"}', 400, "U+0000"),
    "nan-variable": (
        b'{"query": "query($n: Int) { sessions(limit: $n) { totalResults } }",'
        b' "variables": {"n": NaN}}',
        400,
        "nan",
    ),
    "infinite-variable": (
        b'{"query": "query($n: Int) { sessions(limit: $n) { totalResults } }",'
        b' "variables": {"n": 1e999}}',
        400,
        "inf",
    ),
    "giant-integer": (
        b'{"query": "{ currentUser { id } }", "x": ' + b"9" * 5000 + b"}",
        400,
        "digits",
    ),
    "form-encoded": (b"query=%7B+currentUser+%7B+id+%7D+%7D", 400, "not valid JSON"),
    "array-of-requests": (b'[{"query": "{ currentUser { id } }"}]', 400, "JSON object"),
    "query-is-a-number": (b'{"query": 42}', 400, '"query" string'),
    "variables-a-list": (
        b'{"query": "{ currentUser { id } }", "variables": [1]}',
        400,
        "variables",
    ),
    "operation-name-a-list": (
        b'{"query": "{ currentUser { id } }", "operationName": ["x"]}',
        400,
        "operationName",
    ),
    "subscription": (b'{"query": "subscription { currentUser { id } }"}', 400, "subscription"),
}


@pytest.mark.parametrize(("body", "status", "words"), ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_odd_bodies_get_a_clear_4xx_and_the_server_answers_after(
    logscale_server: FakeLogScale, body: bytes, status: int, words: str
) -> None:
    response = post(logscale_server.url, body, logscale_server.token)
    assert response.status_code == status, response.text
    assert words.lower() in " ".join(messages(response)).lower()
    assert_still_answers(logscale_server)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "", "x/y; q=1"])
def test_a_json_body_is_read_as_json_whatever_the_content_type_but_application_graphql(
    logscale_server: FakeLogScale, content_type: str
) -> None:
    body = json.dumps({"query": CURRENT_USER})
    response = post(logscale_server.url, body, logscale_server.token, content_type)
    assert response.status_code == 200, response.text


def test_a_multipart_body_gets_400_saying_it_is_not_json(logscale_server: FakeLogScale) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n'
        b"{ currentUser { id } }\r\n--b--"
    )
    response = post(
        logscale_server.url, body, logscale_server.token, "multipart/form-data; boundary=b"
    )
    assert response.status_code == 400
    assert "not valid JSON" in messages(response)[0]


def test_with_duplicate_keys_the_last_one_counts(logscale_server: FakeLogScale) -> None:
    body = '{"query": "{ currentUser { id } }", "query": "{ organization { id } }"}'
    response = post(logscale_server.url, body, logscale_server.token)
    assert response.json() == {"data": {"organization": {"id": logscale_server.organization.id}}}


def test_huge_variables_under_the_body_limit_are_served(logscale_server: FakeLogScale) -> None:
    query = "query($s: String) { sessions(searchFilter: $s) { totalResults } }"
    many = {f"unused{i}": i for i in range(20_000)}
    response = ask(logscale_server, query, variables={"s": "x" * 600_000, **many})
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"sessions": {"totalResults": 0}}}


def test_a_lone_surrogate_in_a_variable_is_served(logscale_server: FakeLogScale) -> None:
    body = (
        b'{"query": "query($s: String) { sessions(searchFilter: $s) { totalResults } }",'
        b' "variables": {"s": "\\udfff\\u0000"}}'
    )
    response = post(logscale_server.url, body, logscale_server.token)
    assert response.json() == {"data": {"sessions": {"totalResults": 0}}}


def test_a_wrongly_shaped_input_object_gets_400(logscale_server: FakeLogScale) -> None:
    query = "mutation($i: RevokeSessionInput!) { revokeSession(input: $i) }"
    bad = {"id": [[[]]], "revocationType": {"a": 1}}
    response = ask(logscale_server, query, variables={"i": bad})
    assert response.status_code == 400
    assert all("$i" in message for message in messages(response))
    assert_still_answers(logscale_server)


# -- odd requests at the HTTP level ----------------------------------------------------------------


def exchange(server: FakeLogScale, data: bytes) -> bytes:
    """Send raw bytes on a new connection and return the first line of the answer."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port or 80), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):  # the server may have answered and hung up already
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock).split(b"\r\n", 1)[0]


def read_all(sock: socket.socket) -> bytes:
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def with_token(server: FakeLogScale, head: bytes, body: bytes = b"") -> bytes:
    auth = b"Authorization: Bearer " + server.token.encode() + b"\r\n"
    return head.replace(b"\r\n", b"\r\n" + auth, 1) + b"\r\n" + body


ODD_REQUESTS: dict[str, tuple[bytes, bytes]] = {
    "options": (b"OPTIONS /graphql HTTP/1.1\r\nHost: x\r\n", b"405"),
    "options-star": (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n", b"404"),
    "trace": (b"TRACE /graphql HTTP/1.1\r\nHost: x\r\n", b"405"),
    "connect": (b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n", b"404"),
    "lower-case-method": (b"get /graphql HTTP/1.1\r\nHost: x\r\n", b"405"),
    "control-in-method": (b"PO\x01ST /graphql HTTP/1.1\r\nHost: x\r\n", b"400"),  # not a token
    "long-path": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n", b"414"),
    "escaped-path": (b"GET /%00%ff%2e%2e/graphql HTTP/1.1\r\nHost: x\r\n", b"404"),
    "non-utf8-path": (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n", b"404"),
    "long-header": (b"GET /graphql HTTP/1.1\r\nX-A: " + b"a" * 100_000 + b"\r\n", b"431"),
    "many-headers": (
        b"GET /graphql HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)),
        b"431",
    ),
    "latin1-token": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer \xe9\xff\r\nContent-Length: 2\r\n",
        b"401",
    ),
}


@pytest.mark.parametrize(("head", "status"), ODD_REQUESTS.values(), ids=ODD_REQUESTS.keys())
def test_odd_requests_get_a_4xx_and_the_server_answers_after(
    logscale_server: FakeLogScale, head: bytes, status: bytes
) -> None:
    body = b"{}" if b"Content-Length: 2" in head else b""
    line = exchange(logscale_server, head + b"\r\n" + body)
    assert line.startswith(b"HTTP/1.1 " + status), line
    assert_still_answers(logscale_server)


ODD_BODY_FRAMING: dict[str, tuple[bytes, bytes, bytes]] = {
    "negative-length": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n",
        b"{}",
        b"400",
    ),
    "two-lengths": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n",
        b"{}",
        b"400",
    ),
    "giant-length": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n",
        b"{}",
        b"413",
    ),
    "broken-chunks": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
        b"zz\r\n{}\r\n0\r\n\r\n",
        b"400",
    ),
    "chunks-and-length": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
        b"2\r\n{}\r\n0\r\n\r\n",
        b"400",
    ),
    "body-shorter-than-length": (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n",
        b'{"query": "{ currentUser',
        b"400",
    ),
}


@pytest.mark.parametrize(
    ("head", "body", "status"), ODD_BODY_FRAMING.values(), ids=ODD_BODY_FRAMING.keys()
)
def test_odd_body_framing_gets_a_4xx_and_the_server_answers_after(
    logscale_server: FakeLogScale, head: bytes, body: bytes, status: bytes
) -> None:
    line = exchange(logscale_server, with_token(logscale_server, head, body))
    assert line.startswith(b"HTTP/1.1 " + status), line
    assert_still_answers(logscale_server)


def test_an_unsupported_http_version_gets_505_from_the_http_layer(
    logscale_server: FakeLogScale,
) -> None:
    # the HTTP layer answers this one itself, before any request exists: 505 is the
    # status for exactly this case, the only 5xx a client can provoke
    address = urlsplit(logscale_server.url)
    with socket.create_connection((address.hostname, address.port or 80), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /graphql HTTP/2.0\r\n\r\n")
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 505 HTTP Version Not Supported"
    assert "HTTP/2.0 is not supported" in json.loads(body)["errors"][0]["message"]
    assert_still_answers(logscale_server)
