"""Which addresses are answered in process, and the client patches that make it so.

A :class:`Route` ties one fake's address (scheme, host, port) to its WSGI app.
While at least one route is open, ``requests`` and ``httpx`` (those of the two
that can be imported) are patched at their transport's send method, the place
``responses`` and ``respx`` patch too; the patches are removed when the last
route closes. A request to an address with no route goes out over the network,
untouched.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from .wsgi import Answer, Fields, TimedOut, Unreachable, WSGIApp, call

__all__ = ["Route", "find", "routed"]

Address = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Route:
    """A fake answered in process.

    ``url`` is its base URL, ``app`` the WSGI app its server runs, ``fields``
    the header fields that server adds to every answer, ``serving`` whether it
    is started, and ``may_wait`` whether an answer might be delayed (a fault is
    armed): only then does a request with a timeout run on a thread of its own,
    so the client's timeout fires as it would over a socket.
    """

    url: str
    app: WSGIApp
    fields: Fields
    serving: Callable[[], bool]
    may_wait: Callable[[], bool]

    @property
    def address(self) -> Address:
        return _address(self.url)

    def answer(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        timeout: float | None,
    ) -> Answer:
        """The app's answer to one request.

        Raises :class:`Unreachable` when the fake is stopped (a refused
        connection), :class:`TimedOut` when an answer takes longer than
        ``timeout`` seconds, :class:`Cut` when a fault cuts it short.
        """
        if not self.serving():
            raise Unreachable(f"pytest-logscale: the fake at {self.url} is not serving")
        fields = list(headers)
        if timeout is None or not self.may_wait():
            return call(self.app, self.fields, method, url, fields, body)
        return _within(timeout, lambda: call(self.app, self.fields, method, url, fields, body))


_lock = threading.Lock()
#: Each address's routes, newest last. A tuple replaced whole under the lock, so
#: :func:`find` reads one without it and always sees a whole one.
_routes: dict[Address, tuple[Route, ...]] = {}
#: Each installed client's (install, undo) pair, made the first time a route opens.
_clients: list[tuple[Callable[[], None], Callable[[], None]]] = []


def _address(url: str) -> Address:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def find(url: str) -> Route | None:
    """The route answering ``url`` in process, if any (the newest for its address)."""
    if not _routes:  # the common case: nothing routed, nothing to parse
        return None
    stack = _routes.get(_address(url), ())
    return stack[-1] if stack else None


@contextmanager
def routed(route: Route) -> Iterator[Route]:
    """Answer ``route``'s address in process while the block runs (nestable, thread-safe)."""
    with _lock:
        if not _routes:
            _install()
        _routes[route.address] = (*_routes.get(route.address, ()), route)
    try:
        yield route
    finally:
        with _lock:
            stack = list(_routes[route.address])
            del stack[max(i for i, kept in enumerate(stack) if kept is route)]  # this block's
            if stack:
                _routes[route.address] = tuple(stack)
            else:
                del _routes[route.address]
            if not _routes:
                _uninstall()


def _within(timeout: float, work: Callable[[], Answer]) -> Answer:
    """``work()`` on a thread of its own, given up on after ``timeout`` seconds."""
    outcome: list[Answer | BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)

    worker = threading.Thread(target=run, name="pytest-logscale-in-process", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:  # the app goes on, as a server does after its client gave up
        raise TimedOut(f"pytest-logscale: no answer within {timeout:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _install() -> None:
    if not _clients:
        from . import httpx_client, requests_client  # each imports its client only if it exists

        for name, make in (("requests", requests_client.patches), ("httpx", httpx_client.patches)):
            if importlib.util.find_spec(name) is not None:
                _clients.append(make(find))
    for install, _undo in _clients:
        install()


def _uninstall() -> None:
    for _install_it, undo in reversed(_clients):
        undo()
