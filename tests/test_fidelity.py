"""LogScale's documented defaults and answers, and nothing LogScale would refuse (issue 13).

Every test talks to the running fake over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from pytest_logscale import FakeLogScale
from pytest_logscale.domain.records import ALL_ACTIONS

TIMEOUT = 30
UNAUTHORIZED = "The supplied authentication is invalid"
ORDERED = "{ sessions(%s) { totalResults results { id } } }"


def post(
    server: FakeLogScale,
    body: str | bytes,
    *,
    token: str | None = None,
    content_type: str = "application/json",
) -> requests.Response:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token or server.token}"}
    return requests.post(server.graphql_url, data=body, headers=headers, timeout=TIMEOUT)


def raw_request(
    server: FakeLogScale, method: str, target: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request by http.client, headers sent as given (Latin-1), no client-side cleaning."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name.replace("_", "-"), value.encode("latin-1"))
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def session_ids(server: FakeLogScale, arguments: str, token: str | None = None) -> list[str]:
    query = ORDERED % arguments if arguments else ORDERED.replace("()", "").replace("(%s)", "")
    answer = server.execute(query, token=token)
    assert "errors" not in answer, answer
    return [s["id"] for s in answer["data"]["sessions"]["results"]]


# -- sessions() defaults ----------------------------------------------------------------------


def test_introspection_shows_the_documented_sessions_defaults(
    logscale_server: FakeLogScale,
) -> None:
    answer = logscale_server.execute(
        '{ __type(name: "Query") { fields { name args { name defaultValue } } } }'
    )
    fields = {f["name"]: f for f in answer["data"]["__type"]["fields"]}
    defaults = {a["name"]: a["defaultValue"] for a in fields["sessions"]["args"]}
    assert defaults == {
        "searchFilter": None,
        "level": "Organization",
        "sortBy": "LastActivityTime",
        "orderBy": "ASC",
        "skip": "0",
        "limit": "50",
        "onlyActiveSessions": "true",
    }


def test_sessions_without_arguments_lists_the_organization_least_recent_first(
    logscale_server: FakeLogScale,
) -> None:
    explicit = (
        "level: Organization, sortBy: LastActivityTime, orderBy: ASC, skip: 0, limit: 50, "
        "onlyActiveSessions: true"
    )
    assert session_ids(logscale_server, "") == session_ids(logscale_server, explicit)
    own = session_ids(logscale_server, "level: User")
    assert len(session_ids(logscale_server, "")) > len(own)


def test_explicit_nulls_take_the_schemas_defaults(logscale_server: FakeLogScale) -> None:
    nulls = "level: null, sortBy: null, orderBy: null, skip: null, limit: null"
    assert session_ids(logscale_server, nulls) == session_ids(logscale_server, "")


def test_a_member_who_leaves_level_out_gets_the_permission_error(
    logscale_server: FakeLogScale,
) -> None:
    answer = logscale_server.execute(
        "{ sessions { totalResults } }", token=logscale_server.member_token
    )
    assert answer["data"] is None
    assert "ChangeSessions" in answer["errors"][0]["message"]
    assert answer["errors"][0]["path"] == ["sessions"]


# -- 401 ------------------------------------------------------------------------------------


def dead_tokens(server: FakeLogScale) -> dict[str, tuple[str | None, str]]:
    """Authorization header (None: none at all) and a word the journal's reason holds."""
    logged_out = server.login(server.member())
    server.execute("mutation { logoutOfSession }", token=logged_out.token)
    revoked = server.login(server.member())
    server.execute(
        "mutation($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }",
        {"id": revoked.id},
    )
    return {
        "no header": (None, "No access token"),
        "empty bearer": ("Bearer ", "No access token"),
        "unknown": ("Bearer not-a-token", "not valid"),
        "other scheme": (f"Basic {server.token}", "Bearer scheme"),
        "logged out": (f"Bearer {logged_out.token}", "logged out"),
        "revoked": (f"Bearer {revoked.token}", "revoked"),
    }


