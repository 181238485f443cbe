"""Reading HTTP/1.1 answers off a raw socket, for the tests that write requests byte by byte."""

from __future__ import annotations

import contextlib
import socket


def read_answer(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One answer: its status line, its header fields (lower-case names) and its body.

    Framed by ``Content-Length``, which every answer of the fake carries.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        assert part, f"the connection closed before a whole answer: {data!r}"
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    length = int(fields["content-length"])
    while len(body) < length:
        part = sock.recv(65536)
        assert part, "the connection closed inside the answer's body"
        body += part
    assert len(body) == length, "more bytes than the answer's length"
    return status, fields, body


def closed(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (reading nothing more from it)."""
    with contextlib.suppress(ConnectionResetError):
        return sock.recv(65536) == b""
    return True
