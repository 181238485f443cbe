"""Serve a WSGI app from a background thread on a real port, and stop in milliseconds.

Werkzeug's ``serve_forever`` notices a stop only at its next 0.5 s poll; this
server waits on the listening socket and a wake-up socket together, so
:meth:`ThreadedServer.stop` returns as soon as the loop and the request
threads have finished. Nothing is left behind: no thread, no socket.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import logging
import queue
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, final
from urllib.parse import unquote, urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from ..domain.checks import whole_number
from .framing import ChunkedBody, ClientGone, FramingError, RequestHead, body_length, read_head

__all__ = ["ServerError", "ServerOptions", "ThreadedServer"]

log = logging.getLogger("pytest_logscale.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


#: The highest value each :class:`ServerOptions` field takes (the lowest is 1).
SERVER_OPTION_BOUNDS: dict[str, int] = {
    "max_connections": 65_536,
    "max_head_bytes": 16 << 20,  # 16 MiB
    "max_headers": 10_000,
    "idle_timeout": 86_400,  # a day
}


class ServerError(OSError):
    """The server could not start (address in use, bad host, ...)."""


@final
@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How the HTTP server treats connections (docs/behaviour.md, Hardening).

    ``max_connections``: connections served at once, each by its own thread; one
    more is answered 503 (JSON) and closed. ``max_head_bytes``: the request line,
    and the header fields together, may each be this long (414, 431 past it).
    ``max_headers``: header fields a request may have (431 past it).
    ``idle_timeout``: seconds a connection may stay silent, between requests or
    inside one, before it is closed. Each is a whole number from 1 to its entry
    in :data:`SERVER_OPTION_BOUNDS` (beyond those, the socket and reader calls overflow).
    """

    max_connections: int = 128
    max_head_bytes: int = 1 << 16
    max_headers: int = 100
    idle_timeout: int = 60

    def __post_init__(self) -> None:
        for name, high in SERVER_OPTION_BOUNDS.items():
            whole_number(getattr(self, name), f"ServerOptions.{name}", 1, high)


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with a strict HTTP/1.1 parser (framing.py) and answers in one write.

    Werkzeug closes every connection (and then waits up to 10 ms draining it), so
    a keep-alive client pays a new connection and a thread per request. Here an
    answer goes out with the app's ``Content-Length`` in one write, and the
    connection stays open unless the client asked to close it or the request's
    framing left any doubt. Every refusal is an HTTP/1.1 status line with a
    JSON body, then the connection is closed.
    """

    protocol_version = "HTTP/1.1"
    server: _WSGIServer
    _server_name: str
    _head: RequestHead  # the request being answered

    def setup(self) -> None:
        super().setup()
        self._server_name = self.server.server_name
        self.connection.settimeout(self.server.options.idle_timeout)  # a silent client: dropped
        with contextlib.suppress(OSError):  # answers go out in one write: no need to wait
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        """Read one request head strictly, then answer it (or refuse it and close)."""
        options = self.server.options
        self.request_version, self.command, self.requestline = "HTTP/1.1", "", ""
        try:
            head = read_head(self.rfile.readline, options.max_head_bytes, options.max_headers)
            self._adopt(head)
            length = body_length(head)
        except ClientGone:
            self.close_connection = True
            return
        except FramingError as error:
            self._refuse(error.status, error.message)
            return
        self._answer(head, length)

    def _adopt(self, head: RequestHead) -> None:
        """Take the head: the request line as the standard library's parser would have set
        it, and whether the connection stays open after the answer."""
        self._head = head
        self.command, self.path = head.method, head.target
        self.request_version = "HTTP/{}.{}".format(*head.version)
        self.requestline = f"{head.method} {head.target} {self.request_version}"
        connection = head.tokens("Connection")  # "TE, close" closes too
        if head.version >= (1, 1):
            self.close_connection = "close" in connection
        else:
            self.close_connection = "keep-alive" not in connection

    def make_environ(self) -> dict[str, Any]:
        """The environ Werkzeug's handler makes, key for key, built from the checked head.

        Werkzeug's own reads the fields back through an ``email.message`` the server
        would have to fill for it alone; the values are the same
        (tests/test_server_environ.py holds them to Werkzeug's). A chunked body is
        :meth:`_answer`'s to frame.
        """
        head, server = self._head, self.server
        url = urlsplit(head.target)
        # a path starting with // has no scheme but is split as if its first segment were a host
        path = f"/{url.netloc}{url.path}" if not url.scheme and url.netloc else url.path
        target = _wsgi_text(head.target)
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": self.rfile,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": server.multithread,
            "wsgi.multiprocess": server.multiprocess,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,
            "SERVER_SOFTWARE": server._server_version,
            "REQUEST_METHOD": head.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_text(unquote(path)),
            "QUERY_STRING": _wsgi_text(url.query),
            "REQUEST_URI": target,
            "RAW_URI": target,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "SERVER_NAME": server.server_address[0],
            "SERVER_PORT": str(server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
        }
        for name, value in head.fields:
            if "_" in name:  # X_Y would pass for X-Y: Werkzeug drops such fields
                continue
            key = name.upper().replace("-", "_")
            if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
                key = "HTTP_" + key
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        if url.scheme and url.netloc:  # an absolute target names the host (RFC 9112, 3.2.2)
            environ["HTTP_HOST"] = url.netloc
        return environ

    def _answer(self, head: RequestHead, length: int | None) -> None:
        """Run the app on the request; ``length`` None means a chunked body.

        When the app's body iterable raises ConnectionAbortedError (an injected
        fault), what it yielded until then is sent (perhaps nothing) and the
        connection is closed.
        """
        self.environ = environ = self.make_environ()
        stream: Any = self.rfile
        if "expect" in head.named and "100-continue" in head.tokens("Expect"):
            stream = _Continue(self.rfile, self.wfile)
        body: _CountingInput | ChunkedBody
        if length is None:
            options = self.server.options
            body = ChunkedBody(stream, options.max_head_bytes, options.max_headers)
            environ["wsgi.input_terminated"] = True
            environ.pop("CONTENT_LENGTH", None)
        else:
            body = _CountingInput(stream, length)
        environ["wsgi.input"] = body
        answer: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer[:] = [status, headers]
            return _no_write

        parts: list[bytes] = []
        try:
            chunks = self.server.app(environ, start_response)
            try:
                for chunk in chunks:
                    parts.append(chunk)
            except ConnectionAbortedError:  # the app cut its answer short: send what it gave
                self.close_connection = True
                if not parts:
                    return  # no answer at all: the connection just closes
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            payload = b"".join(parts)
            status, headers = answer
        except Exception:
            log.exception("pytest-logscale: the app failed on %s %s", self.command, self.path)
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            payload, self.close_connection = b"Internal Server Error", True
        code, _, reason = status.partition(" ")
        lines = [f"{self.protocol_version} {code} {reason}\r\n"]
        lines.append(f"Server: {self.version_string()}\r\nDate: {self.date_time_string()}\r\n")
        has_length = False
        for key, value in headers:
            has_length = has_length or key.lower() == "content-length"
            lines.append(f"{key}: {value}\r\n")
        if not has_length:
            lines.append(f"Content-Length: {len(payload)}\r\n")
        if not _finish(body):
            self.close_connection = True  # a large unread or broken body: the framing is lost
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        top = "".join(lines).encode("latin-1")
        self.wfile.write(top + payload if environ["REQUEST_METHOD"] != "HEAD" else top)

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with a JSON error and close: nothing after this request can be read.

        Like other requests the HTTP layer refuses, it never reaches the app or the journal.
        """
        self.close_connection = True
        self.wfile.write(_refusal(status, message, self.version_string(), self.date_time_string()))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Whatever the standard library still refuses is answered the same way: JSON, closed."""
        self._refuse(code, message or _phrase(code))

    def version_string(self) -> str:
        """The ``Server`` header's value, worked out once per connection."""
        return self._server_name

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header's value: the current time is formatted once a second."""
        return _clock_date() if timestamp is None else super().date_time_string(timestamp)

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True  # also when the app aborted its answer (Werkzeug's path)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("pytest-logscale: " + format, *args)


