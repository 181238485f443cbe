"""The control API's endpoints: small adapters from JSON to :class:`FakeLogScale`'s methods.

No rule is decided here: resetting, the clock, faults, the rate limit, state
files, logins and tokens are the fake's; an endpoint only reads the request's
JSON, calls the fake and writes what it got back as JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..domain.checks import BoundError, OptionError
from ..domain.clock import to_millis
from ..domain.instants import CLOCK_RANGE
from ..harness.faultfile import FaultJsonError, rules_from_json, rules_to_json
from ..harness.journal import Exchange
from ..harness.ratelimit import RateLimit
from ..harness.statefile import StateError, format_instant
from ..seeding import SeedOptions
from .wire import Request, bad, full, instant, only, text, whole

if TYPE_CHECKING:
    from ..domain.records import User
    from ..fake import FakeLogScale

__all__ = ["ENDPOINTS", "PREFIX", "Endpoint", "endpoints", "live_session_token"]

#: Where the control API lives on the fake's port.
PREFIX = "/_fake"
_SESSION_DETAILS = {"clientInfo": "client_info", "ip": "ip", "city": "city", "country": "country"}

Handler = Callable[["FakeLogScale", Request], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """The handler of each method a path takes, and the query parameters it reads."""

    handlers: Mapping[str, Handler]
    parameters: frozenset[str] = frozenset()


def _seeding_options() -> list[str]:
    """The seeding options a reset takes: the fields that make up the seeded data.

    ``SeedOptions`` compares by those only (bounds and the like are left out of ``==``).
    """
    return [f.name for f in dataclasses.fields(SeedOptions) if f.compare]


def _seeding(fake: FakeLogScale) -> dict[str, Any]:
    options = fake.seed_options
    return {"seeding": {name: _plain(getattr(options, name)) for name in _seeding_options()}}


def _plain(value: Any) -> Any:
    return format_instant(to_millis(value)) if isinstance(value, datetime) else value


def _reset(fake: FakeLogScale, request: Request) -> Any:
    body = request.body()
    if not body:
        fake.reset()
        return _seeding(fake)
    only(body, _seeding_options())
    try:
        options = dataclasses.replace(fake.seed_options, **body)
    except OptionError as error:
        raise bad(error.name if error.name in body else None, f"Cannot reseed: {error}.") from None
    except ValueError as error:
        raise bad(None, f"Cannot reseed: {error}.") from None
    fake.reseed(options)
    return _seeding(fake)


def _get_state(fake: FakeLogScale, request: Request) -> Any:
    return fake.dump_state()


def _put_state(fake: FakeLogScale, request: Request) -> Any:
    try:
        fake.load_state(request.body())
    except StateError as error:
        raise bad(error.where, str(error)) from None
    return _seeding(fake)


def _clock(fake: FakeLogScale) -> dict[str, Any]:
    now = fake.clock.now_ms()
    return {"now": format_instant(now), "epochMs": now, "wall": fake.clock.wall}


def _get_clock(fake: FakeLogScale, request: Request) -> Any:
    return _clock(fake)


def _post_clock(fake: FakeLogScale, request: Request) -> Any:
    body = request.body()
    only(body, ("advance", "set"))
    if "advance" in body and "set" in body:
        raise bad("set", "Give either 'advance' or 'set', not both.")
    if not body:
        raise bad(None, "Give 'advance' (milliseconds) or 'set' (an instant).")
    if "set" in body:
        fake.clock.set(instant(body["set"]))
    else:
        fake.clock.advance(timedelta(milliseconds=_advance(fake, whole(body, "advance"))))
    return _clock(fake)


def _advance(fake: FakeLogScale, millis: int) -> int:
    if millis < 0:
        raise bad("advance", "'advance' must not be negative: use 'set' to go back in time.")
    if fake.clock.now_ms() + millis > CLOCK_RANGE.high:
        raise bad("advance", "'advance' would take the clock past 9999-12-31.")
    return millis


def _reason(exchange: Exchange) -> str | None:
    """Why a request got 401: the journal's record of an authentication failure, else (an
    injected 401 fault) the message of the answer's first error."""
    if exchange.status != 401:
        return None
    if exchange.auth_failure is not None:
        return exchange.auth_failure
    errors = exchange.response.get("errors") if isinstance(exchange.response, dict) else None
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


def _get_journal(fake: FakeLogScale, request: Request) -> Any:
    try:
        found = fake.journal.calls(
            request.query.get("field"), operation_name=request.query.get("operation")
        )
    except ValueError as error:  # a root field the schema does not have: the closest is named
        raise bad("field", str(error)) from None
    return {"entries": [_exchange(e) for e in found]}


def _delete_journal(fake: FakeLogScale, request: Request) -> Any:
    fake.journal.clear()
    return {"entries": []}


