"""LogScale's documented Perl LWP examples, run by perl against the fake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_seed_docs import SESSIONS_DOC, assert_documented_sessions_shape, snippet

from clients.programs import require_perl_module, run
from clients.snippets import client_file, fill_perl
from pytest_logscale import FakeLogScale


@pytest.fixture
def perl() -> str:
    return require_perl_module("LWP::UserAgent", "libwww-perl")


def run_perl(perl: str, code: str, server: FakeLogScale, token: str) -> Any:
    """Run a snippet; it prints the response body, which is parsed."""
    done = run([perl], stdin=fill_perl(code, server.url, token))
    return json.loads(done.stdout)


def test_the_sessions_example_with_its_quotes_escaped_answers_as_documented(
    perl: str, logscale_server: FakeLogScale
) -> None:
    answer = run_perl(perl, client_file("sessions.pl"), logscale_server, logscale_server.token)
    assert_documented_sessions_shape(answer)
    assert len(answer["data"]["sessions"]["results"]) == 10
    assert answer == logscale_server.execute(snippet(SESSIONS_DOC, "Raw"))
    (exchange, _same_query) = logscale_server.journal
    assert (exchange.status, exchange.root_fields) == (200, ("sessions",))


def test_the_sessions_example_as_printed_gets_a_clear_400(
    perl: str, logscale_server: FakeLogScale
) -> None:
    code = snippet(SESSIONS_DOC, "Perl")
    answer = run_perl(perl, code, logscale_server, logscale_server.token)
    (error,) = answer["errors"]
    assert error["message"].startswith("The request body is not valid JSON")
    (exchange,) = logscale_server.journal
    assert exchange.status == 400


def test_the_logout_example_ends_the_session(perl: str, logscale_server: FakeLogScale) -> None:
    token = logscale_server.member_token
    code = client_file("logout.pl")
    assert run_perl(perl, code, logscale_server, token) == {"data": {"logoutOfSession": True}}
    # the token is dead: LogScale's documented plain-text 401, the reason kept in the journal
    again = run([perl], stdin=fill_perl(code, logscale_server.url, token))
    assert again.stdout.strip() == "The supplied authentication is invalid"
    assert [exchange.status for exchange in logscale_server.journal] == [200, 401]
    assert "logged out" in (logscale_server.journal[1].auth_failure or "")