@pytest.mark.parametrize(
    "case", ["no header", "empty bearer", "unknown", "other scheme", "logged out", "revoked"]
)
def test_every_authentication_failure_answers_logscales_plain_401(
    logscale_server: FakeLogScale, case: str
) -> None:
    authorization, reason = dead_tokens(logscale_server)[case]
    logscale_server.journal.clear()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = requests.post(
        logscale_server.graphql_url,
        data='{"query": "{ currentUser { id } }"}',
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.text == UNAUTHORIZED
    assert response.headers["Content-Type"].startswith("text/plain")
    (entry,) = logscale_server.journal.entries
    assert entry.status == 401
    assert entry.auth_failure is not None and reason in entry.auth_failure
    assert entry.response == UNAUTHORIZED


@pytest.mark.parametrize(
    ("limit", "word"), [("inactivity", "inactive"), ("reauthentication", "older")]
)
def test_an_expired_sessions_401_says_which_limit_in_the_journal_only(
    logscale_server: FakeLogScale, limit: str, word: str
) -> None:
    session = logscale_server.login(logscale_server.member())
    settings = "maxInactivityPeriod: 1000, forceReauthenticationAfter: 8640000000"
    if limit == "reauthentication":
        settings = "maxInactivityPeriod: 36000000, forceReauthenticationAfter: 1000"
    logscale_server.execute(f"mutation {{ updateSessionSettings(input: {{{settings}}}) {{ id }} }}")
    logscale_server.clock.advance(2)  # seconds; the owner's own session is used every request
    logscale_server.journal.clear()
    status, body = logscale_server.post('{"query": "{ currentUser { id } }"}', token=session.token)
    assert (status, body) == (401, UNAUTHORIZED)
    (entry,) = logscale_server.journal.entries
    assert entry.auth_failure is not None and word in entry.auth_failure


# -- Long -----------------------------------------------------------------------------------


SETTINGS = "mutation($i: Long!, $f: Long!) { updateSessionSettings(input: {maxInactivityPeriod: $i, forceReauthenticationAfter: $f}) { id } }"  # noqa: E501


@pytest.mark.parametrize(
    "value", ["36000000", " 8640000000 ", "0x10", True, 2**63, -(2**63) - 1, 1.5, None, [1]]
)
def test_long_variables_take_integers_only(logscale_server: FakeLogScale, value: Any) -> None:
    before = logscale_server.store.settings(logscale_server.organization.id)
    response = post(
        logscale_server, json.dumps({"query": SETTINGS, "variables": {"i": value, "f": 5}})
    )
    assert response.status_code == 400, response.text
    assert "Long" in response.text or "null" in response.text
    assert logscale_server.store.settings(logscale_server.organization.id) == before


@pytest.mark.parametrize(
    "literal", ['"36000000"', '" 8640000000 "', "1.0", "true", "9223372036854775808"]
)
def test_long_literals_take_integers_only(logscale_server: FakeLogScale, literal: str) -> None:
    query = (
        f"mutation {{ updateSessionSettings(input: {{maxInactivityPeriod: {literal}, "
        "forceReauthenticationAfter: 5}) { id } }"
    )
    response = post(logscale_server, json.dumps({"query": query}))
    assert response.status_code == 400, response.text
    assert "Long" in response.text


def test_long_takes_the_largest_64_bit_integer_as_literal_and_variable(
    logscale_server: FakeLogScale,
) -> None:
    largest = 2**63 - 1
    answer = logscale_server.execute(SETTINGS, {"i": largest, "f": largest})
    assert "errors" not in answer, answer
    literal = SETTINGS.replace("($i: Long!, $f: Long!)", "")
    literal = literal.replace("$i", str(largest)).replace("$f", "1")
    assert "errors" not in logscale_server.execute(literal)


# -- tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer {t}\x0b",
        "Bearer \x0b{t}",
        "Bearer {t}\xa0",
        "Bearer \xa0{t}",
        "Bearer {t}\x85",
        "Bearer \x85{t}",
        "Bearer\t{t}",
    ],
    ids=["vt-after", "vt-before", "nbsp-after", "nbsp-before", "nel-after", "nel-before", "tab"],
)
def test_stray_characters_around_the_token_are_refused(
    logscale_server: FakeLogScale, authorization: str
) -> None:
    status, _headers, body = raw_request(
        logscale_server,
        "POST",
        "/graphql",
        b'{"query": "{ currentUser { id } }"}',
        Authorization=authorization.format(t=logscale_server.token),
        Content_Type="application/json",
    )
    assert (status, body) == (401, UNAUTHORIZED.encode())


def test_several_spaces_after_the_scheme_still_separate_it(logscale_server: FakeLogScale) -> None:
    status, _headers, body = raw_request(
        logscale_server,
        "POST",
        "/graphql",
        b'{"query": "{ currentUser { id } }"}',
        Authorization=f"BEARER   {logscale_server.token}",
        Content_Type="application/json",
    )
    assert status == 200, body


