"""The request journal: what it records of each request and its assertion helpers."""

from __future__ import annotations

import json
import re

import pytest

from pytest_logscale import FakeLogScale, cli
from pytest_logscale.harness.journal import Exchange, Journal

REVOKE_INLINE = 'mutation { revokeSession(input: {id: "%s", revocationType: Session}) }'
REVOKE_VARIABLES = """
mutation Revoke($id: String!, $type: SessionRevocation__Type = Session) {
  revokeSession(input: {id: $id, revocationType: $type})
}
"""


def revoke_inline(server: FakeLogScale) -> str:
    session = server.login(server.member())
    answer = server.execute(REVOKE_INLINE % session.id, token=server.admin_token)
    assert answer == {"data": {"revokeSession": True}}
    return session.id


def test_each_request_is_recorded_at_the_graphql_level(logscale_server: FakeLogScale) -> None:
    logscale_server.execute(
        "query Mine($n: Int) { sessions(level: User, limit: $n) { totalResults } }", {"n": 2}
    )
    logscale_server.post("not json", token=logscale_server.token)
    logscale_server.post('{"query": "{ currentUser { id } }"}', token="unknown")
    first, second, third = logscale_server.journal
    assert (first.operation_type, first.operation_name, first.root_fields) == (
        "query",
        "Mine",
        ("sessions",),
    )
    assert (first.status, first.variables, first.arguments) == (
        200,
        {"n": 2},
        {"sessions": {"level": "User", "limit": 2}},
    )
    owner_session = next(s for s in logscale_server.sessions if s.token == logscale_server.token)
    assert (first.user_id, first.session_id) == (logscale_server.owner().id, owner_session.id)
    mine = logscale_server.store.user_sessions(logscale_server.owner().id)
    active = sum(logscale_server.store.is_active(s) for s in mine)
    assert first.response == {"data": {"sessions": {"totalResults": active}}}
    assert (second.status, second.operation_type, second.root_fields) == (400, None, ())
    assert "not valid JSON" in second.response["errors"][0]["message"]
    assert (third.status, third.user_id, third.session_id) == (401, None, None)
    assert (third.response, third.auth_failure) == (
        "The supplied authentication is invalid",
        "The access token is not valid.",
    )
    assert first.auth_failure is None and second.auth_failure is None


def test_inline_and_variable_inputs_give_the_same_arguments(logscale_server: FakeLogScale) -> None:
    inline = revoke_inline(logscale_server)
    by_variable = logscale_server.login(logscale_server.member()).id
    logscale_server.execute(
        REVOKE_VARIABLES, {"id": by_variable}, token=logscale_server.admin_token
    )
    first, second = logscale_server.journal
    assert first.arguments == {
        "revokeSession": {"input": {"id": inline, "revocationType": "Session"}}
    }
    # $type was not sent: its default applies
    assert second.arguments == {
        "revokeSession": {"input": {"id": by_variable, "revocationType": "Session"}}
    }
    logscale_server.journal.assert_called_once("revokeSession", arguments={"input": {"id": inline}})
    logscale_server.journal.assert_called(
        "revokeSession", times=2, arguments={"input": {"revocationType": "Session"}}
    )


def test_aliases_and_fragments_list_every_call(logscale_server: FakeLogScale) -> None:
    logscale_server.execute(
        """
        query Pages($skip: Int) { first: sessions(limit: 1) { totalResults } ...Rest }
        fragment Rest on Query { second: sessions(limit: 1, skip: $skip, sortBy: IPAddress) {
          totalResults } currentUser { id } }
        """,
        {"skip": 1},
    )
    (exchange,) = logscale_server.journal
    assert exchange.root_fields == ("sessions", "currentUser")
    assert exchange.field_calls() == [
        ("sessions", {"limit": 1}),
        ("sessions", {"limit": 1, "skip": 1, "sortBy": "IPAddress"}),
        ("currentUser", {}),
    ]
    assert exchange.arguments["sessions"] == {"limit": 1}
    logscale_server.journal.assert_called_once("sessions", arguments={"sortBy": "IPAddress"})


def test_an_argument_whose_variable_was_not_sent_is_left_out(logscale_server: FakeLogScale) -> None:
    logscale_server.execute(
        "query($s: Int, $f: String) { sessions(skip: $s, searchFilter: $f, limit: 3) { "
        "totalResults } }",
        {"f": None},
    )
    assert logscale_server.journal[0].arguments == {"sessions": {"searchFilter": None, "limit": 3}}


def test_assert_called_matches_variables_by_containment(logscale_server: FakeLogScale) -> None:
    logscale_server.execute(REVOKE_VARIABLES, {"id": "nope", "type": "User"})
    journal = logscale_server.journal
    (found,) = journal.assert_called("revokeSession", variables={"type": "User"})
    assert found.variables == {"id": "nope", "type": "User"}
    assert journal.assert_called_once("revokeSession", variables={"id": "nope"}) is found
    with pytest.raises(AssertionError):
        journal.assert_called("revokeSession", variables={"type": "Session"})
    with pytest.raises(AssertionError):
        journal.assert_called("revokeSession", variables={"other": 1})


