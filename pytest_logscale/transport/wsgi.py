"""One request through a WSGI app, in process: what a client library needs back.

Both client adapters (requests, httpx) come through here, so the environ a
request gets and the way an answer cut short by a fault is reported are the
same for both.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["Answer", "Cut", "TimedOut", "Unreachable", "call"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Fields the server sends with every answer (``Server``, ``Date``), made per answer.
Fields = Callable[[], list[tuple[str, str]]]


class Unreachable(ConnectionRefusedError):
    """The fake is not serving: over HTTP the connection would be refused."""


class TimedOut(TimeoutError):
    """The answer took longer than the client's read timeout."""


class Cut(ConnectionAbortedError):
    """The app cut its answer short (an injected dropped connection or truncated body).

    ``head`` is None when nothing at all was sent (the connection closed before
    an answer); otherwise the answer's head was sent with ``body``, which is
    shorter than its ``Content-Length``.
    """

    def __init__(self, head: Answer | None) -> None:
        super().__init__("the fake closed the connection before the whole answer was sent")
        self.head = head


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as a client receives it: status, reason, header fields, body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def call(
    app: WSGIApp,
    fields: Fields,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> Answer:
    """Run ``app`` on the request; raises :class:`Cut` when a fault cuts the answer short."""
    parts = urlsplit(url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(parts.path, "latin-1") or "/",
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "",
        "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":  # the body's own length, as the server frames it
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    started: list[Any] = []

    def start_response(status: str, fields_: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, fields_]
        return _no_write

    chunks = app(environ, start_response)
    parts_sent: list[bytes] = []
    try:
        for chunk in chunks:
            parts_sent.append(chunk)
    except ConnectionAbortedError:
        head = _answer(started, fields, b"".join(parts_sent)) if parts_sent else None
        raise Cut(head) from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return _answer(started, fields, b"" if method.upper() == "HEAD" else b"".join(parts_sent))


def _answer(started: list[Any], fields: Fields, body: bytes) -> Answer:
    status, headers = started
    code, _, reason = status.partition(" ")
    return Answer(int(code), reason, [*fields(), *headers], body)


def _no_write(data: bytes) -> None:
    raise RuntimeError("pytest-logscale's app returns its answer; it never calls write()")
