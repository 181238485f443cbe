"""HTTP/1.1 framing over raw sockets: what a request head may be, and every refusal's shape.

Every refusal is checked whole: an exact HTTP/1.1 status line, a JSON body,
``Connection: close``, and then the end of the connection, so nothing sent
after a request whose framing is doubtful is ever run.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from raw_http import closed, read_answer

from pytest_logscale import FakeLogScale

TIMEOUT = 10
LOGOUT = json.dumps({"query": "mutation { logoutOfSession }"}).encode()
ME = json.dumps({"query": "{ currentUser { username } }"}).encode()


def connect(server: FakeLogScale) -> socket.socket:
    return socket.create_connection((server.server.host, server.server.port), timeout=TIMEOUT)


def refused(server: FakeLogScale, data: bytes, status_line: str) -> str:
    """Send ``data`` on a new connection; the answer must be this refusal, then the end."""
    with connect(server) as sock:
        sock.sendall(data)
        status, fields, body = read_answer(sock)
        assert status == status_line, (status, body)
        assert fields["content-type"] == "application/json"
        assert fields["connection"] == "close"
        assert closed(sock), "the connection stays open after a refusal"
    message: Any = json.loads(body)["errors"][0]["message"]
    assert isinstance(message, str)
    return message


def post(server: FakeLogScale, fields: str, body: bytes) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Type: application/json\r\n{fields}\r\n"
    ).encode() + body


def assert_owner_still_logged_in(server: FakeLogScale) -> None:
    answer = server.execute("{ currentUser { username } }")
    assert answer == {"data": {"currentUser": {"username": server.owner().username}}}
    assert all(e.root_fields != ("logoutOfSession",) for e in server.journal)


# -- smuggling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Content-Length : {n}",  # white space before the colon
        "X-No-Colon-Here",
        "Content-Length\t: {n}",
        ": no name",
        "Bad Name: x",
        "X-Nul: a\x00b",
        "X-Cr: a\rb",
    ],
)
def test_a_header_line_that_does_not_parse_is_refused_and_hides_no_second_request(
    logscale_server: FakeLogScale, line: str
) -> None:
    smuggled = post(logscale_server, f"Content-Length: {len(LOGOUT)}\r\n", LOGOUT)
    head = post(logscale_server, line.format(n=len(smuggled)) + "\r\n", b"")
    message = refused(logscale_server, head + smuggled, "HTTP/1.1 400 Bad Request")
    assert "Name: value" in message
    assert_owner_still_logged_in(logscale_server)


def test_obsolete_line_folding_is_refused(logscale_server: FakeLogScale) -> None:
    data = post(logscale_server, f"Content-Length: {len(ME)}\r\nX-A: one\r\n two\r\n", ME)
    assert "folding" in refused(logscale_server, data, "HTTP/1.1 400 Bad Request")


@pytest.mark.parametrize("length", ["+{n}", "{n}.0", "{n}_0", " 0x{n:x}", "-0", "{n} {n}", "١٢"])
def test_a_content_length_that_is_not_digits_is_refused(
    logscale_server: FakeLogScale, length: str
) -> None:
    data = post(logscale_server, f"Content-Length: {length.format(n=len(ME))}\r\n", ME)
    message = refused(logscale_server, data, "HTTP/1.1 400 Bad Request")
    assert "Content-Length" in message


def test_a_content_length_with_underscores_is_refused_and_runs_nothing(
    logscale_server: FakeLogScale,
) -> None:
    smuggled = post(logscale_server, f"Content-Length: {len(LOGOUT)}\r\n", LOGOUT)
    data = post(logscale_server, "Content-Length: 5_6\r\n", b"x" * 56 + smuggled)
    refused(logscale_server, data, "HTTP/1.1 400 Bad Request")
    assert_owner_still_logged_in(logscale_server)


def chunked(server: FakeLogScale, chunks: bytes) -> bytes:
    return post(server, "Transfer-Encoding: chunked\r\n", chunks)


@pytest.mark.parametrize(
    "size", [b"0x%x", b"+%x", b"%x_", b" %x", b"%x\x00", b"-%x", b"%x;", b'%x;a="b']
)
def test_a_chunk_size_that_is_not_hex_digits_is_refused(
    logscale_server: FakeLogScale, size: bytes
) -> None:
    data = chunked(logscale_server, size % len(ME) + b"\r\n" + ME + b"\r\n0\r\n\r\n")
    message = refused(logscale_server, data, "HTTP/1.1 400 Bad Request")
    assert "could not be read" in message
    assert_owner_still_logged_in(logscale_server)


@pytest.mark.parametrize("extension", [b";name", b";name=value", b' ; a=1;b="quoted; \\" string"'])
def test_standard_chunk_extensions_and_a_trailer_are_accepted(
    logscale_server: FakeLogScale, extension: bytes
) -> None:
    half = len(ME) // 2
    body = b"%x%s\r\n%s\r\n%x\r\n%s\r\n0%s\r\nX-Trailer: yes\r\n\r\n" % (
        half,
        extension,
        ME[:half],
        len(ME) - half,
        ME[half:],
        extension,
    )
    with connect(logscale_server) as sock:
        for _ in range(2):  # and the connection carries the next request
            sock.sendall(chunked(logscale_server, body))
            status, _fields, answer = read_answer(sock)
            assert status == "HTTP/1.1 200 OK", answer
            assert json.loads(answer)["data"]["currentUser"]["username"]


def test_a_chunk_without_its_crlf_is_refused_and_closes(logscale_server: FakeLogScale) -> None:
    data = chunked(logscale_server, b"%x\r\n%sXX0\r\n\r\n" % (len(ME), ME))
    refused(logscale_server, data, "HTTP/1.1 400 Bad Request")


def test_both_transfer_encoding_and_content_length_are_refused(
    logscale_server: FakeLogScale,
) -> None:
    smuggled = post(logscale_server, f"Content-Length: {len(LOGOUT)}\r\n", LOGOUT)
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(ME), ME)
    data = post(
        logscale_server,
        f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n",
        body + smuggled,
    )
    assert "both" in refused(logscale_server, data, "HTTP/1.1 400 Bad Request")
    assert_owner_still_logged_in(logscale_server)


# -- request lines and versions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /graphql HTTP/2.0", "HTTP/1.1 505 HTTP Version Not Supported"),
        (b"GET /graphql HTTP/3.0", "HTTP/1.1 505 HTTP Version Not Supported"),
        (b"GET /graphql HTTP/0.9", "HTTP/1.1 505 HTTP Version Not Supported"),
        (b"GET /graphql http/1.1", "HTTP/1.1 400 Bad Request"),
        (b"GET /graphql HTTP/1.1 extra", "HTTP/1.1 400 Bad Request"),
        (b"GET  /graphql HTTP/1.1", "HTTP/1.1 400 Bad Request"),
        (b"GET /graphql HTTP/11", "HTTP/1.1 400 Bad Request"),
        (b"GET /", "HTTP/1.1 400 Bad Request"),  # HTTP/0.9: answered at once, not in 60 s
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "HTTP/1.1 400 Bad Request"),  # TLS
    ],
)
def test_a_request_line_this_server_does_not_speak_gets_a_json_refusal(
    logscale_server: FakeLogScale, line: bytes, status: str
) -> None:
    message = refused(logscale_server, line + b"\r\nHost: x\r\n\r\n", status)
    assert "HTTP/1.1" in message


def test_an_http_0_9_request_is_refused_without_waiting_for_more(
    logscale_server: FakeLogScale,
) -> None:
    with connect(logscale_server) as sock:
        sock.settimeout(TIMEOUT / 2)  # well under the 60 s idle timeout
        sock.sendall(b"GET /\r\n")
        status, _fields, _body = read_answer(sock)
    assert status == "HTTP/1.1 400 Bad Request"


def test_a_request_line_over_the_limit_gets_a_json_414(logscale_server: FakeLogScale) -> None:
    data = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"
    assert "65536" in refused(logscale_server, data, "HTTP/1.1 414 URI Too Long")


@pytest.mark.parametrize(
    "fields",
    [b"X-A: " + b"a" * 70_000 + b"\r\n", b"".join(b"X-%d: 1\r\n" % i for i in range(101))],
    ids=["long", "many"],
)
def test_header_fields_over_the_limits_get_a_json_431(
    logscale_server: FakeLogScale, fields: bytes
) -> None:
    data = b"GET /graphql HTTP/1.1\r\n" + fields + b"\r\n"
    refused(logscale_server, data, "HTTP/1.1 431 Request Header Fields Too Large")


def test_a_hundred_header_fields_are_taken(logscale_server: FakeLogScale) -> None:
    fields = "".join(f"X-{i}: 1\r\n" for i in range(96)) + f"Content-Length: {len(ME)}\r\n"
    with connect(logscale_server) as sock:
        sock.sendall(post(logscale_server, fields, ME))
        assert read_answer(sock)[0] == "HTTP/1.1 200 OK"


def test_an_http_1_0_request_is_answered_and_closed(logscale_server: FakeLogScale) -> None:
    data = post(logscale_server, f"Content-Length: {len(ME)}\r\n", ME)
    with connect(logscale_server) as sock:
        sock.sendall(data.replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        status, fields, _body = read_answer(sock)
        assert (status, fields["connection"]) == ("HTTP/1.1 200 OK", "close")
        assert closed(sock)


def test_a_blank_line_before_the_request_line_is_skipped(logscale_server: FakeLogScale) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(b"\r\n" + post(logscale_server, f"Content-Length: {len(ME)}\r\n", ME))
        assert read_answer(sock)[0] == "HTTP/1.1 200 OK"


def test_expect_100_continue_is_answered_before_the_body_is_read(
    logscale_server: FakeLogScale,
) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(
            post(logscale_server, f"Expect: 100-continue\r\nContent-Length: {len(ME)}\r\n", b"")
        )
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(ME)
        assert read_answer(sock)[0] == "HTTP/1.1 200 OK"


def test_expect_100_continue_with_a_body_over_the_limit_gets_413_without_continue(
    logscale_server: FakeLogScale,
) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(
            post(logscale_server, "Expect: 100-continue\r\nContent-Length: 9999999\r\n", b"")
        )
        status, fields, _body = read_answer(sock)
        assert status == "HTTP/1.1 413 Content Too Large"
        assert fields["connection"] == "close"


# -- the rest of the framing errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "why"),
    [
        (b"%x" % len(ME) + b";a=b" * 20_000 + b"\r\n" + ME + b"\r\n0\r\n\r\n", "too long"),
        (b"%x\r\n%s\r\n0\r\nBad Trailer\r\n\r\n" % (len(ME), ME), "Name: value"),
        (b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(ME), ME, b"X-T: 1\r\n" * 101), "too many"),
        (b"%x\r\n%s\r\n0\r\nX-T: " % (len(ME), ME) + b"t" * 70_000 + b"\r\n\r\n", "too long"),
    ],
    ids=["long-size-line", "bad-trailer", "many-trailers", "long-trailer"],
)
def test_chunk_lines_and_trailers_that_break_the_rules_are_refused(
    logscale_server: FakeLogScale, chunks: bytes, why: str
) -> None:
    message = refused(logscale_server, chunked(logscale_server, chunks), "HTTP/1.1 400 Bad Request")
    assert why in message


def test_a_chunked_body_cut_short_by_the_client_is_refused(logscale_server: FakeLogScale) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(chunked(logscale_server, b"%x\r\n%s" % (len(ME) + 10, ME)))
        sock.shutdown(socket.SHUT_WR)
        status, _fields, body = read_answer(sock)
    assert status == "HTTP/1.1 400 Bad Request"
    assert "ended inside a chunk" in json.loads(body)["errors"][0]["message"]


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ("Content-Length: \r\n", "HTTP/1.1 400 Bad Request", "empty"),
        ("Content-Length: 1234567890123456\r\n", "HTTP/1.1 413 Content Too Large", "larger"),
        ("Transfer-Encoding: chunked, chunked\r\n", "HTTP/1.1 400 Bad Request", "chunked, chunked"),
    ],
)
def test_other_unclear_lengths_are_refused(
    logscale_server: FakeLogScale, fields: str, status: str, words: str
) -> None:
    assert words in refused(logscale_server, post(logscale_server, fields, b""), status)


def test_transfer_encoding_in_http_1_0_is_refused(logscale_server: FakeLogScale) -> None:
    data = chunked(logscale_server, b"%x\r\n%s\r\n0\r\n\r\n" % (len(ME), ME))
    data = data.replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    assert "HTTP/1.1" in refused(logscale_server, data, "HTTP/1.1 400 Bad Request")


@pytest.mark.parametrize("part", [b"POST /graphql HTTP/1.1\r\nHost: x\r\n", b"POST /gra"])
def test_a_client_that_leaves_inside_a_head_gets_nothing_and_harms_nothing(
    logscale_server: FakeLogScale, part: bytes
) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(part)
        sock.shutdown(socket.SHUT_WR)
        assert closed(sock)
    assert_owner_still_logged_in(logscale_server)
    assert len(logscale_server.journal) == 1  # only the check's own request


# -- Host (RFC 9112 section 3.2) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "says"),
    [
        ("GET /api/v1/status HTTP/1.1\r\nConnection: close\r\n\r\n", "needs a Host header line"),
        ("GET /api/v1/status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "2 Host header lines"),
        ("GET /api/v1/status HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n", "2 Host header lines"),
        ("GET /api/v1/status HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "2 Host header lines"),
    ],
    ids=["1.1 without Host", "two Host lines", "two Host lines, any case", "1.0 with two"],
)
def test_a_request_without_its_one_host_line_is_refused(
    logscale_server: FakeLogScale, head: str, says: str
) -> None:
    assert says in refused(logscale_server, head.encode(), "HTTP/1.1 400 Bad Request")
    assert_owner_still_logged_in(logscale_server)


def test_an_http_1_0_request_without_host_is_served(logscale_server: FakeLogScale) -> None:
    with connect(logscale_server) as sock:
        sock.sendall(b"GET /api/v1/status HTTP/1.0\r\n\r\n")
        assert read_answer(sock)[0] == "HTTP/1.1 200 OK"
