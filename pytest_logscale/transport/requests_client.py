"""``requests`` in process: ``HTTPAdapter.send`` answers a routed address from the app.

Everything else ``requests`` does (sessions, auth, cookies, redirects, hooks,
``Response`` and its errors) runs as over a socket: the answer is handed to
the adapter's own ``build_response`` as the ``urllib3`` response it would
have read. Failures are the exceptions ``requests`` raises for the same thing
on the network: a stopped fake is a ``ConnectionError``, a dropped connection
a ``ConnectionError``, a truncated body a ``ChunkedEncodingError`` when the
body is read, a delay past the timeout a ``ReadTimeout``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from .routes import Route
from .wsgi import Cut, TimedOut, Unreachable

__all__ = ["patches"]


def patches(find: Callable[[str], Route | None]) -> tuple[Callable[[], None], Callable[[], None]]:
    """What patches ``requests`` and what undoes it (made once, used for every route)."""
    import requests.adapters
    import urllib3
    from requests import exceptions
    from urllib3._collections import HTTPHeaderDict
    from urllib3.exceptions import ProtocolError

    adapter_class = requests.adapters.HTTPAdapter
    original = adapter_class.send

    def send(
        self: Any, request: Any, stream: bool = False, timeout: Any = None, **rest: Any
    ) -> Any:
        route = find(request.url)
        if route is None:
            return original(self, request, stream=stream, timeout=timeout, **rest)
        try:
            answer = route.answer(
                request.method,
                request.url,
                _headers(request),
                _body(request.body),
                _read_timeout(timeout),
            )
        except Unreachable as error:
            raise exceptions.ConnectionError(error, request=request) from None
        except TimedOut as error:
            raise exceptions.ReadTimeout(error, request=request) from None
        except Cut as cut:
            if cut.head is None:
                gone = RemoteDisconnected("Remote end closed connection without response")
                raise exceptions.ConnectionError(
                    ProtocolError("Connection aborted.", gone), request=request
                ) from None
            answer = cut.head  # read as far as it goes, then IncompleteRead, as on a socket
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.body),
            headers=HTTPHeaderDict(answer.headers),
            status=answer.status,
            reason=answer.reason,
            preload_content=False,
            decode_content=True,
            enforce_content_length=True,
            request_method=request.method,
        )
        response = self.build_response(request, raw)
        if not stream:
            response.content  # noqa: B018 - read now, as send() does without stream
        return response

    def install() -> None:
        nonlocal original  # whatever is there now (another library's patch too) is undone to
        original = adapter_class.send
        setattr(adapter_class, "send", send)  # noqa: B010 - mypy: no method-assign

    def undo() -> None:
        setattr(adapter_class, "send", original)  # noqa: B010

    return install, undo


def _headers(request: Any) -> list[tuple[str, str]]:
    fields = [(str(name), str(value)) for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in fields):
        fields.insert(0, ("Host", urlsplit(request.url).netloc))
    return fields


def _body(body: Any) -> bytes:
    """The body ``requests`` prepared, whatever its form (bytes, text, a file, chunks)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(part.encode("utf-8") if isinstance(part, str) else part for part in body)


def _read_timeout(timeout: Any) -> float | None:
    """The read timeout of what ``requests`` takes: a number, a (connect, read) pair, or none."""
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    read = getattr(timeout, "read_timeout", timeout)  # a urllib3 Timeout
    return float(read) if isinstance(read, (int, float)) else None
