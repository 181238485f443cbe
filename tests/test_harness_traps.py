"""Places where a test could pass without checking anything (issue 15), each closed.

Every test here failed on the code before the fix: a token default that meant two
things, assertions that took names the schema does not have, session records read
as if they were live, and journal entries a test could change under another.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

import pytest

from pytest_logscale import FakeLogScale
from pytest_logscale.harness.journal import Exchange, Journal

WHO = '{"query": "{ currentUser { id } }"}'
REVOKE = 'mutation { revokeSession(input: {id: "%s", revocationType: Session}) }'


# -- one meaning for token=None ---------------------------------------------------------


def test_post_and_execute_both_send_the_owners_token_by_default(
    logscale_server: FakeLogScale,
) -> None:
    status, answer = logscale_server.post(WHO)
    assert status == 200, answer
    assert answer == logscale_server.execute("{ currentUser { id } }")
    assert answer["data"]["currentUser"]["id"] == logscale_server.owner().id


def test_an_empty_token_sends_no_authorization_header(logscale_server: FakeLogScale) -> None:
    status, answer = logscale_server.post(WHO, token="")
    assert (status, answer) == (401, "The supplied authentication is invalid")
    assert logscale_server.journal[-1].auth_failure is not None
    assert "No access token" in logscale_server.journal[-1].auth_failure
    with pytest.raises(AssertionError, match="other than a JSON object"):
        logscale_server.execute("{ currentUser { id } }", token="")
    assert "No access token" in (logscale_server.journal[-1].auth_failure or "")


# -- journal assertions check the names they are given ----------------------------------


@pytest.mark.parametrize(
    ("call", "suggestion"),
    [
        (lambda j: j.assert_not_called("revokeSesion"), "revokeSession"),
        (lambda j: j.assert_called("session"), "sessions"),
        (lambda j: j.assert_called_once("curentUser"), "currentUser"),
        (lambda j: j.calls("logoutOfSesion"), "logoutOfSession"),
    ],
)
def test_a_root_field_the_schema_does_not_have_is_an_error_naming_the_closest(
    logscale_server: FakeLogScale, call: object, suggestion: str
) -> None:
    with pytest.raises(ValueError, match=f"did you mean '{suggestion}'") as error:
        call(logscale_server.journal)  # type: ignore[operator]
    assert "the schema has no root field" in str(error.value)


def test_a_fault_on_a_misspelt_root_field_suggests_the_closest(
    logscale_server: FakeLogScale,
) -> None:
    from pytest_logscale import Fault

    with pytest.raises(ValueError, match="did you mean 'revokeSession'"):
        logscale_server.faults.add(Fault.status(503), root_field="revokeSesion")


def test_an_unknown_operation_type_is_an_error(logscale_server: FakeLogScale) -> None:
    with pytest.raises(ValueError, match="'query' or 'mutation'"):
        logscale_server.journal.calls(operation_type="mutations")


# -- a live view of sessions -------------------------------------------------------------


def test_a_session_read_through_the_server_is_as_it_is_now(logscale_server: FakeLogScale) -> None:
    snapshot = logscale_server.login(logscale_server.member())
    assert logscale_server.session(snapshot.id).active
    logscale_server.execute(REVOKE % snapshot.id)
    now = logscale_server.session(snapshot.id)
    assert (now.active, now.status, now.ended) == (False, "revoked", now.session.ended)
    assert now.ended is not None and now.ended.value == "revoked"
    assert snapshot.ended is None  # the record login() returned is a snapshot
    assert logscale_server.session(snapshot) == now


def test_a_session_expires_on_the_fakes_clock(logscale_server: FakeLogScale) -> None:
    fresh = logscale_server.login(logscale_server.member())
    logscale_server.clock.advance(days=400)
    now = logscale_server.session(fresh.id)
    assert (now.active, now.ended) == (False, None)
    assert now.status in ("inactive", "reauthentication_due")


def test_an_unknown_session_id_is_a_lookup_error(logscale_server: FakeLogScale) -> None:
    with pytest.raises(LookupError, match="no session has id 'nope'"):
        logscale_server.session("nope")


def test_find_sessions_filters_on_the_current_state(logscale_server: FakeLogScale) -> None:
    member = logscale_server.member()
    fresh = logscale_server.login(member)
    mine = logscale_server.find_sessions(user=member)
    assert fresh.id in {s.id for s in mine}
    assert all(s.session.user_id == member.id for s in mine)
    active = {s.id for s in logscale_server.find_sessions(user=member, active=True)}
    assert fresh.id in active
    logscale_server.execute(REVOKE % fresh.id)
    assert fresh.id not in {s.id for s in logscale_server.find_sessions(active=True)}
    ended = logscale_server.find_sessions(status="revoked")
    assert [s.id for s in ended if s.id == fresh.id] == [fresh.id]
    every = logscale_server.find_sessions()
    assert len(every) == len(logscale_server.sessions)
    organization = logscale_server.organization
    assert logscale_server.find_sessions(organization=organization) == every


def test_find_sessions_refuses_an_unknown_status(logscale_server: FakeLogScale) -> None:
    with pytest.raises(ValueError, match="status must be one of active, "):
        logscale_server.find_sessions(status="actve")


# -- journal entries are immutable and compact ---------------------------------------------


def test_what_a_test_got_from_the_journal_cannot_change_a_later_read(
    logscale_server: FakeLogScale,
) -> None:
    query = "query Mine($n: Int) { sessions(limit: $n) { totalResults } }"
    logscale_server.execute(query, {"n": 2})
    logscale_server.execute(query, {"n": 2})
    first, second = logscale_server.journal
    total = first.response["data"]["sessions"]["totalResults"]
    first.response["data"]["sessions"]["totalResults"] = -1
    first.variables["n"] = 99  # type: ignore[index]
    first.arguments["sessions"]["limit"] = 99
    again = logscale_server.journal[0]
    assert again.response == {"data": {"sessions": {"totalResults": total}}}
    assert again.variables == {"n": 2}
    assert again.arguments == {"sessions": {"limit": 2}}
    assert second.response == again.response
    with pytest.raises(AttributeError):
        again.status = 500  # type: ignore[misc]


def test_a_journal_entry_keeps_text_not_parse_trees(logscale_server: FakeLogScale) -> None:
    logscale_server.execute("{ currentUser { id } }")
    (entry,) = logscale_server.journal
    kept = [getattr(entry, name) for name in entry.__slots__]  # type: ignore[attr-defined]
    assert all(isinstance(v, (str, bytes, int, tuple, frozenset, type(None))) for v in kept), kept


def test_a_long_query_variables_and_answer_are_cut_at_the_cap() -> None:
    journal = Journal(max_text=100)
    variables = {"ids": ["x" * 50] * 10}
    journal.record(
        Exchange.capture(
            method="POST",
            path="/graphql",
            status=200,
            query="{ currentUser { id } }" + " " * 500,
            variables=variables,
            response=b'{"data": {"x": "' + b"y" * 500 + b'"}}',
            max_text=journal.max_text,
        )
    )
    (entry,) = journal
    assert entry.truncated == frozenset({"query", "variables", "response"})
    assert entry.query is not None and len(entry.query) == 100
    assert entry.variables is None  # cut JSON is no JSON: the text is in variables_text
    assert entry.variables_text is not None and len(entry.variables_text) == 100
    assert isinstance(entry.response, str) and len(entry.response) == 100
    assert "cut at 100" in entry.describe()


def test_the_journal_is_bounded_by_bytes_oldest_dropped_first() -> None:
    journal = Journal(max_bytes=10_000, max_text=4_000)
    for n in range(10):
        journal.record(
            Exchange.capture(method="POST", path="/graphql", status=200, query=f"#{n}" + " " * 3000)
        )
    assert journal.size_bytes <= 10_000
    assert [e.query[:2] for e in journal if e.query] == ["#7", "#8", "#9"]


@pytest.mark.parametrize(
    ("keyword", "value"), [("max_bytes", 0), ("max_text", -1), ("max_bytes", 1.5)]
)
def test_journal_bounds_are_whole_numbers(keyword: str, value: object) -> None:
    with pytest.raises(ValueError, match=keyword):
        Journal(**{keyword: value})  # type: ignore[arg-type]


def test_forty_requests_with_a_megabyte_of_variables_stay_within_the_bound() -> None:
    nested: object = "x" * 56
    for _ in range(7):
        nested = [nested] * 4
    # a variable the operation does not declare: graphql-core ignores it, the journal keeps it
    body = json.dumps({"query": "{ currentUser { id } }", "variables": {"w": nested}})
    assert 900_000 < len(body) < 1 << 20
    bound = 2 << 20
    with FakeLogScale(journal_bytes=bound).start() as fake:
        fake.post(body)  # warm: the document cache and the server's thread
        tracemalloc.start()
        try:
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(40):
                fake.post(body)
            gc.collect()  # a request's garbage in reference cycles is not the journal's
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert fake.journal.size_bytes <= bound
        assert 20 < len(fake.journal) < 41  # each entry keeps 64 KiB of the variables' text
        assert fake.journal[-1].truncated == frozenset({"variables"})
        # The old journal kept each request's parsed variables, about 2 MB each: 80 MB here.
        # Alone this grows by the bound; the margin is for other threads of a busy worker.
        assert grown < bound + (6 << 20), grown


def test_serve_bounds_its_journal_by_bytes_with_flags() -> None:
    from pytest_logscale import cli

    default = cli._fake(cli._parser().parse_args(["serve"])).journal
    assert (default.maxlen, default.max_bytes, default.max_text) == (1000, 32 << 20, 64 << 10)
    chosen = cli._fake(
        cli._parser().parse_args(["serve", "--journal-bytes", "5000", "--journal-text", "70"])
    ).journal
    assert (chosen.max_bytes, chosen.max_text) == (5000, 70)


@pytest.mark.parametrize("flag", ["--journal-bytes", "--journal-text"])
def test_serve_refuses_a_journal_bound_below_one(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_logscale import cli

    with pytest.raises(SystemExit) as exit:
        cli._parser().parse_args(["serve", flag, "0"])
    assert exit.value.code == 2
    assert f"{flag} must be a whole number of at least 1, not 0" in capsys.readouterr().err


def test_the_control_apis_journal_refuses_a_misspelt_field_naming_the_closest(
    logscale_server: FakeLogScale,
) -> None:
    import requests

    answer = requests.get(logscale_server.control_url + "/journal?field=revokeSesion", timeout=30)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["field"] == "field"
    assert "did you mean 'revokeSession'?" in error["error"]
