"""Serve a WSGI app from a background thread on a real port, and stop in milliseconds.

Werkzeug's ``serve_forever`` notices a stop only at its next 0.5 s poll; this
server waits on the listening socket and a wake-up socket together, so
:meth:`ThreadedServer.stop` returns as soon as the loop and the request
threads have finished. Nothing is left behind: no thread, no socket.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading
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

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("pytest-logscale: " + format, *args)


class _WSGIServer(ThreadedWSGIServer):
    def __init__(self, host: str, port: int, app: WSGIApp, fd: int) -> None:
        self._wake_read, self._wake_write = socket.socketpair()  # before: __init__ may close
        super().__init__(host, port, app, handler=_Handler, fd=fd)
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()

    def serve_until_woken(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake_read for key, _ in ready):
                    return
                self._handle_request_noblock()  # type: ignore[attr-defined]

    def wake(self) -> None:
        self._wake_write.send(b"!")

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="pytest-logscale-request",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[request] = thread
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._connections_lock:
                self._connections.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("pytest-logscale: connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        """Let answers being written finish; wake handlers still waiting for a request."""
        with self._connections_lock:
            open_now = list(self._connections.items())
        for connection, _thread in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)
        for _connection, thread in open_now:
            thread.join(timeout)

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
        return self._thread is not None and self._thread.is_alive()

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
        thread.join(timeout)
        server.close_connections(timeout)
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
