"""The control API: the fixture's powers over HTTP under ``/_fake/``, for tests in any language.

:class:`ControlApp` sits in front of the GraphQL app of a :class:`~pytest_logscale.FakeLogScale`:
requests under ``/_fake`` are answered here, from the fake's own methods, and never reach
``/graphql``'s pipeline or the request journal; every other request goes on to the app
untouched. JSON in, JSON out; every refusal is a 4xx whose body names the bad field
(docs/control-api.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, final
from urllib.parse import parse_qs

from .domain.clock import to_datetime, to_millis
from .harness.faultfile import rules_from_json, rules_to_json
from .harness.journal import Exchange
from .harness.ratelimit import RateLimit
from .harness.statefile import StateError
from .http.body import BodyError, read_body
from .seeding import SeedOptions

if TYPE_CHECKING:
    from .domain.records import User
    from .fake import FakeLogScale

__all__ = ["PREFIX", "ControlApp", "endpoints", "live_session_tokens"]

log = logging.getLogger("pytest_logscale")

#: Where the control API lives on the fake's port.
PREFIX = "/_fake"
#: The latest instant the control API takes (9999-12-31T23:59:59.999Z): the state file writes it.
_LAST_INSTANT = 253_402_300_799_999
_SESSION_DETAILS = {"clientInfo": "client_info", "ip": "ip", "city": "city", "country": "country"}

StartResponse = Callable[..., Any]
Header = tuple[str, str]


class _Refusal(Exception):
    """A control request refused: HTTP ``status``, a message, and the field to blame if any."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.extra: dict[str, Any] = {}
        self.headers: list[tuple[str, str]] = []


def _bad(field: str | None, message: str) -> _Refusal:
    return _Refusal(400, message, field)


