"""Calls and checks shared by the session-administration tests (revoke, settings, expiry, orgs)."""

from __future__ import annotations

import json
from typing import Any

from pytest_logscale import Ending, FakeLogScale, Role, Session, User

REVOKE = (
    "mutation($id: String!, $type: SessionRevocation__Type!) "
    "{ revokeSession(input: {id: $id, revocationType: $type}) }"
)
UPDATE_SETTINGS = (
    "mutation($idle: Long!, $force: Long!) { updateSessionSettings(input: "
    "{maxInactivityPeriod: $idle, forceReauthenticationAfter: $force}) "
    "{ id configs { session { maxInactivityPeriod forceReauthenticationAfter } } } }"
)
SETTINGS = (
    "{ organization { id configs { session { maxInactivityPeriod forceReauthenticationAfter } } } }"
)
LISTING = (
    "query($active: Boolean, $level: Sessions__Filter_Level, $search: String) "
    "{ sessions(onlyActiveSessions: $active, level: $level, searchFilter: $search, limit: 10000) "
    "{ totalResults results { id isCurrentSession user { id } } } }"
)
#: Looks like an id the fake hands out, but no session, user or organization has it.
UNKNOWN_ID = "ZZZZZZZZZZZZZZZZZZZZZZZZ"
ROLES = ("owner", "admin", "member")
KINDS = ("Session", "User", "Organization")
HOUR_MS = 3_600_000


def role_user(server: FakeLogScale, role: str, organization: int = 0) -> User:
    """The owner, first admin or first member of the n-th organization."""
    return server.users_with_role(Role(role), server.organizations[organization])[0]


def session_of(server: FakeLogScale, token: str) -> Session:
    """The session a session token belongs to, as it is now."""
    return next(s for s in server.sessions if s.token == token)


def credential_of(server: FakeLogScale, user: User, credential: str) -> str:
    """A token of the user: its seeded live ``"session"`` or a new ``"api token"``."""
    return server.session_token(user) if credential == "session" else server.api_token(user)


def revoke(server: FakeLogScale, target_id: str, kind: str, token: str) -> dict[str, Any]:
    """``revokeSession`` over HTTP; the parsed answer."""
    return server.execute(REVOKE, {"id": target_id, "type": kind}, token=token)


def update_settings(server: FakeLogScale, idle: Any, force: Any, token: str) -> dict[str, Any]:
    """``updateSessionSettings`` over HTTP with both values as variables; the parsed answer."""
    return server.execute(UPDATE_SETTINGS, {"idle": idle, "force": force}, token=token)


def set_limits(server: FakeLogScale, idle: int, force: int, organization: int = 0) -> None:
    """Set an organization's limits through its owner's personal API token (touches no session)."""
    token = server.api_token(role_user(server, "owner", organization))
    answer = update_settings(server, idle, force, token)
    assert "errors" not in answer, answer


def settings_seen(server: FakeLogScale, token: str) -> dict[str, Any]:
    """``organization { id configs { session { ... } } }`` as the token's caller reads it."""
    answer = server.execute(SETTINGS, token=token)
    assert "errors" not in answer, answer
    return dict(answer["data"]["organization"])


def refusal(answer: dict[str, Any], field: str) -> str:
    """The message of the single resolver error at a root field whose data was nulled."""
    assert answer.get("data") is None, answer
    (error,) = answer["errors"]
    assert error["path"] == [field], error
    assert error["locations"], error
    return str(error["message"])


def rejected(server: FakeLogScale, query: str, variables: dict[str, Any], token: str) -> str:
    """Post a request that must fail as a request (HTTP 400, no data); its messages joined."""
    status, body = server.post(json.dumps({"query": query, "variables": variables}), token=token)
    assert status == 400, body
    assert "data" not in body, body
    assert body["errors"], body
    return " ".join(str(e["message"]) for e in body["errors"])


def listing(
    server: FakeLogScale,
    token: str,
    *,
    active: bool = True,
    level: str = "User",
    search: str | None = None,
) -> dict[str, Any]:
    """Every session the token may list (``limit`` large enough for any seed used here)."""
    variables = {"active": active, "level": level, "search": search}
    answer = server.execute(LISTING, variables, token=token)
    assert "errors" not in answer, answer
    return dict(answer["data"]["sessions"])


def listed_ids(server: FakeLogScale, token: str, **options: Any) -> set[str]:
    """The ids of :func:`listing`."""
    return {s["id"] for s in listing(server, token, **options)["results"]}


def endings(server: FakeLogScale) -> dict[str, Ending | None]:
    """How every session of every organization has ended (None: not ended)."""
    return {s.id: s.ended for s in server.sessions}


UNAUTHORIZED = "The supplied authentication is invalid"


def status_of(server: FakeLogScale, token: str) -> tuple[int, str]:
    """The HTTP status of a ``currentUser`` request with a token, and why it failed.

    A 401 answers LogScale's plain text; the reason is the journal's ``auth_failure``.
    """
    status, body = server.post(json.dumps({"query": "{ currentUser { id } }"}), token=token)
    if status == 200:
        assert "errors" not in body, body
        return status, ""
    if status == 401:
        assert body == UNAUTHORIZED, body
        return status, str(server.journal.entries[-1].auth_failure)
    return status, str(body["errors"][0]["message"])


def assert_alive(server: FakeLogScale, token: str) -> None:
    """The token is accepted (a request with it also counts as activity)."""
    __tracebackhide__ = True
    assert status_of(server, token) == (200, "")


def assert_refused(server: FakeLogScale, token: str, because: str) -> None:
    """The token gets 401 with a message that contains ``because``."""
    __tracebackhide__ = True
    status, message = status_of(server, token)
    assert status == 401, message
    assert because in message, message


IDLE_WORDS, AGE_WORDS = "maxInactivityPeriod", "forceReauthenticationAfter"


def assert_expired(server: FakeLogScale, token: str, limit: str) -> None:
    """The token gets 401 saying its session expired by ``limit`` (IDLE_WORDS or AGE_WORDS)."""
    __tracebackhide__ = True
    status, message = status_of(server, token)
    assert status == 401, message
    assert "expired" in message, message
    assert limit in message, message
    other = AGE_WORDS if limit == IDLE_WORDS else IDLE_WORDS
    assert other not in message, message
