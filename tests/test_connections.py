"""Connections: a cap on how many are served at once, and an accept loop that survives
running out of descriptors. Over real sockets; the descriptor test runs ``serve`` in a
subprocess with a lowered RLIMIT_NOFILE, never this process's own."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator

import pytest
from raw_http import read_answer
from serve_process import SERVE, ServeProcess

from pytest_logscale import FakeLogScale, ServerOptions
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 10
ME = json.dumps({"query": "{ currentUser { username } }"}).encode()


def request(token: str, *, close: bool = False) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"{'Connection: close' + chr(13) + chr(10) if close else ''}"
        f"Content-Length: {len(ME)}\r\n\r\n"
    ).encode() + ME


def served(host: str, port: int, token: str, *, close: bool = False) -> socket.socket:
    """A new connection that got one 200 answer (and is kept open unless ``close``)."""
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.sendall(request(token, close=close))
    status, _fields, body = read_answer(sock)
    assert status == "HTTP/1.1 200 OK", body
    return sock


def assert_turned_away(host: str, port: int, token: str, limit: int) -> None:
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(request(token))
        status, fields, body = read_answer(sock)
        assert status == "HTTP/1.1 503 Service Unavailable"
        assert (fields["content-type"], fields["connection"]) == ("application/json", "close")
        message = json.loads(body)["errors"][0]["message"]
        assert f"limit of {limit} connections" in message and "--max-connections" in message
        assert sock.recv(10) == b""


@pytest.fixture
def capped(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory(server_options=ServerOptions(max_connections=2)) as fake:
        yield fake


def test_a_connection_over_the_cap_gets_503_in_json_and_is_closed(capped: FakeLogScale) -> None:
    host, port, token = capped.server.host, capped.server.port, capped.token
    with served(host, port, token), served(host, port, token):
        assert_turned_away(host, port, token, 2)
        assert_turned_away(host, port, token, 2)  # and the server goes on answering
    assert len(capped.journal) == 2  # turned away before any request was read


def test_a_slot_freed_by_a_closed_connection_is_served_again(capped: FakeLogScale) -> None:
    host, port, token = capped.server.host, capped.server.port, capped.token
    with served(host, port, token) as kept:
        last = served(host, port, token, close=True)  # the server closes it after the answer
        assert last.recv(10) == b""  # the slot is free before the close can be seen
        last.close()
        with served(host, port, token):
            assert_turned_away(host, port, token, 2)
        kept.sendall(request(token))
        assert read_answer(kept)[0] == "HTTP/1.1 200 OK"


@pytest.mark.parametrize(
    "field", ["max_connections", "max_head_bytes", "max_headers", "idle_timeout"]
)
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "8"])
def test_a_server_option_that_is_not_a_positive_whole_number_is_refused(
    field: str, value: object
) -> None:
    with pytest.raises(ValueError, match=f"ServerOptions.{field} must be a whole number"):
        ServerOptions(**{field: value})  # type: ignore[arg-type]


def test_small_head_limits_apply(logscale_server_factory: LogScaleServerFactory) -> None:
    options = ServerOptions(max_head_bytes=200, max_headers=3)
    with logscale_server_factory(server_options=options) as fake:
        host, port = fake.server.host, fake.server.port
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.sendall(request(fake.token))  # Host, Authorization, Content-Length: 3 fields
            assert read_answer(sock)[0] == "HTTP/1.1 200 OK"
            sock.sendall(request(fake.token, close=True))  # 4 fields
            assert read_answer(sock)[0] == "HTTP/1.1 431 Request Header Fields Too Large"
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n")
            assert read_answer(sock)[0] == "HTTP/1.1 414 URI Too Long"


# -- serve, out of descriptors --------------------------------------------------------------


def limited_serve(limit: int, *args: str) -> ServeProcess:
    """``serve`` in a process whose descriptor limit is ``limit`` (soft and hard)."""
    process = ServeProcess(*args)
    code = (
        "import resource, runpy, sys;"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}));"
        "sys.argv = ['pytest-logscale', *sys.argv[1:]];"
        "runpy.run_module('pytest_logscale', run_name='__main__')"
    )
    process.args = [sys.executable, "-c", code, *SERVE[SERVE.index("serve") :], *args]
    return process


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_out_of_descriptors_backs_off_and_answers_again_once_they_free_up() -> None:
    with limited_serve(64, "--max-connections", "1000") as server:
        assert server.process is not None
        pid = server.process.pid
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        token = server.values["LOGSCALE_TOKEN"]
        clients: list[socket.socket] = []
        try:
            # connect until the server can accept no more: the backlog still takes them
            while open_descriptors(pid) < 64 - 1 and len(clients) < 200:
                clients.append(served(host, int(port), token))
            for _ in range(20):  # more than it can accept
                clients.append(socket.create_connection((host, int(port)), timeout=TIMEOUT))
            for sock in clients[-20:]:
                sock.sendall(request(token))
            before, began = cpu_seconds(pid), time.monotonic()
            with pytest.raises(TimeoutError):  # nothing is accepted while descriptors run out
                clients[-1].settimeout(1.0)
                clients[-1].recv(1)
            spent, waited = cpu_seconds(pid) - before, time.monotonic() - began
            assert spent < waited / 4, f"the accept loop spins: {spent:.2f} s CPU in {waited:.2f} s"
        finally:
            waiting = clients[-20:]
            for sock in clients[:-20]:
                with contextlib.suppress(OSError):
                    sock.close()
        for sock in waiting:  # served once descriptors free up
            sock.settimeout(TIMEOUT)
            assert read_answer(sock)[0] == "HTTP/1.1 200 OK"
            sock.close()
        served(host, int(port), token).close()
        assert server.stop() == 0


def test_serve_takes_max_connections() -> None:
    with ServeProcess("--max-connections", "1") as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        token = server.values["LOGSCALE_TOKEN"]
        with served(host, int(port), token):
            assert_turned_away(host, int(port), token, 1)
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("field", "too_big"),
    [
        ("max_connections", 65_537),
        ("max_head_bytes", (16 << 20) + 1),
        ("max_headers", 10_001),
        ("idle_timeout", 86_401),
        ("idle_timeout", 9_999_999_999),
        ("max_head_bytes", 99_999_999_999_999_999_999),
    ],
)
def test_a_server_option_above_its_upper_bound_is_refused(field: str, too_big: int) -> None:
    with pytest.raises(ValueError, match=f"ServerOptions.{field} must be a whole number from 1 to"):
        ServerOptions(**{field: too_big})


def test_each_server_option_at_its_upper_bound_serves(
    logscale_server_factory: LogScaleServerFactory,
) -> None:
    highest = ServerOptions(
        max_connections=65_536, max_head_bytes=16 << 20, max_headers=10_000, idle_timeout=86_400
    )
    with (
        logscale_server_factory(server_options=highest) as fake,
        socket.create_connection((fake.server.host, fake.server.port), timeout=TIMEOUT) as sock,
    ):
        sock.sendall(request(fake.token, close=True))
        assert read_answer(sock)[0] == "HTTP/1.1 200 OK"


def test_an_unexpected_connection_error_is_logged_at_error_and_a_gone_client_at_debug(
    logscale_server_factory: LogScaleServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with logscale_server_factory() as fake:
        server = fake.server._server  # the running server's own error hook
        assert server is not None
        caplog.set_level(logging.DEBUG, logger="pytest_logscale.server")
        for error in (OverflowError("timeout doesn't fit into C timeval"), BrokenPipeError()):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 1))
    levels = [(r.levelno, type(r.exc_info[1]).__name__) for r in caplog.records if r.exc_info]
    assert levels == [(logging.ERROR, "OverflowError"), (logging.DEBUG, "BrokenPipeError")]
