"""``httpx`` in process: its transports answer a routed address from the app.

``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``
are patched (what ``respx`` patches too), so clients with their own pools,
limits and event hooks work unchanged. Failures are the exceptions ``httpx``
raises for the same thing on the network: a stopped fake is a ``ConnectError``,
a dropped connection a ``RemoteProtocolError``, a truncated body a
``RemoteProtocolError`` when the body is read, a delay past the timeout a
``ReadTimeout``. The async transport runs the app on a worker thread (anyio's),
so a delayed answer never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .routes import Route
from .wsgi import Answer, Cut, TimedOut, Unreachable

__all__ = ["patches"]

_DROPPED = "Server disconnected without sending a response."


def patches(find: Callable[[str], Route | None]) -> tuple[Callable[[], None], Callable[[], None]]:
    """What patches ``httpx`` and what undoes it (made once, used for every route)."""
    import anyio.to_thread
    import httpx

    sync_class, async_class = httpx.HTTPTransport, httpx.AsyncHTTPTransport
    sync_original = sync_class.handle_request
    async_original = async_class.handle_async_request

    class CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
        """The part of a body a fault let through, then the error a closed socket gives."""

        def __init__(self, sent: bytes, expected: str) -> None:
            self._sent, self._expected = sent, expected

        def _error(self) -> httpx.RemoteProtocolError:
            return httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                f"(received {len(self._sent)} bytes, expected {self._expected})"
            )

        def __iter__(self) -> Iterator[bytes]:
            yield self._sent
            raise self._error()

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self._sent
            raise self._error()

    def respond(request: Any, route: Route, body: bytes) -> Any:
        try:
            answer = route.answer(
                request.method,
                str(request.url),
                [(name, value) for name, value in request.headers.multi_items()],
                body,
                _read_timeout(request),
            )
        except Unreachable as error:
            raise httpx.ConnectError(str(error), request=request) from None
        except TimedOut as error:
            raise httpx.ReadTimeout(str(error), request=request) from None
        except Cut as cut:
            if cut.head is None:
                raise httpx.RemoteProtocolError(_DROPPED, request=request) from None
            return _response(httpx, cut.head, request, CutStream(cut.head.body, _length(cut.head)))
        return _response(httpx, answer, request, httpx.ByteStream(answer.body))

    def handle_request(self: Any, request: Any) -> Any:
        route = find(str(request.url))
        if route is None:
            return sync_original(self, request)
        return respond(request, route, request.read())

    async def handle_async_request(self: Any, request: Any) -> Any:
        route = find(str(request.url))
        if route is None:
            return await async_original(self, request)
        body = await request.aread()
        return await anyio.to_thread.run_sync(respond, request, route, body)

    def install() -> None:
        nonlocal sync_original, async_original  # whatever is there now is undone to
        sync_original, async_original = sync_class.handle_request, async_class.handle_async_request
        setattr(sync_class, "handle_request", handle_request)  # noqa: B010 - no method-assign
        setattr(async_class, "handle_async_request", handle_async_request)  # noqa: B010

    def undo() -> None:
        setattr(sync_class, "handle_request", sync_original)  # noqa: B010
        setattr(async_class, "handle_async_request", async_original)  # noqa: B010

    return install, undo


def _response(httpx: Any, answer: Answer, request: Any, stream: Any) -> Any:
    return httpx.Response(
        answer.status,
        headers=answer.headers,
        stream=stream,
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode("ascii")},
    )


def _length(answer: Answer) -> str:
    return next((v for k, v in answer.headers if k.lower() == "content-length"), "more")


def _read_timeout(request: Any) -> float | None:
    read = request.extensions.get("timeout", {}).get("read")
    return float(read) if isinstance(read, (int, float)) else None
