"""The snippet files differ from LogScale's docs only where the docs cannot run as printed."""

from __future__ import annotations

from test_seed_docs import LOGOUT_DOC, SESSIONS_DOC, snippet

from clients.snippets import client_file, replace_once

# Node.js: plain http to the fake's host and port from the environment, instead of https:443
NODE_TRANSPORT = (
    ("const https = require('https');", "const http = require('http');"),
    ("const req = https.request(", "const req = http.request("),
    ("  port: 443,", "  port: process.env.LOGSCALE_PORT,"),
)


def adapted(text: str, changes: tuple[tuple[str, str], ...]) -> str:
    for old, new in changes:
        text = replace_once(text, old, new)
    return text


def test_the_perl_sessions_file_only_escapes_the_quotes_inside_the_json_string() -> None:
    escaped = (('searchFilter: \\"company.com\\"', 'searchFilter: \\\\\\"company.com\\\\\\"'),)
    assert client_file("sessions.pl") == adapted(snippet(SESSIONS_DOC, "Perl"), escaped)


def test_the_perl_logout_file_is_the_documented_snippet() -> None:
    assert client_file("logout.pl") == snippet(LOGOUT_DOC, "Perl")


def test_the_node_sessions_file_only_fixes_the_string_and_the_transport() -> None:
    changes = (
        *NODE_TRANSPORT,
        # a double-quoted string cannot span lines in JavaScript; a template literal can
        ('{"query" : "query{', '{"query" : `query{'),
        (
            '{totalResults, results {id, user{username}}}\n}"',
            "{totalResults, results {id, user{username}}}\n}`",
        ),
        ("  hostname: '$YOUR_LOGSCALE_URL',", "  hostname: process.env.LOGSCALE_HOST,"),
    )
    assert client_file("sessions.js") == adapted(snippet(SESSIONS_DOC, "Node.js"), changes)


def test_the_node_logout_file_only_fixes_the_string_and_the_transport() -> None:
    changes = (
        *NODE_TRANSPORT,
        (
            '{"query" : "mutation {\n  logoutOfSession\n}"',
            '{"query" : `mutation {\n  logoutOfSession\n}`',
        ),
        ("  hostname: '$YOUR_LOGSCALE_URL/graphql',", "  hostname: process.env.LOGSCALE_HOST,"),
    )
    assert client_file("logout.js") == adapted(snippet(LOGOUT_DOC, "Node.js"), changes)


def test_the_node_files_keep_the_upper_case_scheme_and_the_printed_paths() -> None:
    for name, path in (("sessions.js", "graphql"), ("logout.js", "/graphql")):
        text = client_file(name)
        assert "Authorization: 'BEARER ' + process.env.TOKEN," in text
        assert f"  path: '{path}',\n" in text
