"""LogScale's documented Node.js examples, adapted only to run, against the fake."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from test_seed_docs import SESSIONS_DOC, assert_documented_sessions_shape, snippet

from clients.programs import require_program, run
from clients.snippets import CLIENTS, PRINT_JSON, node_env
from pytest_logscale import FakeLogScale


@pytest.fixture
def node() -> str:
    return require_program("node")


def run_node(node: str, name: str, server: FakeLogScale, token: str) -> tuple[str, Any]:
    """Run a snippet file; returns the status line it prints and the ``data`` it logs."""
    done = run(
        [node, "--require", str(PRINT_JSON), str(CLIENTS / name)], env=node_env(server.url, token)
    )
    status, data = done.stdout.splitlines()
    return status, None if data == "undefined" else json.loads(data)


def test_the_sessions_example_answers_as_documented(
    node: str, logscale_server: FakeLogScale
) -> None:
    status, data = run_node(node, "sessions.js", logscale_server, logscale_server.token)
    assert status == "statusCode: 200"
    assert_documented_sessions_shape({"data": data})
    assert {"data": data} == logscale_server.execute(snippet(SESSIONS_DOC, "Raw"))


def test_the_sessions_example_reaches_graphql_with_its_printed_path_and_scheme(
    node: str, logscale_server: FakeLogScale
) -> None:
    run_node(node, "sessions.js", logscale_server, logscale_server.token)
    (exchange,) = logscale_server.journal
    # Node sends the printed path as is ("POST graphql HTTP/1.1"); the fake reads it as /graphql
    assert exchange.path == "/graphql"
    assert (exchange.method, exchange.status, exchange.root_fields) == ("POST", 200, ("sessions",))
    assert exchange.session_id is not None  # "BEARER <token>" authenticated the owner's session


def test_the_logout_example_ends_the_session(node: str, logscale_server: FakeLogScale) -> None:
    token = logscale_server.admin_token
    assert run_node(node, "logout.js", logscale_server, token) == (
        "statusCode: 200",
        {"logoutOfSession": True},
    )
    # LogScale's 401 is plain text, so the example's JSON.parse throws, against LogScale too
    again = subprocess.run(
        [node, "--require", str(PRINT_JSON), str(CLIENTS / "logout.js")],
        env={**os.environ, **node_env(logscale_server.url, token)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.stdout.splitlines()[0] == "statusCode: 401"
    assert again.returncode != 0
    assert "The supplied authentication is invalid" in again.stderr
