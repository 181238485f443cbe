"""The request journal: every request the fake answered, read at the GraphQL level."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, Undefined
from graphql.utilities import value_from_ast_untyped

from ..domain.checks import whole_number

__all__ = ["Exchange", "Journal"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer.

    ``operation_type`` (``query`` or ``mutation``), ``operation_name`` and
    ``root_fields`` are None or empty when the request never got as far as a
    valid document; ``user_id`` and ``session_id`` when it was not
    authenticated. ``response`` is the JSON body sent back (or its text when it
    was not JSON); ``fault`` names an injected fault that shaped the answer.
    ``auth_failure`` says why a 401 was sent (no token, an unknown one, another
    scheme, a logged-out, revoked or expired session and which limit), since
    the answer itself only says ``The supplied authentication is invalid``.
    ``selections`` and ``definition`` are the parsed root fields and operation,
    from which :attr:`arguments` reads what each root field was called with.
    """

    method: str
    path: str
    status: int
    operation_type: str | None = None
    operation_name: str | None = None
    root_fields: tuple[str, ...] = ()
    variables: Mapping[str, Any] | None = None
    query: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    response: Any = None
    fault: str | None = None
    auth_failure: str | None = None
    selections: tuple[FieldNode, ...] = field(default=(), compare=False, repr=False)
    definition: OperationDefinitionNode | None = field(default=None, compare=False, repr=False)

    def calls(self, root_field: str) -> bool:
        """Whether this request called a root field."""
        return root_field in self.root_fields

    def field_calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every root field selected, in document order, with its arguments.

        Arguments are plain JSON-like values with the request's variables (and
        the variables' defaults) put in, so an input written inline in the
        document and one passed as a variable read the same; enum values are
        their names. An argument given a variable the request did not send is left out.
        """
        variables = self._variables_with_defaults()
        return [(node.name.value, _arguments(node, variables)) for node in self.selections]

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

    def _variables_with_defaults(self) -> dict[str, Any]:
        variables = dict(self.variables or {})
        definitions = (self.definition.variable_definitions if self.definition else None) or ()
        for definition in definitions:
            name = definition.variable.name.value
            if name not in variables and definition.default_value is not None:
                variables[name] = value_from_ast_untyped(definition.default_value)
        return variables

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
        if self.variables:
            lines.append("  variables: " + _json(self.variables))
        called = [
            f"{name}({_json(arguments)})" for name, arguments in self.field_calls() if arguments
        ]
        if called:
            lines.append("  arguments: " + ", ".join(called))
        if self.response is not None:
            body = (
                self.response
                if isinstance(self.response, str)
                else json.dumps(self.response, default=str)
            )
            lines.append("  response: " + (body if len(body) <= 500 else body[:500] + "…"))
        return "\n".join(lines)


@dataclass
class Journal:
    """The exchanges of the current test, oldest first; thread-safe.

    With ``maxlen`` only the newest ``maxlen`` exchanges are kept (``serve``
    keeps 1,000); without it, every one.
    """

    maxlen: int | None = None
    _entries: deque[Exchange] = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.maxlen is not None:
            whole_number(self.maxlen, "Journal maxlen", 1)
        self._entries = deque(maxlen=self.maxlen)

    def record(self, exchange: Exchange) -> None:
        """Add an exchange (the server does this for every request)."""
        with self._lock:
            self._entries.append(exchange)

    def clear(self) -> None:
        """Forget every exchange."""
        with self._lock:
            self._entries.clear()

    @property
    def entries(self) -> list[Exchange]:
        """A copy of every exchange so far."""
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
        """The exchanges that match every criterion given."""
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
        Returns the matching exchanges. The failure message lists every request received.
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
        """Assert no request called a root field."""
        __tracebackhide__ = True
        self.assert_called(root_field, times=0)


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