@dataclasses.dataclass(frozen=True, slots=True)
class _Request:
    """What a handler gets: the parsed query parameters and a way to read the JSON body."""

    query: dict[str, str]
    read_body: Callable[[], Any]

    def body(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        data = self.read_body()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise _bad(None, "The request body must be a JSON object.")
        return data

    def json(self) -> Any:
        """The body as any JSON value (None when empty)."""
        return self.read_body()


Handler = Callable[["FakeLogScale", _Request], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Endpoint:
    handlers: Mapping[str, Handler]
    parameters: frozenset[str] = frozenset()


# -- reading requests ------------------------------------------------------------------------


def _read_json(environ: dict[str, Any], limit: int) -> Any:
    """The JSON body (None when empty), at most ``limit`` bytes (413 beyond)."""
    try:
        raw = read_body(environ, limit)
    except BodyError as error:
        raise _Refusal(error.status, error.message) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(None, "The request body is not UTF-8 text.") from None
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise _bad(None, f"The request body is not valid JSON: {error}.") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _query(environ: dict[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items():
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise _bad(name, f"Unknown query parameter {name!r} (this endpoint takes: {known}).")
        if len(values) > 1:
            raise _bad(name, f"The query parameter {name!r} is given more than once.")
        if not values[0]:
            raise _bad(name, f"The query parameter {name!r} is empty.")
        found[name] = values[0]
    return found


def _only(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse a key the endpoint does not take, naming it and the keys it does take."""
    known = list(allowed)
    for key in body:
        if key not in known:
            raise _bad(key, f"Unknown key {key!r} (known: {', '.join(known)}).")


def _whole(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if key not in body:
        raise _bad(key, f"{key!r} is missing.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(key, f"{key!r} must be a whole number, not {json.dumps(value)[:60]}.")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise _bad(key, f"{key!r} must be a string, not {json.dumps(value)[:60]}.")
    return value


# -- the endpoints: adapters over FakeLogScale's methods ------------------------------------


def _seeding(fake: FakeLogScale) -> dict[str, Any]:
    return {
        "seeding": {
            f.name: _plain(getattr(fake.seed_options, f.name))
            for f in dataclasses.fields(SeedOptions)
        }
    }


def _plain(value: Any) -> Any:
    return _iso(to_millis(value)) if isinstance(value, datetime) else value


def _option(option: dataclasses.Field[Any], value: Any) -> Any:
    """A seeding option from JSON: an instant (an anchor) is epoch ms or ISO-8601 there."""
    if "datetime" in str(option.type) and isinstance(value, (str, int)):
        return to_datetime(_instant(value, option.name))
    return value


def _reset(fake: FakeLogScale, request: _Request) -> Any:
    body = request.body()
    if not body:
        fake.reset()
        return _seeding(fake)
    options_fields = {f.name: f for f in dataclasses.fields(SeedOptions)}
    _only(body, options_fields)
    given = {key: _option(options_fields[key], value) for key, value in body.items()}
    try:
        options = dataclasses.replace(fake.seed_options, **given)
    except (TypeError, ValueError) as error:
        # SeedOptions' message starts with the option it refuses
        field = next((key for key in body if str(error).startswith(key)), None)
        raise _bad(field, f"Cannot reseed: {error}.") from None
    fake.reseed(options)
    return _seeding(fake)


def _get_state(fake: FakeLogScale, request: _Request) -> Any:
    return fake.dump_state()


def _put_state(fake: FakeLogScale, request: _Request) -> Any:
    try:
        fake.load_state(request.body())
    except StateError as error:
        # "state: <place>: <problem>": the place is the field to blame
        place = str(error).split(": ")
        raise _bad(place[1] if len(place) > 2 else None, str(error)) from None
    return _seeding(fake)


def _iso(millis: int) -> str:
    instant = to_datetime(millis)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def _clock(fake: FakeLogScale) -> dict[str, Any]:
    now = fake.clock.now_ms()
    return {"now": _iso(now), "epochMs": now, "wall": fake.clock.wall}


def _get_clock(fake: FakeLogScale, request: _Request) -> Any:
    return _clock(fake)


def _instant(value: Any, field: str = "set") -> int:
    """Epoch milliseconds of a whole number or an ISO-8601 string with a time zone."""
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _bad(field, f"{field!r} is not an ISO-8601 instant: {value[:60]!r}.") from None
        if parsed.tzinfo is None:
            raise _bad(field, f"{field!r} needs a time zone, e.g. 2026-03-01T12:00:00Z.")
        millis = to_millis(parsed)
    else:
        millis = _whole({field: value}, field)
    if not 0 <= millis <= _LAST_INSTANT:
        raise _bad(field, f"{field!r} must lie between 1970-01-01 and 9999-12-31.")
    return millis


def _post_clock(fake: FakeLogScale, request: _Request) -> Any:
    body = request.body()
    _only(body, ("advance", "set"))
    if "advance" in body and "set" in body:
        raise _bad("set", "Give either 'advance' or 'set', not both.")
    if "set" in body:
        fake.clock.set(_instant(body["set"]))
        return _clock(fake)
    millis = _whole(body, "advance")
    if millis < 0:
        raise _bad("advance", "'advance' must not be negative: use 'set' to go back in time.")
    if fake.clock.now_ms() + millis > _LAST_INSTANT:
        raise _bad("advance", "'advance' would take the clock past 9999-12-31.")
    fake.clock.advance(timedelta(milliseconds=millis))
    return _clock(fake)


def _reason(exchange: Exchange) -> str | None:
    """Why a request got 401, from its answer's first error."""
    if exchange.status != 401 or not isinstance(exchange.response, dict):
        return None
    errors = exchange.response.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message")
        return message if isinstance(message, str) else None
    return None


def _exchange(exchange: Exchange) -> dict[str, Any]:
    return {
        "method": exchange.method,
        "path": exchange.path,
        "status": exchange.status,
        "operationType": exchange.operation_type,
        "operationName": exchange.operation_name,
        "rootFields": list(exchange.root_fields),
        "variables": exchange.variables,
        "calls": [{"field": f, "arguments": a} for f, a in exchange.field_calls()],
        "userId": exchange.user_id,
        "sessionId": exchange.session_id,
        "reason": _reason(exchange),
        "fault": exchange.fault,
        "response": exchange.response,
    }


def _get_journal(fake: FakeLogScale, request: _Request) -> Any:
    found = fake.journal.calls(
        request.query.get("field"), operation_name=request.query.get("operation")
    )
    return {"entries": [_exchange(e) for e in found]}


def _delete_journal(fake: FakeLogScale, request: _Request) -> Any:
    fake.journal.clear()
    return {"entries": []}


def _faults(fake: FakeLogScale) -> dict[str, Any]:
    return {"faults": rules_to_json(fake.faults)}


def _get_faults(fake: FakeLogScale, request: _Request) -> Any:
    return _faults(fake)


def _delete_faults(fake: FakeLogScale, request: _Request) -> Any:
    fake.faults.clear()
    return _faults(fake)


def _post_faults(fake: FakeLogScale, request: _Request) -> Any:
    given = request.json()
    entries = given if isinstance(given, list) else [given]
    try:
        rules = rules_from_json(fake.faults, entries)
    except ValueError as error:
        message = str(error).split(": ", 1)[-1] if not isinstance(given, list) else str(error)
        raise _bad(_fault_field(str(error)), message) from None
    for rule in rules:  # all were checked: all or none are added
        fake.faults.add(
            rule.fault,
            times=rule.times,
            operation_name=rule.operation_name,
            root_field=rule.root_field,
        )
    return _faults(fake)


#: A fault's JSON keys as the subjects of Fault's and FaultRule's messages name them, first match.
_FAULT_SUBJECTS = (
    ("HTML", "html"),
    ("Retry-After", "retryAfter"),
    ("HTTP status", "status"),
    ("up_to", "upTo"),
    ("delay", "seconds"),
    ("keep_bytes", "keepBytes"),
    ("operation_name", "operationName"),
    ("root field", "rootField"),
    ("times", "times"),
    ("message", "message"),
)


def _fault_field(message: str) -> str | None:
    """The JSON key a fault's error message is about (a quoted key, else the message's subject)."""
    problem = message.split(": ", 1)[-1]
    if problem.startswith("'fault' "):
        return "fault"
    if problem.startswith(("unknown key ", "a ")) and "'" in problem:
        quoted = problem.split("'")[1]
        if problem.startswith("unknown key ") or " needs '" in problem:
            return quoted
    subject = problem.split(" must ")[0].split(" (known")[0]
    return next((key for word, key in _FAULT_SUBJECTS if word in subject), None)


def _rate_limit(fake: FakeLogScale) -> dict[str, Any]:
    limit = fake.rate_limit
    if limit is None:
        return {"rateLimit": None}
    return {"rateLimit": {"requests": limit.requests, "windowMs": limit.window_ms}}


def _get_rate_limit(fake: FakeLogScale, request: _Request) -> Any:
    return _rate_limit(fake)


def _put_rate_limit(fake: FakeLogScale, request: _Request) -> Any:
    body = request.body()
    _only(body, ("requests", "windowMs"))
    requests, window = _whole(body, "requests"), _whole(body, "windowMs")
    try:
        limit = RateLimit(requests, window)
    except ValueError as error:
        field = "windowMs" if "window" in str(error) else "requests"
        raise _bad(field, f"Not a rate limit: {error}.") from None
    fake.rate_limit = limit
    return _rate_limit(fake)


def _delete_rate_limit(fake: FakeLogScale, request: _Request) -> Any:
    fake.rate_limit = None
    return _rate_limit(fake)


def live_session_tokens(fake: FakeLogScale, user: User) -> list[str]:
    """The tokens of the user's sessions that are active now, oldest first."""
    store = fake.store
    with store.locked():
        return [s.token for s in store.user_sessions(user.id) if store.is_active(s)]


def _get_users(fake: FakeLogScale, request: _Request) -> Any:
    names = {o.id: o.name for o in fake.organizations}
    api_tokens: dict[str, list[str]] = {}
    for token, user_id in fake.store.api_tokens().items():
        api_tokens.setdefault(user_id, []).append(token)
    return {
        "users": [
            {
                "id": user.id,
                "username": user.username,
                "displayName": user.display_name,
                "organization": {"id": user.organization_id, "name": names[user.organization_id]},
                "role": user.role.value,
                "sessionTokens": live_session_tokens(fake, user),
                "apiTokens": api_tokens.get(user.id, []),
            }
            for user in fake.users
        ]
    }


def _find_user(fake: FakeLogScale, reference: str) -> User:
    """A user by id, else by username (which must name one user)."""
    try:
        return fake.store.user(reference)
    except KeyError:
        pass
    found = [u for u in fake.users if u.username == reference]
    if len(found) != 1:
        problem = "no user has" if not found else "several users have"
        raise _bad("user", f"{problem} the id or username {reference[:100]!r}.")
    return found[0]


def _login(fake: FakeLogScale, request: _Request) -> Any:
    body = request.body()
    _only(body, ("user", "apiToken", *_SESSION_DETAILS))
    user = _find_user(fake, _text(body, "user"))
    api = body.get("apiToken", False)
    if not isinstance(api, bool):
        raise _bad("apiToken", "'apiToken' must be true or false.")
    answer = {"userId": user.id, "username": user.username, "organizationId": user.organization_id}
    if api:
        extra = next((key for key in body if key in _SESSION_DETAILS), None)
        if extra is not None:
            raise _bad(extra, f"{extra!r} describes a session; an API token has none.")
        return {**answer, "token": fake.api_token(user), "sessionId": None}
    details = {name: _text(body, key) for key, name in _SESSION_DETAILS.items() if key in body}
    try:
        session = fake.login(user, **details)
    except ValueError as error:  # the only detail the store checks is the address
        raise _bad("ip", f"Cannot log in: {error}.") from None
    return {**answer, "token": session.token, "sessionId": session.id}


_ENDPOINTS: dict[str, _Endpoint] = {
    "/reset": _Endpoint({"POST": _reset}),
    "/state": _Endpoint({"GET": _get_state, "PUT": _put_state}),
    "/clock": _Endpoint({"GET": _get_clock, "POST": _post_clock}),
    "/journal": _Endpoint(
        {"GET": _get_journal, "DELETE": _delete_journal}, frozenset({"field", "operation"})
    ),
    "/faults": _Endpoint({"GET": _get_faults, "POST": _post_faults, "DELETE": _delete_faults}),
    "/rate-limit": _Endpoint(
        {"GET": _get_rate_limit, "PUT": _put_rate_limit, "DELETE": _delete_rate_limit}
    ),
    "/users": _Endpoint({"GET": _get_users}),
    "/login": _Endpoint({"POST": _login}),
}


def _encode(body: Any) -> bytes:
    return json.dumps(body).encode() + b"\n"  # the shell prompt after curl's output on its line


def endpoints() -> list[str]:
    """Every endpoint as ``METHOD /_fake/path``, in the order of docs/control-api.md."""
    return [
        f"{method} {PREFIX}{path}"
        for path, endpoint in _ENDPOINTS.items()
        for method in endpoint.handlers
    ]


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
            return 200, _encode(self._answer(environ, path)), []
        except _Refusal as refusal:
            body = {"error": refusal.message, **refusal.extra}
            if refusal.field is not None:
                body["field"] = refusal.field
            return refusal.status, _encode(body), refusal.headers
        except Exception:  # a bug of ours: say so in JSON, keep the server thread alive
            log.exception("pytest-logscale's control API failed on %s%s", PREFIX, path)
            body = {"error": "Internal error in pytest-logscale's control API."}
            return 500, _encode(body), []

    def _answer(self, environ: dict[str, Any], path: str) -> Any:
        endpoint = _ENDPOINTS.get(path)
        if endpoint is None:
            refusal = _Refusal(404, f"Nothing at {PREFIX}{path or '/'}: see 'endpoints'.")
            refusal.extra["endpoints"] = endpoints()
            raise refusal
        method = environ.get("REQUEST_METHOD", "GET")
        handler = endpoint.handlers.get(method)
        if handler is None:
            allow = ", ".join(endpoint.handlers)
            refusal = _Refusal(405, f"{method} is not allowed on {PREFIX}{path}; use {allow}.")
            refusal.headers.append(("Allow", allow))
            raise refusal
        limit = self.fake.app.options.max_body_bytes
        request = _Request(_query(environ, endpoint.parameters), lambda: _read_json(environ, limit))
        return handler(self.fake, request)
