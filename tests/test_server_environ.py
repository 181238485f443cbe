"""The server builds each request's WSGI environ itself: it must be Werkzeug's, key for key.

Werkzeug's ``make_environ`` reads the header fields from the standard library's
email message; the server builds the same environ straight from the head its strict
parser checked (framing.py). Here every request is answered by an app that keeps its
environ, and Werkzeug's own ``make_environ`` is run on the same head, its fields put
in an email message as the server did before, to say what the environ must be.
"""

from __future__ import annotations

import http.client
import io
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from raw_http import read_answer
from werkzeug.serving import WSGIRequestHandler

from pytest_logscale.http.framing import _FIELD_LINE, read_head
from pytest_logscale.http.server import ThreadedServer

#: Entries that are objects of this connection rather than values: compared by kind.
_OBJECTS = ("wsgi.input", "wsgi.errors", "werkzeug.socket")

Kept = list[dict[str, Any]]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ThreadedServer, Kept]]:
    kept: Kept = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read()
        kept.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    with ThreadedServer(app) as running:
        yield running, kept


def werkzeugs(server: ThreadedServer, raw: bytes, client: tuple[str, int]) -> dict[str, Any]:
    """The environ Werkzeug's own handler makes of the request ``raw`` from ``client``."""
    head = read_head(io.BytesIO(raw).readline, 1 << 16, 100)
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)  # no connection to handle
    handler.server = server._server  # type: ignore[assignment]
    handler.client_address = client
    handler.connection = socket.socket()
    handler.rfile = io.BytesIO()
    handler.command, handler.path = head.method, head.target
    handler.request_version = "HTTP/{}.{}".format(*head.version)
    handler.headers = http.client.HTTPMessage()
    for name, value in head.fields:
        handler.headers[name] = value  # appends: a repeated field stays repeated
    try:
        return handler.make_environ()
    finally:
        handler.connection.close()


def exchange(server: ThreadedServer, kept: Kept, raw: bytes) -> tuple[dict[str, Any], Any]:
    """Send ``raw`` on a new connection; the environ the app got and the client's address."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(raw)
        status, _fields, _body = read_answer(sock)
        assert status.startswith("HTTP/1.1 200"), status
        return kept[-1], sock.getsockname()


def _request(target: str, *fields: str, body: bytes = b"") -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: fake.test:8080", *fields]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


CASES = {
    "plain": _request("/graphql", "Content-Type: application/json", body=b"{}"),
    "query string": _request("/graphql?x=1&y=%20two&z"),
    "escapes in the path": _request("/a%20b/caf%C3%A9/%2Fslash"),
    "an escape that is not UTF-8": _request("/bad%ff%fe"),
    "a raw byte above ASCII": _request("/caf\xe9?q=\xe9"),
    "two slashes": _request("//double/slash?x"),
    "absolute form": _request("http://other.test:9/graphql?q=1"),
    "a repeated field": _request("/graphql", "X-Trace: one", "x-trace: two", "X-TRACE: three"),
    "a field with an underscore": _request("/graphql", "X_Forwarded_For: 10.0.0.1"),
    "two content types": _request("/graphql", "Content-Type: a/b", "Content-Type: c/d"),
    "values with spaces and tabs": _request("/graphql", "X-Padded: \t  inner  value \t"),
    "an empty value": _request("/graphql", "X-Empty:", "Authorization: Bearer  two-spaces"),
    "a value above ASCII": _request("/graphql", "X-Name: Jos\xe9 \x7f\x01"),
    "every method's casing": _request("/graphql", "aCCePT: */*", "user-agent: raw/1"),
}


@pytest.mark.parametrize("raw", CASES.values(), ids=CASES.keys())
def test_the_environ_is_werkzeugs(server: tuple[ThreadedServer, Kept], raw: bytes) -> None:
    running, kept = server
    ours, client = exchange(running, kept, raw)
    theirs = werkzeugs(running, raw, client)
    for key in _OBJECTS:
        assert key in ours and key in theirs, key
    assert ours["wsgi.errors"] is sys.stderr
    assert isinstance(ours["werkzeug.socket"], socket.socket)
    strip = {k: v for k, v in ours.items() if k not in _OBJECTS}
    assert strip == {k: v for k, v in theirs.items() if k not in _OBJECTS}


def test_http_1_0_and_keep_alive_as_werkzeug(server: tuple[ThreadedServer, Kept]) -> None:
    running, kept = server
    raw = b"GET /x?y HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    ours, client = exchange(running, kept, raw)
    theirs = werkzeugs(running, raw, client)
    assert ours["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert {k: v for k, v in ours.items() if k not in _OBJECTS} == {
        k: v for k, v in theirs.items() if k not in _OBJECTS
    }


# -- the head parser's one-pass split against its per-line rule ---------------------------------

_TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE_BYTES = [b for b in range(256) if b not in (0, 10, 13)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(_TCHARS, min_size=1, max_size=12),
            st.binary(max_size=30).map(lambda raw: bytes(_VALUE_BYTES[b % 253] for b in raw)),
        ),
        max_size=12,
    )
)
def test_a_head_is_split_as_each_line_is(fields: list[tuple[str, bytes]]) -> None:
    """read_head checks each field line as it arrives and splits them all at once: the
    pairs it gives are those the per-line rule (framing._FIELD_LINE) gives, line by line."""
    lines = [name.encode() + b":" + value for name, value in fields]
    raw = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\n"
    head = read_head(io.BytesIO(raw).readline, 1 << 16, 100)
    expected = [("Host", "h")]
    for line in lines:
        match = _FIELD_LINE.fullmatch(line)
        assert match is not None
        expected.append((match[1].decode("ascii"), match[2].decode("latin-1")))
    assert list(head.fields) == expected
