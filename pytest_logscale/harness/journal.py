"""The request journal: every request the fake answered, read at the GraphQL level.

Entries are compact and immutable: each keeps the query, the variables and the
answer as text, cut at a cap, never the parsed objects the server worked with.
Whatever a test reads from an entry (``variables``, ``response``, ``arguments``)
is parsed from that text on each read, so changing it changes nothing else.
The journal is bounded by bytes: the oldest entries go first.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from graphql import GraphQLError, OperationDefinitionNode, Undefined, parse
from graphql.language import FieldNode
from graphql.utilities import value_from_ast_untyped

from ..domain.checks import whole_number
from ..graphql.documents import operations_of
from .names import check_root_field

__all__ = ["DEFAULT_JOURNAL_BYTES", "DEFAULT_JOURNAL_TEXT", "Exchange", "Journal"]

#: The bytes a journal may hold before it drops its oldest entries.
DEFAULT_JOURNAL_BYTES: Final = 32 << 20
#: The characters kept of each entry's query, variables and answer.
DEFAULT_JOURNAL_TEXT: Final = 64 << 10
_OPERATION_TYPES = ("query", "mutation")
_ENTRY_BYTES = 256  # an entry's own object and its small fields, roughly


@final
@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, as the journal keeps it (immutable).

    ``operation_type`` (``query`` or ``mutation``), ``operation_name`` and
    ``root_fields`` are None or empty when the request never got as far as a
    valid document; ``user_id`` and ``session_id`` when it was not
    authenticated. ``query`` is the query text, ``variables_text`` the
    variables as JSON text and ``response_text`` the answer's body as sent;
    each is cut at the journal's ``max_text`` characters, and ``truncated``
    names those that were. ``fault`` names an injected fault that shaped the
    answer; ``auth_failure`` says why a 401 was sent (no token, an unknown
    one, another scheme, a logged-out, revoked or expired session and which
    limit), since the answer itself only says ``The supplied authentication is
    invalid``. :attr:`variables`, :attr:`response` and :attr:`arguments` parse
    that text afresh on each read.
    """

    method: str
    path: str
    status: int
    operation_type: str | None = None
    operation_name: str | None = None
    root_fields: tuple[str, ...] = ()
    query: str | None = None
    variables_text: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    response_text: str | None = None
    response_is_json: bool = False
    fault: str | None = None
    auth_failure: str | None = None
    truncated: frozenset[str] = frozenset()

    @classmethod
    def capture(
        cls,
        *,
        method: str,
        path: str,
        status: int,
        operation_type: str | None = None,
        operation_name: str | None = None,
        root_fields: tuple[str, ...] = (),
        query: str | None = None,
        variables: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        response: bytes | None = None,
        response_is_json: bool = False,
        fault: str | None = None,
        auth_failure: str | None = None,
        max_text: int = DEFAULT_JOURNAL_TEXT,
        body_bytes: int | None = None,
    ) -> Exchange:
        """An entry for a request, its texts cut at ``max_text`` characters.

        ``response`` is the body as sent (bytes); ``response_is_json`` says
        whether it was JSON. Variables are encoded only up to the cap, so a
        megabyte of them costs the journal ``max_text`` characters.
        ``body_bytes``: the size of the JSON request body the variables were
        read from, when they were (a small body's are encoded at once, faster).
        """
        cut: set[str] = set()
        kept_query = _cut(query, max_text, "query", cut)
        kept_variables = (
            None if variables is None else _json_prefix(variables, max_text, cut, body_bytes)
        )
        body = None
        if response:
            body = response[: max_text + 1].decode("utf-8", "replace")
            body = _cut(body, max_text, "response", cut)
        return cls(
            method=method,
            path=path,
            status=status,
            operation_type=operation_type,
            operation_name=operation_name,
            root_fields=tuple(root_fields),
            query=kept_query,
            variables_text=kept_variables,
            user_id=user_id,
            session_id=session_id,
            response_text=body,
            response_is_json=response_is_json,
            fault=fault,
            auth_failure=auth_failure,
            truncated=frozenset(cut),
        )

    @property
    def size_bytes(self) -> int:
        """Roughly the memory this entry holds, as the journal's byte bound counts it."""
        texts = (self.query, self.variables_text, self.response_text)
        return _ENTRY_BYTES + sum(sys.getsizeof(t) for t in texts if t is not None)

    @property
    def variables(self) -> dict[str, Any] | None:
        """The request's variables, a fresh copy on each read; None when none or cut."""
        if self.variables_text is None or "variables" in self.truncated:
            return None
        found: dict[str, Any] = json.loads(self.variables_text)
        return found

    @property
    def response(self) -> Any:
        """The JSON answer as sent (a fresh copy on each read), its text when not JSON or cut.

        None when the answer had no body (a dropped connection).
        """
        text = self.response_text
        if text is None or not self.response_is_json or "response" in self.truncated:
            return text
        return json.loads(text)

    def calls(self, root_field: str) -> bool:
        """Whether this request called a root field."""
        return root_field in self.root_fields

    def field_calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every root field selected, in document order, with its arguments.

        Arguments are plain JSON-like values with the request's variables (and
        the variables' defaults) put in, so an input written inline in the
        document and one passed as a variable read the same; enum values are
        their names. An argument given a variable the request did not send is
        left out. Empty when the query or the variables were cut at the cap.
        """
        found = self._operation()
        if found is None:
            return []
        selections, definition = found
        variables = _with_defaults(self.variables or {}, definition)
        return [(node.name.value, _arguments(node, variables)) for node in selections]

    @property
    def arguments(self) -> dict[str, dict[str, Any]]:
        """Each root field's arguments, e.g. ``{"revokeSession": {"input": {...}}}``.

        A root field selected more than once (under aliases) shows its first
        selection here; :meth:`field_calls` lists them all.
        """
        found: dict[str, dict[str, Any]] = {}
        for name, arguments in self.field_calls():
            found.setdefault(name, arguments)
        return found

    def _operation(self) -> tuple[tuple[FieldNode, ...], OperationDefinitionNode] | None:
        if self.query is None or not self.root_fields or self.truncated & {"query", "variables"}:
            return None
        try:
            operations = operations_of(parse(self.query, no_location=True))
        except GraphQLError:  # the server parsed it: only a cut text can fail, and it is not here
            return None
        for operation in operations:
            if operation.name == self.operation_name or len(operations) == 1:
                return operation.selections, operation.definition
        return None

    def summary(self) -> str:
        """One line: status, method, path, operation and who made it."""
        what = self.operation_type or "-"
        if self.operation_name:
            what += f" {self.operation_name}"
        if self.root_fields:
            what += " {" + ", ".join(self.root_fields) + "}"
        who = f" user={self.user_id}" if self.user_id else ""
        fault = f" fault={self.fault}" if self.fault else ""
        return f"{self.status} {self.method} {self.path} {what}{who}{fault}"

    def describe(self) -> str:
        """The summary, the variables and the response, for failure messages."""
        lines = [self.summary()]
        if self.variables_text and self.variables_text != "{}":
            lines.append(
                "  variables: " + _short(self.variables_text, "variables" in self.truncated)
            )
        called = [
            f"{name}({_json(arguments)})" for name, arguments in self.field_calls() if arguments
        ]
        if called:
            lines.append("  arguments: " + ", ".join(called))
        if self.response_text is not None:
            cut = "response" in self.truncated
            shown = self.response_text
            if self.response_is_json and not cut:  # one spacing, whatever encoder sent it
                shown = json.dumps(self.response, default=str)
            lines.append("  response: " + _short(shown, cut))
        if "query" in self.truncated and self.query is not None:
            lines.append(f"  query: cut at {len(self.query)} characters")
        return "\n".join(lines)


@final
class Journal:
    """The exchanges of the current test, oldest first; thread-safe.

    Bounded twice, the oldest entries going first: by count with ``maxlen``
    (``serve`` keeps 1,000; no limit by default) and by bytes with
    ``max_bytes`` (32 MiB by default). ``max_text`` caps the characters kept of
    each entry's query, variables and answer (64 KiB by default).
    """

    def __init__(
        self,
        maxlen: int | None = None,
        *,
        max_bytes: int = DEFAULT_JOURNAL_BYTES,
        max_text: int = DEFAULT_JOURNAL_TEXT,
    ) -> None:
        if maxlen is not None:
            whole_number(maxlen, "Journal maxlen", 1)
        self.maxlen = maxlen
        self.max_bytes = whole_number(max_bytes, "Journal max_bytes", 1)
        self.max_text = whole_number(max_text, "Journal max_text", 1)
        self._entries: deque[Exchange] = deque()
        self._sizes: deque[int] = deque()  # each entry's size_bytes, index for index
        self._bytes = 0
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        """Add an exchange (the server does, for every request); drop the oldest past a bound."""
        size = exchange.size_bytes  # measured once, outside the lock, and kept for its drop
        with self._lock:
            self._entries.append(exchange)
            self._sizes.append(size)
            self._bytes += size
            while self._entries and (
                self._bytes > self.max_bytes
                or (self.maxlen is not None and len(self._entries) > self.maxlen)
            ):
                self._entries.popleft()
                self._bytes -= self._sizes.popleft()

    def clear(self) -> None:
        """Forget every exchange."""
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Roughly the memory the entries hold (see ``max_bytes``)."""
        with self._lock:
            return self._bytes

    @property
    def entries(self) -> list[Exchange]:
        """Every exchange so far, oldest first (a new list; the entries are immutable)."""
        with self._lock:
            return list(self._entries)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index: int) -> Exchange:
        with self._lock:
            return self._entries[index]

    def calls(
        self,
        root_field: str | None = None,
        *,
        operation_type: str | None = None,
        operation_name: str | None = None,
    ) -> list[Exchange]:
        """The exchanges that match every criterion given.

        Raises ValueError for a root field the schema does not have (naming the
        closest) or an operation type other than ``query`` or ``mutation``.
        """
        if root_field is not None:
            check_root_field(root_field)
        if operation_type is not None and operation_type not in _OPERATION_TYPES:
            raise ValueError(f"operation_type is 'query' or 'mutation', not {operation_type!r}")
        return [
            e
            for e in self.entries
            if (root_field is None or root_field in e.root_fields)
            and (operation_type is None or e.operation_type == operation_type)
            and (operation_name is None or e.operation_name == operation_name)
        ]

    def format(self) -> str:
        """Every exchange described, for a report or a failure message."""
        entries = self.entries
        if not entries:
            return "(no requests)"
        return "\n".join(f"#{n} {e.describe()}" for n, e in enumerate(entries, 1))

    def assert_called(
        self,
        root_field: str,
        *,
        times: int | None = None,
        variables: Mapping[str, Any] | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> list[Exchange]:
        """Assert calls of a root field: ``times`` of them if given, matching the rest if given.

        ``variables`` must be contained in the request's variables, and
        ``arguments`` in the field's own arguments (variables applied, so an
        inline input matches too): ``arguments={"input": {"id": session_id}}``.
        Containment is by key, recursively into objects; other values must be equal.
        Returns the matching exchanges. The failure message lists every request
        received. A root field the schema does not have is a ValueError naming
        the closest one, so a misspelt name never passes.
        """
        __tracebackhide__ = True
        matching = [
            e
            for e in self.calls(root_field)
            if (variables is None or _contains(e.variables or {}, variables))
            and (
                arguments is None
                or any(
                    name == root_field and _contains(given, arguments)
                    for name, given in e.field_calls()
                )
            )
        ]
        wanted = root_field
        if variables is not None:
            wanted += f" with variables {_json(variables)}"
        if arguments is not None:
            wanted += f" with arguments {_json(arguments)}"
        if times is None and not matching:
            raise AssertionError(
                f"expected a call of {wanted}, got none. Received:\n{self.format()}"
            )
        if times is not None and len(matching) != times:
            raise AssertionError(
                f"expected {times} call(s) of {wanted}, got {len(matching)}. "
                f"Received:\n{self.format()}"
            )
        return matching

    def assert_called_once(
        self,
        root_field: str,
        *,
        variables: Mapping[str, Any] | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> Exchange:
        """Assert exactly one matching call of a root field, as :meth:`assert_called`; return it."""
        __tracebackhide__ = True
        return self.assert_called(root_field, times=1, variables=variables, arguments=arguments)[0]

    def assert_not_called(self, root_field: str) -> None:
        """Assert no request called a root field (one the schema has: else ValueError)."""
        __tracebackhide__ = True
        self.assert_called(root_field, times=0)


def _cut(text: str | None, limit: int, name: str, cut: set[str]) -> str | None:
    if text is None or len(text) <= limit:
        return text
    cut.add(name)
    return text[:limit]


#: Characters of JSON text, as ``json`` writes it (ASCII), per byte of the JSON it was read
#: from, at most: a raw control character in a string (taken with strict=False) becomes
#: ``\u00XX``; anything else grows less (a float such as 1e15 4.5 times, a separator twice).
_GROWTH = 6
_ENCODER = json.JSONEncoder(default=str)


def _json_prefix(
    value: Mapping[str, Any], limit: int, cut: set[str], source_bytes: int | None = None
) -> str:
    """``value`` as JSON text, encoded only as far as ``limit`` characters (then cut).

    When ``value`` was read from ``source_bytes`` of JSON, few enough for its text to
    fit in ``limit`` whatever it holds (:data:`_GROWTH`), it is encoded at once: the
    same text, written by json's C encoder (the step-by-step encoding is pure Python).
    """
    if source_bytes is not None and source_bytes * _GROWTH <= limit:
        return _ENCODER.encode(value)
    parts: list[str] = []
    length = 0
    for chunk in json.JSONEncoder(default=str).iterencode(value):
        parts.append(chunk)
        length += len(chunk)
        if length > limit:
            cut.add("variables")
            return "".join(parts)[:limit]
    return "".join(parts)


def _short(text: str, truncated: bool) -> str:
    if truncated:
        return f"{text[:500]}… (cut at {len(text)} characters)"
    return text if len(text) <= 500 else text[:500] + "…"


def _with_defaults(
    variables: dict[str, Any], definition: OperationDefinitionNode
) -> dict[str, Any]:
    for item in definition.variable_definitions or ():
        name = item.variable.name.value
        if name not in variables and item.default_value is not None:
            variables[name] = value_from_ast_untyped(item.default_value)
    return variables


def _contains(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    """Whether ``actual`` has every key of ``expected`` with an equal value, dicts alike."""
    for key, value in expected.items():
        if key not in actual:
            return False
        if isinstance(value, Mapping) and isinstance(actual[key], Mapping):
            if not _contains(actual[key], value):
                return False
        elif actual[key] != value:
            return False
    return True


def _arguments(node: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for argument in node.arguments or ():
        value = _plain(value_from_ast_untyped(argument.value, variables))
        if value is not Undefined:
            found[argument.name.value] = value
    return found


def _plain(value: Any) -> Any:
    """A value with the fields of unsent variables left out (null inside a list)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not Undefined}
    if isinstance(value, list):
        return [None if v is Undefined else _plain(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
