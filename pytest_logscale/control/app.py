"""The control API as a WSGI app in front of the GraphQL app (docs/control-api.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, final

from .endpoints import ENDPOINTS, PREFIX, endpoints
from .wire import Refusal, Request, encode, query_parameters, read_json

if TYPE_CHECKING:
    from ..fake import FakeLogScale

__all__ = ["ControlApp"]

log = logging.getLogger("pytest_logscale")

StartResponse = Callable[..., Any]
Header = tuple[str, str]


@final
class ControlApp:
    """A WSGI app answering ``/_fake/...`` from ``fake``'s methods and passing the rest to ``app``.

    Bodies are bounded by the GraphQL app's ``max_body_bytes``. Nothing here is
    journalled, rate limited or hit by a fault.
    """

    def __init__(self, fake: FakeLogScale, app: Callable[..., Iterable[bytes]]) -> None:
        self.fake = fake
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = "/" + environ.get("PATH_INFO", "").lstrip("/")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)
        status, payload, headers = self._respond(environ, path[len(PREFIX) :].rstrip("/"))
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            *headers,
        ]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload]

    def _respond(self, environ: dict[str, Any], path: str) -> tuple[int, bytes, list[Header]]:
        """Status, JSON payload and extra headers of a control request; never raises."""
        try:
            return 200, encode(self._answer(environ, path)), []
        except Refusal as refusal:
            body = {"error": refusal.message, **refusal.extra}
            if refusal.field is not None:
                body["field"] = refusal.field
            return refusal.status, encode(body), refusal.headers
        except Exception:  # a bug of ours: say so in JSON, keep the server thread alive
            log.exception("pytest-logscale's control API failed on %s%s", PREFIX, path)
            body = {"error": "Internal error in pytest-logscale's control API."}
            return 500, encode(body), []

    def _answer(self, environ: dict[str, Any], path: str) -> Any:
        endpoint = ENDPOINTS.get(path)
        if endpoint is None:
            refusal = Refusal(404, f"Nothing at {PREFIX}{path or '/'}: see 'endpoints'.")
            refusal.extra["endpoints"] = endpoints()
            raise refusal
        method = environ.get("REQUEST_METHOD", "GET")
        handler = endpoint.handlers.get(method)
        if handler is None:
            allow = ", ".join(endpoint.handlers)
            refusal = Refusal(405, f"{method} is not allowed on {PREFIX}{path}; use {allow}.")
            refusal.headers.append(("Allow", allow))
            raise refusal
        limit = self.fake.app.options.max_body_bytes
        request = Request(
            query_parameters(environ, endpoint.parameters), lambda: read_json(environ, limit)
        )
        return handler(self.fake, request)