_dates: list[tuple[int, str]] = [(-1, "")]  # the last second formatted, and its text


def _wsgi_text(text: str) -> str:
    """A string as WSGI carries it: its UTF-8 bytes, one character each (as Werkzeug does)."""
    return text.encode().decode("latin-1")


def _clock_date() -> str:
    """The current time as an HTTP date (IMF-fixdate), formatted at most once a second."""
    second = int(time.time())
    last = _dates[-1]  # one tuple, replaced whole: a thread reads either the old or the new one
    if last[0] != second:
        last = (second, email.utils.formatdate(second, usegmt=True))
        _dates[-1] = last
    return last[1]


_PHRASES = {413: "Content Too Large", 414: "URI Too Long"}  # RFC 9110's, whatever the Python


def _phrase(status: int) -> str:
    try:
        return _PHRASES.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _refusal(status: int, message: str, server: str, date: str) -> bytes:
    """A whole HTTP/1.1 answer refusing a request: status line, JSON error, Connection: close."""
    payload = json.dumps({"errors": [{"message": message}]}).encode()
    head = (
        f"HTTP/1.1 {status} {_phrase(status)}\r\nServer: {server}\r\nDate: {date}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + payload


class _Continue:
    """The request stream, saying ``100 Continue`` before the app first reads the body.

    So a body the app refuses unread (a 413 on its declared length) is never sent.
    """

    def __init__(self, stream: Any, out: Any) -> None:
        self._stream, self._out = stream, out

    def _go_on(self) -> None:
        if self._out is not None:
            self._out.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._out = None

    def read(self, size: int = -1) -> bytes:
        self._go_on()
        data: bytes = self._stream.read(size)
        return data

    def readline(self, size: int = -1) -> bytes:
        self._go_on()
        line: bytes = self._stream.readline(size)
        return line


def _finish(body: _CountingInput | ChunkedBody) -> bool:
    """Read what the app left of the body; False when that is too much, or broken."""
    if isinstance(body, _CountingInput):
        return body.finish()
    try:
        body.read(_DRAIN_LIMIT)
    except (OSError, ValueError):
        return False
    return body.done


def _no_write(data: bytes) -> None:
    raise RuntimeError("pytest-logscale's server takes the body as the app's return value")


_DRAIN_LIMIT = 1 << 20  # of a body the app left unread: read through to keep the connection


class _CountingInput:
    """A request body stream that cannot read past the declared length."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.left = length

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, reader: Callable[[int], bytes], size: int | None) -> bytes:
        """At most ``size`` bytes (all that is left when None or negative) from ``reader``."""
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = reader(size) if size else b""
        self.left -= len(data)
        return data

    def finish(self) -> bool:
        """Read what the app left unread; False when that is too much to bother."""
        if self.left > _DRAIN_LIMIT:
            return False
        while self.left:
            if not self.read(self.left):
                return False
        return True


# poll() needs no descriptor of its own, which matters when there are none left (epoll does)
_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.DefaultSelector
)
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LINGER = 0.2  # seconds to read what a turned-away client still sends, so it sees the 503


def _turn_away(connection: socket.socket, cap: int) -> None:
    """Answer 503 and close a connection over the cap, without a thread for it.

    The request is read and dropped first (for at most ``_LINGER`` seconds), so
    closing does not reset the connection before the client reads the answer.
    """
    answer = _refusal(
        503,
        f"The server is serving its limit of {cap} connections: retry later "
        "(the limit is serve --max-connections, or ServerOptions.max_connections).",
        "pytest-logscale",
        email.utils.formatdate(usegmt=True),
    )
    try:
        connection.settimeout(_LINGER)
        connection.sendall(answer)
        connection.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + _LINGER
        while time.monotonic() < deadline and connection.recv(65536):
            pass
    except OSError:
        pass
    finally:
        connection.close()


class _WSGIServer(ThreadedWSGIServer):
    """Threads take turns: one leads (waits for a connection), the others serve or wait.

    The leader that accepts a connection hands the lead to a waiting thread (or a
    new one) and serves that connection itself, so a request is answered by the
    thread that accepted it: no hand-over between threads on the way, which a
    test suite opening a connection per test would pay every time. Threads are
    kept for the next connection, at most ``_MAX_IDLE`` of them waiting.
    """

    _MAX_IDLE = 8

    def __init__(self, host: str, port: int, app: WSGIApp, fd: int, options: ServerOptions) -> None:
        self._wake_read, self._wake_write = socket.socketpair()  # before: __init__ may close
        super().__init__(host, port, app, handler=_Handler, fd=fd)
        self.options = options
        #: The ``Server`` field of every answer (Werkzeug's, with the Python version).
        self.server_name = f"{self._server_version} {WSGIRequestHandler.sys_version}"
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._waiting = 0  # threads waiting for the lead
        self._lead: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: lead; False: end
        self._stopping = False
        self._backoff = 0.0  # seconds the leader last waited for descriptors to free up
        # the leader's (one thread at a time): made once, not for every connection
        self._selector = _Selector()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._selector.register(self.socket, selectors.EVENT_READ)

    def serve_until_woken(self) -> None:
        """Lead first, then take turns with the other threads until :meth:`wake`."""
        with self._lock:
            self._workers.add(threading.current_thread())
        try:
            while True:
                accepted = self._accept()
                if accepted is None:
                    return
                passed = self._pass_lead()
                self._serve_connection(*accepted)
                if passed and not self._wait_for_lead():
                    return
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _accept(self) -> tuple[socket.socket, Any] | None:
        """The next connection to serve, or None once woken to stop.

        Out of descriptors (EMFILE, ENFILE), the listening socket stays ready
        with nothing to take: the leader then waits (woken only by a stop) up
        to half a second, doubling from 10 ms, before it tries again, instead
        of spinning. Connections over ``max_connections`` are turned away.
        """
        selector = self._selector  # the leader's alone: one at a time
        listening = True
        while True:
            ready = selector.select(None if listening else self._backoff)
            if any(key.fileobj is self._wake_read for key, _ in ready):
                return None
            if not listening:  # waited out: listen again
                selector.register(self.socket, selectors.EVENT_READ)
                listening = True
                continue
            try:
                request, client_address = self.get_request()
            except OSError as error:
                if error.errno in _OUT_OF_DESCRIPTORS:
                    if not self._backoff:
                        log.warning("pytest-logscale: out of descriptors: %s", error.strerror)
                    selector.unregister(self.socket)
                    listening = False
                    self._backoff = min(max(self._backoff * 2, 0.01), 0.5)
                continue  # or gone before it was accepted
            self._backoff = 0.0
            with self._lock:
                over = len(self._connections) >= self.options.max_connections
                if not self._stopping and not over:
                    self._connections.add(request)
                    return request, client_address
            if not over:
                self.shutdown_request(request)
                return None
            _turn_away(request, self.options.max_connections)

    def _pass_lead(self) -> bool:
        """Hand the lead on; False when no thread could take it (this one keeps it)."""
        with self._lock:
            if self._stopping:
                return True
            if self._waiting:
                self._waiting -= 1
                self._lead.put(True)
                return True
            thread = threading.Thread(
                target=self.serve_until_woken, name="pytest-logscale-request", daemon=True
            )
            self._workers.add(thread)  # started under the lock: a stop joins only started ones
            try:
                thread.start()
            except RuntimeError:  # no more threads: lead again after this connection
                self._workers.discard(thread)
                return False
            return True

    def _wait_for_lead(self) -> bool:
        with self._lock:
            if self._stopping or self._waiting >= self._MAX_IDLE:
                return False
            self._waiting += 1
        return self._lead.get()

    def wake(self) -> None:
        self._wake_write.send(b"!")

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            if self.verify_request(request, client_address):
                self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._lock:  # the slot is free before the client can see the close
                self._connections.discard(request)
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log what ended a connection: a client that went away or fell silent at DEBUG,
        anything else (a bug, a limit the platform cannot take) at ERROR."""
        expected = isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError))
        level = logging.DEBUG if expected else logging.ERROR
        log.log(level, "pytest-logscale: connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        """After :meth:`wake`: let answers being written finish, end idle connections and
        every thread."""
        with self._lock:
            self._stopping = True
            open_now, threads = list(self._connections), list(self._workers)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)
        for _thread in threads:
            self._lead.put(False)  # waiting threads end at once; busy ones after their answer
        others = [t for t in threads if t is not threading.current_thread()]
        deadline = time.monotonic() + timeout
        for thread in others:  # one deadline for all, not a timeout each
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = list(self._connections)
        for connection in stuck:  # an answer its client does not read: give up on it
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in others:
            thread.join(1.0)

    def release(self) -> None:
        """Close the listening socket and the wake-up pair."""
        self.server_close()
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        # The family werkzeug will assume for this host when it takes over the socket.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ServerError(errno.EINVAL, f"cannot resolve host {host!r}: {error}") from None
    family, kind, proto, _name, address = infos[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        reason = "is in use" if error.errno == errno.EADDRINUSE else f"failed: {error.strerror}"
        raise ServerError(
            error.errno, f"cannot listen on {host}:{port}: the address {reason}"
        ) from None
    return listener


class ThreadedServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) from a background thread.

    A context manager: ``with ThreadedServer(app) as server: ...`` starts and stops it.
    Each connection is served by its own thread, at most ``options.max_connections``.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        options: ServerOptions | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.options = options or ServerOptions()
        self._server: _WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._server_name = ""  # the Server field, known once started (kept after a stop)

    @property
    def is_running(self) -> bool:
        """Whether the server is accepting requests."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port bound (the real one when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """``http://host:port``, with IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def answer_fields(self) -> list[tuple[str, str]]:
        """The fields this server adds to every answer: ``Server`` and ``Date`` (now)."""
        return [("Server", self._server_name), ("Date", _clock_date())]

    def start(self) -> ThreadedServer:
        """Bind and start serving; raises :class:`ServerError` when the address cannot be had."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        listener = _listen(self.host, self.requested_port)
        try:
            server = _WSGIServer(
                self.host, listener.getsockname()[1], self.app, listener.fileno(), self.options
            )
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        thread = threading.Thread(
            target=server.serve_until_woken, name=f"pytest-logscale-{server.port}", daemon=True
        )
        self._server, self._thread, self._server_name = server, thread, server.server_name
        thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, finish the requests in flight, and release the port. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.wake()
        server.close_connections(timeout)  # joins every thread of the server, this one too
        thread.join(timeout)
        server.release()
        self._server = self._thread = None

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
