"""A small GraphQL-over-HTTP client on the standard library, and what the suite runs against.

Only ``urllib.request`` is used, so the contract suite needs nothing beyond
the package's own dependencies, and HTTPS, proxies (``HTTPS_PROXY``) and the
system's certificates work as they do for any Python program (proxies only for
targets that are not on this machine).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ContractError", "LogScaleClient", "Reply", "Target", "TooMany"]

TIMEOUT_SECONDS = 30

#: Checks that compare whole result sets skip when more sessions than this match.
MAX_SESSIONS = 1000

#: The session fields every check reads, with the user fields searchFilter may match.
SESSION_FIELDS = (
    "id clientInfo city country ip createdAt lastActivityAt isCurrentSession "
    "user { id username displayName email }"
)


class ContractError(AssertionError):
    """The target answered in a way no check can work with (wrong status, not JSON, errors)."""


@dataclass(frozen=True)
class Target:
    """What the suite checks: a base URL and the tokens to use there.

    ``token`` is the caller of most checks. ``member_token``, when known, is a
    token of a user without the ``ChangeSessions`` permission, for the
    permission check. ``allow_writes`` lets the last check log out the session
    of ``token``. ``in_process`` is true for the fake the suite started itself.
    """

    url: str
    token: str
    member_token: str | None = None
    allow_writes: bool = False
    in_process: bool = False

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint: the base URL + ``/graphql``."""
        return self.url.rstrip("/") + "/graphql"

    def describe(self) -> str:
        """One line for the report header: where, and whether writes may happen."""
        kind = "in-process fake" if self.in_process else "remote"
        mode = "writes allowed" if self.allow_writes else "read-only"
        return f"{self.url} ({kind}, {mode})"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status and its body, parsed as JSON when it is JSON."""

    status: int
    body: Any
    is_json: bool
    request: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The request and the answer, for failure messages (tokens are never shown)."""
        shown = json.dumps(self.body)[:2000] if self.is_json else repr(self.body)[:2000]
        return f"request {json.dumps(dict(self.request))[:1000]}\n-> HTTP {self.status}: {shown}"


class LogScaleClient:
    """Sends GraphQL requests to a :class:`Target` and checks the plain success shape."""

    def __init__(self, target: Target) -> None:
        self.target = target
        # a proxy from the environment applies to remote targets, never to this machine's
        local = urlsplit(target.url).hostname in ("127.0.0.1", "localhost", "::1")
        handlers = [urllib.request.ProxyHandler({})] if local else []
        self._opener = urllib.request.build_opener(*handlers)

    def post(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        authenticate: bool = True,
    ) -> Reply:
        """POST a GraphQL request and return the answer, whatever its status.

        ``token`` defaults to the target's; ``authenticate=False`` sends no
        Authorization header at all.
        """
        document: dict[str, Any] = {"query": query}
        if variables is not None:
            document["variables"] = dict(variables)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authenticate:
            headers["Authorization"] = f"Bearer {token or self.target.token}"
        request = urllib.request.Request(
            self.target.graphql_url,
            data=json.dumps(document).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            error.close()
        try:
            return Reply(status, json.loads(raw), True, document)
        except ValueError:
            return Reply(status, raw.decode("utf-8", "replace"), False, document)

    def data(
        self, query: str, variables: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a request that must succeed: HTTP 200, JSON, no ``errors``."""
        reply = self.post(query, variables, token=token)
        body = reply.body
        if reply.status != 200 or not isinstance(body, dict) or body.get("errors"):
            raise ContractError(f"expected a successful GraphQL answer\n{reply.describe()}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ContractError(f"expected an object under 'data'\n{reply.describe()}")
        return data

    def sessions(self, token: str | None = None, **arguments: Any) -> dict[str, Any]:
        """One ``sessions(...)`` page: ``{"totalResults": n, "results": [...]}``.

        Arguments are passed as variables, so enum values are plain strings.
        """
        declared = {
            "searchFilter": "String",
            "level": "Sessions__Filter_Level",
            "sortBy": "Sessions__SortBy",
            "orderBy": "OrderBy",
            "skip": "Int",
            "limit": "Int",
            "onlyActiveSessions": "Boolean",
        }
        unknown = set(arguments) - set(declared)
        if unknown:
            raise TypeError(f"sessions() has no argument(s) {sorted(unknown)}")
        signature = ", ".join(f"${name}: {declared[name]}" for name in arguments)
        call = ", ".join(f"{name}: ${name}" for name in arguments)
        query = (
            f"query Contract{'(' + signature + ')' if arguments else ''} "
            f"{{ sessions{'(' + call + ')' if arguments else ''} "
            f"{{ totalResults results {{ {SESSION_FIELDS} }} }} }}"
        )
        page = self.data(query, arguments, token=token)["sessions"]
        assert isinstance(page, dict)
        return page

    def all_sessions(
        self, *, token: str | None = None, page_size: int = 100, **arguments: Any
    ) -> list[dict[str, Any]]:
        """Every matching session, page by page; raises :class:`TooMany` past ``MAX_SESSIONS``."""
        results: list[dict[str, Any]] = []
        while True:
            page = self.sessions(token, skip=len(results), limit=page_size, **arguments)
            total = page["totalResults"]
            if total > MAX_SESSIONS:
                raise TooMany(total)
            results.extend(page["results"])
            if not page["results"] or len(results) >= total:
                return results


class TooMany(Exception):
    """More matching sessions than a check compares as whole sets."""

    def __init__(self, total: int) -> None:
        super().__init__(
            f"{total} sessions match, more than the {MAX_SESSIONS} this check compares as a set"
        )
        self.total = total