# -- what HTTP clients send -------------------------------------------------------------------


@pytest.mark.parametrize("with_token", [True, False])
def test_a_get_query_with_accept_json_gets_405_and_json_telling_to_post(
    logscale_server: FakeLogScale, with_token: bool
) -> None:
    headers = {"Accept": "application/graphql-response+json, application/json"}
    if with_token:
        headers["Authorization"] = f"Bearer {logscale_server.token}"
    response = requests.get(
        logscale_server.graphql_url + "?query=" + quote("{ currentUser { id } }"),
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]


def test_a_browser_gets_the_explorer_and_a_browser_asking_a_query_gets_json(
    logscale_server: FakeLogScale,
) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = requests.get(logscale_server.graphql_url, headers=browser, timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    asked = requests.get(
        logscale_server.graphql_url + "?query=%7B__typename%7D", headers=browser, timeout=TIMEOUT
    )
    assert asked.status_code == 405
    assert asked.headers["Content-Type"].startswith("application/json")


def test_a_get_without_accept_html_gets_json_not_the_explorer(
    logscale_server: FakeLogScale,
) -> None:
    response = requests.get(logscale_server.graphql_url, timeout=TIMEOUT)  # Accept: */*
    assert response.status_code == 405
    assert response.json()["errors"][0]["message"]


def test_a_batched_body_is_told_batching_is_not_supported(logscale_server: FakeLogScale) -> None:
    body = json.dumps([{"query": "{ currentUser { id } }"}, {"query": "{ organization { id } }"}])
    response = post(logscale_server, body)
    assert response.status_code == 400
    assert "Batching is not supported" in response.json()["errors"][0]["message"]


def test_a_persisted_query_hash_gets_the_answer_apollo_falls_back_on(
    logscale_server: FakeLogScale,
) -> None:
    body = {
        "operationName": "Me",
        "variables": {},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}},
    }
    response = post(logscale_server, json.dumps(body))
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotSupported",
                "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
            }
        ]
    }
    with_query = {**body, "query": "query Me { currentUser { id } }"}
    assert post(logscale_server, json.dumps(with_query)).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/graphql", "Application/GraphQL; charset=utf-8"]
)
def test_an_application_graphql_body_is_refused_by_its_content_type(
    logscale_server: FakeLogScale, content_type: str
) -> None:
    response = post(logscale_server, "{ currentUser { id } }", content_type=content_type)
    assert response.status_code == 415
    assert "application/graphql" in response.json()["errors"][0]["message"]


# -- fields LogScale has ------------------------------------------------------------------------


def test_viewer_is_the_callers_account(logscale_server: FakeLogScale) -> None:
    member = logscale_server.member()
    answer = logscale_server.execute(
        "{ viewer { id username isOrganizationRoot currentOrganization { id } } }",
        token=logscale_server.member_token,
    )
    assert answer == {
        "data": {
            "viewer": {
                "id": member.id,
                "username": member.username,
                "isOrganizationRoot": False,
                "currentOrganization": {"id": logscale_server.organization.id},
            }
        }
    }


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_allowed_organization_actions_agree_with_is_action_allowed(
    logscale_server: FakeLogScale, role: str
) -> None:
    token = {"owner": logscale_server.token, "admin": logscale_server.admin_token}.get(
        role, logscale_server.member_token
    )
    answer = logscale_server.execute("{ currentUser { allowedOrganizationActions } }", token=token)
    aliases = " ".join(f"{a}: isActionAllowed(action: {a})" for a in ALL_ACTIONS)
    checked = logscale_server.execute(f"{{ organization {{ {aliases} }} }}", token=token)
    assert "errors" not in checked, checked  # all 52 aliased: within the selection-size limit
    held: dict[str, bool] = checked["data"]["organization"]
    allowed = [a for a in ALL_ACTIONS if held[a]]
    assert answer["data"]["currentUser"]["allowedOrganizationActions"] == allowed
    assert (len(allowed) == len(ALL_ACTIONS)) == (role == "owner")


VALIDATE = "query($t: String!) { validateAccessTokenV2(accessToken: $t) { sessionId } }"