def test_a_failed_assertion_shows_what_was_received(logscale_server: FakeLogScale) -> None:
    inline = revoke_inline(logscale_server)
    message = (
        'expected 1 call(s) of revokeSession with arguments {"input": {"id": "other"}}, '
        "got 0. Received:\n"
        f"#1 200 POST /graphql mutation {{revokeSession}} user={logscale_server.admin().id}\n"
        f'  arguments: revokeSession({{"input": {{"id": "{inline}", '
        '"revocationType": "Session"}})\n'
        '  response: {"data": {"revokeSession": true}}'
    )
    with pytest.raises(AssertionError) as failure:
        logscale_server.journal.assert_called_once(
            "revokeSession", arguments={"input": {"id": "other"}}
        )
    assert str(failure.value) == message


def test_each_helper_fails_with_its_own_message(logscale_server: FakeLogScale) -> None:
    journal = logscale_server.journal
    with pytest.raises(AssertionError, match=r"^expected a call of logoutOfSession, got none\. "):
        journal.assert_called("logoutOfSession")
    logscale_server.execute("query Who { currentUser { id } }")
    logscale_server.execute("query Who { currentUser { id } }")
    with pytest.raises(AssertionError, match=r"^expected 1 call\(s\) of currentUser, got 2\. "):
        journal.assert_called_once("currentUser")
    with pytest.raises(
        AssertionError, match=r"^expected 0 call\(s\) of currentUser, got 2\. Received:\n#1 200 "
    ):
        journal.assert_not_called("currentUser")
    with pytest.raises(
        AssertionError, match=re.escape('of currentUser with variables {"a": 1}, got 0')
    ):
        journal.assert_called("currentUser", times=1, variables={"a": 1})
    journal.assert_not_called("logoutOfSession")
    assert len(journal.assert_called("currentUser", times=2)) == 2


def test_calls_filters_by_field_type_and_name(logscale_server: FakeLogScale) -> None:
    logscale_server.execute("query A { currentUser { id } }")
    logscale_server.execute("mutation B { logoutOfSession }")
    journal = logscale_server.journal
    assert [e.operation_name for e in journal.calls()] == ["A", "B"]
    assert [e.operation_name for e in journal.calls(operation_type="mutation")] == ["B"]
    assert [e.operation_name for e in journal.calls(operation_name="A")] == ["A"]
    assert journal.calls("currentUser", operation_type="mutation") == []
    assert journal[-1].calls("logoutOfSession") and not journal[-1].calls("currentUser")


def test_format_cuts_long_responses_and_says_when_empty(logscale_server: FakeLogScale) -> None:
    assert logscale_server.journal.format() == "(no requests)"
    logscale_server.execute(
        "{ sessions(level: Organization) { results { id clientInfo } } }",
        token=logscale_server.admin_token,
    )
    (line,) = [x for x in logscale_server.journal.format().splitlines() if "response" in x]
    assert len(line) == len("  response: ") + 501 and line.endswith("…")
    logscale_server.journal.clear()
    assert len(logscale_server.journal) == 0


def test_a_journal_with_maxlen_keeps_the_newest_entries() -> None:
    journal = Journal(maxlen=2)
    for status in (200, 400, 401):
        journal.record(Exchange(method="POST", path="/graphql", status=status))
    assert [e.status for e in journal] == [400, 401]
    assert (len(journal), journal[0].status, journal[-1].status) == (2, 400, 401)
    assert Journal().maxlen is None


@pytest.mark.parametrize("maxlen", [0, -1, True, 1.5])
def test_a_journal_maxlen_must_be_a_whole_number_of_at_least_one(maxlen: object) -> None:
    with pytest.raises(ValueError, match="maxlen"):
        Journal(maxlen=maxlen)  # type: ignore[arg-type]


def test_a_fake_made_with_a_journal_size_keeps_that_many_requests() -> None:
    with FakeLogScale(journal_size=3).start() as fake:
        for _ in range(5):
            fake.execute("{ currentUser { id } }")
        fake.execute("{ nope }")
        assert len(fake.journal) == 3
        assert fake.journal[-1].status == 400


def test_serve_keeps_a_bounded_journal() -> None:
    fake = cli._fake(cli._parser().parse_args(["serve"]))
    assert fake.journal.maxlen == cli.SERVE_JOURNAL_SIZE == 1000


# JSON bodies whose variables grow most when written again: raw control characters (taken
# with strict=False) become \u00XX, 1e15 becomes 1000000000000000.0; and ordinary ones.
GROWING_BODIES = [
    '{"v": "' + "\x01" * 100 + '"}',
    '{"v": [' + ",".join(["1e15"] * 40) + "]}",
    '{"v": {"a": "\u00e9\U0001f600\\ud800", "b": [1, 2.5, null, true, -0.0], "c": 1E400}}',
    '{"input": {"id": "n4BtUOAtah92pw3uE2sSRJ6LH2qXylGV", "revocationType": "Session"}}',
]


@pytest.mark.parametrize("body", GROWING_BODIES)
def test_variables_of_a_small_body_are_kept_as_without_its_size(body: str) -> None:
    """The journal encodes a small body's variables at once: the same text, cut the same."""
    raw = body.encode("utf-8", "surrogatepass")
    variables = json.loads(body, strict=False)
    for max_text in range(len(raw) * 4, len(raw) * 7, 7):
        given = Exchange.capture(
            method="POST",
            path="/graphql",
            status=200,
            variables=variables,
            max_text=max_text,
            body_bytes=len(raw),
        )
        alone = Exchange.capture(
            method="POST", path="/graphql", status=200, variables=variables, max_text=max_text
        )
        assert (given.variables_text, given.truncated) == (alone.variables_text, alone.truncated)