def _faults(fake: FakeLogScale) -> dict[str, Any]:
    return {"faults": rules_to_json(fake.faults)}


def _get_faults(fake: FakeLogScale, request: Request) -> Any:
    return _faults(fake)


def _delete_faults(fake: FakeLogScale, request: Request) -> Any:
    fake.faults.clear()
    return _faults(fake)


def _post_faults(fake: FakeLogScale, request: Request) -> Any:
    given = request.json()
    entries = given if isinstance(given, list) else [given]
    try:
        rules = rules_from_json(fake.faults, entries)
    except FaultJsonError as error:  # one fault: its problem; an array: which entry, too
        message = str(error) if isinstance(given, list) else error.problem
        raise bad(error.key, message) from None
    try:
        fake.faults.extend(rules)  # all were checked: all or none are added
    except BoundError as error:
        raise full(error) from None
    return _faults(fake)


def _rate_limit(fake: FakeLogScale) -> dict[str, Any]:
    limit = fake.rate_limit
    if limit is None:
        return {"rateLimit": None}
    return {"rateLimit": {"requests": limit.requests, "windowMs": limit.window_ms}}


def _get_rate_limit(fake: FakeLogScale, request: Request) -> Any:
    return _rate_limit(fake)


def _put_rate_limit(fake: FakeLogScale, request: Request) -> Any:
    body = request.body()
    only(body, ("requests", "windowMs"))
    requests, window = whole(body, "requests"), whole(body, "windowMs")
    try:
        limit = RateLimit(requests, window)
    except OptionError as error:  # named "a rate limit's requests" or "... window_ms"
        field = "windowMs" if error.name.endswith("window_ms") else "requests"
        raise bad(field, f"Not a rate limit: {error}.") from None
    fake.rate_limit = limit
    return _rate_limit(fake)


def _delete_rate_limit(fake: FakeLogScale, request: Request) -> Any:
    fake.rate_limit = None
    return _rate_limit(fake)


def live_session_token(fake: FakeLogScale, user: User) -> str | None:
    """The token of the user's oldest session that is active now, or None when none is."""
    store = fake.store
    with store.locked():
        return next((s.token for s in store.user_sessions(user.id) if store.is_active(s)), None)


def _get_users(fake: FakeLogScale, request: Request) -> Any:
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
                "sessionToken": live_session_token(fake, user),
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
        raise bad("user", f"{problem} the id or username {reference[:100]!r}.")
    return found[0]


def _login(fake: FakeLogScale, request: Request) -> Any:
    body = request.body()
    only(body, ("user", "apiToken", *_SESSION_DETAILS))
    user = _find_user(fake, text(body, "user"))
    api = body.get("apiToken", False)
    if not isinstance(api, bool):
        raise bad("apiToken", "'apiToken' must be true or false.")
    answer = {"userId": user.id, "username": user.username, "organizationId": user.organization_id}
    if api:
        extra = next((key for key in body if key in _SESSION_DETAILS), None)
        if extra is not None:
            raise bad(extra, f"{extra!r} describes a session; an API token has none.")
        try:
            token = fake.api_token(user)
        except BoundError as error:
            raise full(error) from None
        return {**answer, "token": token, "sessionId": None}
    details = {name: text(body, key) for key, name in _SESSION_DETAILS.items() if key in body}
    try:
        session = fake.login(user, **details)
    except BoundError as error:
        raise full(error) from None
    except ValueError as error:  # the only detail the store checks is the address
        raise bad("ip", f"Cannot log in: {error}.") from None
    return {**answer, "token": session.token, "sessionId": session.id}


ENDPOINTS: dict[str, Endpoint] = {
    "/reset": Endpoint({"POST": _reset}),
    "/state": Endpoint({"GET": _get_state, "PUT": _put_state}),
    "/clock": Endpoint({"GET": _get_clock, "POST": _post_clock}),
    "/journal": Endpoint(
        {"GET": _get_journal, "DELETE": _delete_journal}, frozenset({"field", "operation"})
    ),
    "/faults": Endpoint({"GET": _get_faults, "POST": _post_faults, "DELETE": _delete_faults}),
    "/rate-limit": Endpoint(
        {"GET": _get_rate_limit, "PUT": _put_rate_limit, "DELETE": _delete_rate_limit}
    ),
    "/users": Endpoint({"GET": _get_users}),
    "/login": Endpoint({"POST": _login}),
}


def endpoints() -> list[str]:
    """Every endpoint as ``METHOD /_fake/path``, in the order of docs/control-api.md."""
    return [
        f"{method} {PREFIX}{path}"
        for path, endpoint in ENDPOINTS.items()
        for method in endpoint.handlers
    ]
