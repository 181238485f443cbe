"""Serve a WSGI app from a background thread on a real port, and stop in milliseconds.

Werkzeug's ``serve_forever`` notices a stop only at its next 0.5 s poll; this
server waits on the listening socket and a wake-up socket together, so
:meth:`ThreadedServer.stop` returns as soon as the loop and the request
threads have finished. Nothing is left behind: no thread, no socket.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["ServerError", "ThreadedServer"]

log = logging.getLogger("pytest_logscale.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ServerError(OSError):
    """The server could not start (address in use, bad host, ...)."""


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, speaking HTTP/1.1 without touching the class-wide default, quietly."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # a client that connects and says nothing is dropped after a minute

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # answers go out in one write: no need to wait
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        """Answer one request, keeping the connection open for the next one when it is safe.

        Werkzeug closes every connection (and then waits up to 10 ms draining it), so
        a keep-alive client pays a new connection and a thread per request. Here, a
        request whose body has a declared length (or no body) gets an answer with the
        app's ``Content-Length`` in one write, and the connection stays open unless
        the client asked to close it. Anything else goes Werkzeug's way.

        When the app's body iterable raises ConnectionAbortedError (an injected
        fault), what it yielded until then is sent (perhaps nothing) and the
        connection is closed; Werkzeug's way does the same.
        """
        codings = _tokens(self.headers.get_all("Transfer-Encoding"))
        if codings and codings[-1] != "chunked":
            self._refuse(f"Transfer-Encoding {', '.join(codings)} is not supported: use chunked.")
            return
        if len(set(_tokens(self.headers.get_all("Content-Length")))) > 1:
            self._refuse("The request has several different Content-Length headers.")
            return
        if codings:
            super().run_wsgi()
            return
        if "close" in _tokens(self.headers.get_all("Connection")):
            self.close_connection = True  # also "TE, close": the standard library wants it alone
        try:
            declared = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            declared = -1
        if declared < 0:
            super().run_wsgi()
            return
        self.environ = environ = self.make_environ()
        body = _CountingInput(self.rfile, declared)
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
        if not body.finish():
            self.close_connection = True  # a large unread body: not worth reading through
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        self.wfile.write(head + payload if environ["REQUEST_METHOD"] != "HEAD" else head)

    def _refuse(self, message: str) -> None:
        """Answer 400 and close: the body's framing is unclear, so nothing after it can be read.

        Like other requests the HTTP layer refuses, it never reaches the app or the journal.
        """
        payload = json.dumps({"errors": [{"message": message}]}).encode()
        self.close_connection = True
        head = (
            f"{self.protocol_version} 400 Bad Request\r\n"
            f"Server: {self.version_string()}\r\nDate: {self.date_time_string()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + payload)

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        self.close_connection = True  # also when the app aborted its answer (Werkzeug's path)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("pytest-logscale: " + format, *args)


def _tokens(values: list[str] | None) -> list[str]:
    """The comma-separated tokens of a header given any number of times, lower case."""
    return [t.strip().lower() for t in ",".join(values or ()).split(",") if t.strip()]


def _no_write(data: bytes) -> None:
    raise RuntimeError("pytest-logscale's server takes the body as the app's return value")


class _CountingInput:
    """A request body stream that cannot read past the declared length."""

    _DRAIN_LIMIT = 1 << 20

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
        if self.left > self._DRAIN_LIMIT:
            return False
        while self.left:
            if not self.read(self.left):
                return False
        return True


class _WSGIServer(ThreadedWSGIServer):
    """Threads take turns: one leads (waits for a connection), the others serve or wait.

    The leader that accepts a connection hands the lead to a waiting thread (or a
    new one) and serves that connection itself, so a request is answered by the
    thread that accepted it: no hand-over between threads on the way, which a
    test suite opening a connection per test would pay every time. Threads are
    kept for the next connection, at most ``_MAX_IDLE`` of them waiting.
    """

    _MAX_IDLE = 8

    def __init__(self, host: str, port: int, app: WSGIApp, fd: int) -> None:
        self._wake_read, self._wake_write = socket.socketpair()  # before: __init__ may close
        super().__init__(host, port, app, handler=_Handler, fd=fd)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._waiting = 0  # threads waiting for the lead
        self._lead: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: lead; False: end
        self._stopping = False

    def serve_until_woken(self) -> None:
        """Lead first, then take turns with the other threads until :meth:`wake`."""
        with self._lock:
            self._workers.add(threading.current_thread())
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while True:
                    accepted = self._accept(selector)
                    if accepted is None:
                        return
                    self._pass_lead()
                    self._serve_connection(*accepted)
                    if not self._wait_for_lead():
                        return
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _accept(self, selector: selectors.BaseSelector) -> tuple[socket.socket, Any] | None:
        """The next connection, or None once woken to stop."""
        while True:
            ready = selector.select()
            if any(key.fileobj is self._wake_read for key, _ in ready):
                return None
            try:
                request, client_address = self.get_request()
            except OSError:
                continue  # gone before it was accepted
            with self._lock:
                if not self._stopping:
                    self._connections.add(request)
                    return request, client_address
            self.shutdown_request(request)
            return None

    def _pass_lead(self) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._waiting:
                self._waiting -= 1
                self._lead.put(True)
                return
            thread = threading.Thread(
                target=self.serve_until_woken, name="pytest-logscale-request", daemon=True
            )
            self._workers.add(thread)  # started under the lock: a stop joins only started ones
            thread.start()

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
            self.shutdown_request(request)
            with self._lock:
                self._connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("pytest-logscale: connection from %s failed", client_address, exc_info=True)

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
    Each request runs in its own thread.
    """

    def __init__(self, app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self._server: _WSGIServer | None = None
        self._thread: threading.Thread | None = None

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

    def start(self) -> ThreadedServer:
        """Bind and start serving; raises :class:`ServerError` when the address cannot be had."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        listener = _listen(self.host, self.requested_port)
        try:
            server = _WSGIServer(self.host, listener.getsockname()[1], self.app, listener.fileno())
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        thread = threading.Thread(
            target=server.serve_until_woken, name=f"pytest-logscale-{server.port}", daemon=True
        )
        self._server, self._thread = server, thread
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
