"""A real HTTP proxy in front of the fake that breaks one rule, to prove the contract suite notices.

It forwards ``POST /graphql`` to a fake LogScale, after letting a
:class:`Distortion` rewrite the request, and lets it rewrite the answer.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

Request = dict[str, Any]
Answer = tuple[int, Any]


def _unchanged_request(request: Request) -> Request:
    return request


def _unchanged_answer(request: Request, answer: Answer) -> Answer:
    return answer


@dataclass(frozen=True)
class Distortion:
    """One way of being wrong: a change to requests on the way in and to answers on the way out.

    ``answer_alone``, when given, answers without asking the fake at all.
    """

    request: Callable[[Request], Request] = _unchanged_request
    answer: Callable[[Request, Answer], Answer] = _unchanged_answer
    answer_alone: Callable[[Request], Answer | None] = lambda request: None


class DistortingProxy:
    """A proxy on 127.0.0.1 (a free port) in front of the fake at ``upstream``."""

    def __init__(self, upstream: str, distortion: Distortion) -> None:
        address = urlsplit(upstream)
        host, port = address.hostname or "127.0.0.1", address.port or 80

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = distortion.request(json.loads(raw))
                answer = distortion.answer_alone(request)
                if answer is None:
                    answer = distortion.answer(request, self._forward(request))
                status, body = answer
                text = isinstance(body, str)  # LogScale's 401 is plain text
                data = body.encode() if text else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _forward(self, request: Request) -> Answer:
                headers = {"Content-Type": "application/json"}
                if "Authorization" in self.headers:
                    headers["Authorization"] = self.headers["Authorization"]
                connection = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    connection.request("POST", "/graphql", json.dumps(request), headers)
                    response = connection.getresponse()
                    raw = response.read()
                    if response.getheader("Content-Type", "").startswith("text/plain"):
                        return response.status, raw.decode()
                    return response.status, json.loads(raw)
                finally:
                    connection.close()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test's own output is what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> DistortingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# -- the distortions --------------------------------------------------------------------------


def _variables(request: Request) -> dict[str, Any]:
    variables = request.get("variables")
    return variables if isinstance(variables, dict) else {}


def _without(name: str) -> Callable[[Request], Request]:
    def rewrite(request: Request) -> Request:
        return {**request, "variables": {k: v for k, v in _variables(request).items() if k != name}}

    return rewrite


def _user_level_as_organization(request: Request) -> Request:
    variables = _variables(request)
    if variables.get("level") == "User":
        return {**request, "variables": {**variables, "level": "Organization"}}
    return request


def _sessions_page(answer: Answer, change: Callable[[list[Any]], list[Any]]) -> Answer:
    status, body = answer
    page = (body.get("data") or {}).get("sessions") if isinstance(body, dict) else None
    if isinstance(page, dict) and isinstance(page.get("results"), list):
        page["results"] = change(page["results"])
    return status, body


def _all_current(results: list[Any]) -> list[Any]:
    return [{**result, "isCurrentSession": True} for result in results]


def _errors_without_path(request: Request, answer: Answer) -> Answer:
    status, body = answer
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        error.pop("path", None)
    return status, body


def _401_as_200(request: Request, answer: Answer) -> Answer:
    return (200, {"data": None}) if answer[0] == 401 else answer


def _401_as_json(request: Request, answer: Answer) -> Answer:
    return (401, {"errors": [{"message": answer[1]}]}) if answer[0] == 401 else answer


def _sessions_default(argument: str, value: str) -> Callable[[Request], Request]:
    """Write ``argument: value`` into every sessions() call that leaves it out."""

    def rewrite(request: Request) -> Request:
        query = str(request.get("query"))
        if argument in query or argument in _variables(request):
            return request
        query = query.replace("sessions(", f"sessions({argument}: {value}, ")
        query = query.replace("sessions {", f"sessions({argument}: {value}) {{")
        return {**request, "query": query}

    return rewrite


def _nullable_session_ip(request: Request, answer: Answer) -> Answer:
    status, body = answer
    schema = (body.get("data") or {}).get("__schema") if isinstance(body, dict) else None
    for named in (schema or {}).get("types", []):
        if named["name"] == "Session":
            for field in named["fields"]:
                if field["name"] == "ip":
                    field["type"] = field["type"]["ofType"]
    return status, body


def _logout_that_logs_nobody_out(request: Request) -> Answer | None:
    if "logoutOfSession" in str(request.get("query")):
        return 200, {"data": {"logoutOfSession": True}}
    return None


#: Each distortion and the contract check (module::name) that must fail because of it.
DISTORTIONS: dict[str, tuple[Distortion, str]] = {
    "pages come reversed": (
        Distortion(answer=lambda q, a: _sessions_page(a, lambda r: r[::-1])),
        "test_sorting::test_each_sort_key_orders_the_results",
    ),
    "skip is ignored": (
        Distortion(request=_without("skip")),
        "test_paging::test_small_pages_put_together_are_one_big_page",
    ),
    "searchFilter is ignored": (
        Distortion(request=_without("searchFilter")),
        "test_filters::test_search_filter_only_narrows",
    ),
    "level User lists the organization": (
        Distortion(request=_user_level_as_organization),
        "test_filters::test_level_user_lists_only_the_callers_sessions",
    ),
    "every session is current": (
        Distortion(answer=lambda q, a: _sessions_page(a, _all_current)),
        "test_access::test_exactly_one_of_the_callers_active_sessions_is_current",
    ),
    "errors have no path": (
        Distortion(answer=_errors_without_path),
        "test_access::test_listing_the_organization_without_change_sessions_is_a_graphql_error",
    ),
    "no token is let in": (
        Distortion(answer=_401_as_200),
        "test_access::test_a_request_without_a_token_gets_the_documented_401",
    ),
    "the 401 is JSON": (
        Distortion(answer=_401_as_json),
        "test_access::test_a_request_with_an_unknown_token_gets_the_documented_401",
    ),
    "level defaults to User": (
        Distortion(request=_sessions_default("level", "User")),
        "test_access::test_sessions_without_level_is_the_organization_level",
    ),
    "orderBy defaults to DESC": (
        Distortion(request=_sessions_default("orderBy", "DESC")),
        "test_paging::test_the_documented_order_default_is_ascending",
    ),
    "Session.ip is nullable": (
        Distortion(answer=_nullable_session_ip),
        "test_schema::test_the_reference_subset_is_part_of_the_targets_schema",
    ),
    "logout logs nobody out": (
        Distortion(answer_alone=_logout_that_logs_nobody_out),
        "test_writes::test_logout_of_session_ends_the_given_session_and_its_token",
    ),
}