def test_validate_access_token_names_the_session_and_is_not_activity(
    logscale_server: FakeLogScale,
) -> None:
    session = logscale_server.login(logscale_server.member())
    logscale_server.clock.advance(60)
    answer = logscale_server.execute(VALIDATE, {"t": session.token})
    assert answer == {"data": {"validateAccessTokenV2": {"sessionId": session.id}}}
    seen = logscale_server.store.session(session.id)
    assert seen.last_activity_at == session.last_activity_at
    api = logscale_server.api_token(logscale_server.member())
    answer = logscale_server.execute(VALIDATE, {"t": api})
    assert answer == {"data": {"validateAccessTokenV2": {"sessionId": None}}}


@pytest.mark.logscale(organizations=2)
def test_validate_access_token_refuses_unknown_dead_and_foreign_tokens(
    logscale_server: FakeLogScale,
) -> None:
    other = logscale_server.organizations[1]
    foreign = logscale_server.session_token(logscale_server.owner(other))
    ended = logscale_server.login(logscale_server.member())
    logscale_server.execute("mutation { logoutOfSession }", token=ended.token)
    messages = set()
    for token in ("nope", foreign, ended.token):
        answer = logscale_server.execute(VALIDATE, {"t": token})
        assert answer["data"] is None
        messages.add(answer["errors"][0]["message"])
    assert len(messages) == 1  # a foreign token cannot be told from a made-up one


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("{ viewerOpt { id } }", "Query.viewerOpt"),
        ("{ currentUser { groups { id } } }", "User.groups"),
        ("{ viewer { settings { isDarkModeEnabled } } }", "Account.settings"),
        (
            "query($t: String!) { validateAccessTokenV2(accessToken: $t) "
            "{ showTermsAndConditions { __typename } } }",
            "AccessTokenValidatorResultType.showTermsAndConditions",
        ),
    ],
)
def test_a_logscale_field_the_fake_lacks_is_named_as_not_implemented(
    logscale_server: FakeLogScale, query: str, name: str
) -> None:
    response = post(logscale_server, json.dumps({"query": query, "variables": {"t": "x"}}))
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert any(
        f"'{name}' exists in LogScale's schema, but pytest-logscale does not implement it" in m
        for m in messages
    ), messages


def test_a_fragment_on_a_logscale_type_the_fake_lacks_is_named_as_not_implemented(
    logscale_server: FakeLogScale,
) -> None:
    query = "{ currentUser { id } } fragment R on Repository { name }"
    response = post(logscale_server, json.dumps({"query": query}))
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert (
        "The type 'Repository' exists in LogScale's schema, but pytest-logscale does not "
        "implement it." in messages
    ), messages
    made_up = post(logscale_server, json.dumps({"query": "{ ...F } fragment F on Shoe { id }"}))
    assert "Unknown type 'Shoe'." in made_up.text


def test_a_field_logscale_lacks_still_gets_cannot_query_field(
    logscale_server: FakeLogScale,
) -> None:
    response = post(logscale_server, json.dumps({"query": "{ currentUser { shoeSize } }"}))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"].startswith("Cannot query field 'shoeSize' on type 'User'")
    assert error["locations"] == [{"line": 1, "column": 17}]


def test_the_full_schema_is_read_only_when_a_document_fails_validation() -> None:
    program = """
import sys
from pytest_logscale import FakeLogScale
from pytest_logscale.graphql import unserved
with FakeLogScale() as fake:
    fake.execute("{ currentUser { id } sessions { totalResults } }")
    before = unserved.logscale_schema.cache_info().currsize
    fake.execute("{ viewerOpt { id } }")
    after = unserved.logscale_schema.cache_info().currsize
print(before, after)
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["0", "1"]


# -- one source for the shipped texts -----------------------------------------------------------


def test_the_shipped_full_schema_is_the_stripped_reference_and_has_no_descriptions() -> None:
    import importlib.util
    from pathlib import Path

    root = Path(__file__).parent.parent
    spec = importlib.util.spec_from_file_location(
        "strip_descriptions", root / "scripts" / "strip_descriptions.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    reference = (root / "tests" / "data" / "logscale-full-schema.graphql").read_text("utf-8")
    shipped = (root / "pytest_logscale" / "graphql" / "logscale-full.graphql").read_text("utf-8")
    assert shipped == script.strip(reference)
    assert '"' not in shipped  # no description, no string at all


def test_the_served_permission_names_are_records_all_actions_in_order(
    logscale_server: FakeLogScale,
) -> None:
    answer = logscale_server.execute(
        '{ __type(name: "OrganizationAction") { enumValues { name } } }'
    )
    served = [value["name"] for value in answer["data"]["__type"]["enumValues"]]
    assert served == list(ALL_ACTIONS)
    assert len(served) == 52
