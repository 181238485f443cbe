"""The control API's side of HTTP: refusals, reading a JSON body and checking its values.

Every check names the JSON key (or query parameter) it refuses, as the answer's ``field``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from ..domain.checks import BoundError, whole_number
from ..domain.instants import parse_instant
from ..http.body import BodyError, read_body

__all__ = [
    "Refusal",
    "Request",
    "bad",
    "encode",
    "full",
    "instant",
    "only",
    "query_parameters",
    "read_json",
    "text",
    "whole",
]


class Refusal(Exception):
    """A control request refused: HTTP ``status``, a message, and the field to blame if any."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.extra: dict[str, Any] = {}
        self.headers: list[tuple[str, str]] = []


def bad(field: str | None, message: str) -> Refusal:
    """A 400 refusal blaming ``field`` (None: the body as a whole)."""
    return Refusal(400, message, field)


def full(error: BoundError) -> Refusal:
    """A 409 refusal of a call that would take the fake past a bound, naming the bound.

    409, not 400: the request is right, the fake's state is full; after a reset
    (or with the bound raised) the same request is taken.
    """
    refusal = Refusal(409, f"{str(error)[:1].upper()}{str(error)[1:]}.")
    refusal.extra.update(bound=error.bound, limit=error.limit)
    return refusal


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What a handler gets: the parsed query parameters and a way to read the JSON body."""

    query: dict[str, str]
    read_body: Callable[[], Any]

    def body(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        data = self.read_body()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise bad(None, "The request body must be a JSON object.")
        return data

    def json(self) -> Any:
        """The body as any JSON value (None when empty)."""
        return self.read_body()


# -- reading requests ------------------------------------------------------------------------


def read_json(environ: dict[str, Any], limit: int) -> Any:
    """The JSON body (None when empty), at most ``limit`` bytes (413 beyond)."""
    try:
        raw = read_body(environ, limit)
    except BodyError as error:
        raise Refusal(error.status, error.message) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad(None, "The request body is not UTF-8 text.") from None
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise bad(None, f"The request body is not valid JSON: {error}.") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def query_parameters(environ: dict[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    """The query string's parameters: each one ``allowed``, given once and not empty."""
    found: dict[str, str] = {}
    for name, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items():
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise bad(name, f"Unknown query parameter {name!r} (this endpoint takes: {known}).")
        if len(values) > 1:
            raise bad(name, f"The query parameter {name!r} is given more than once.")
        if not values[0]:
            raise bad(name, f"The query parameter {name!r} is empty.")
        found[name] = values[0]
    return found


def only(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse a key the endpoint does not take, naming it and the keys it does take."""
    known = list(allowed)
    for key in body:
        if key not in known:
            raise bad(key, f"Unknown key {key!r} (known: {', '.join(known)}).")


def whole(body: Mapping[str, Any], key: str) -> int:
    """``body[key]``, which must be there and be a whole number (not a bool, not 1.0)."""
    if key not in body:
        raise bad(key, f"{key!r} is missing.")
    try:
        return whole_number(body[key], repr(key), None)
    except ValueError as error:
        raise bad(key, f"{error}.") from None


def text(body: Mapping[str, Any], key: str) -> str:
    """``body[key]``, which must be a string."""
    value = body.get(key)
    if not isinstance(value, str):
        raise bad(key, f"{key!r} must be a string, not {json.dumps(value)[:60]}.")
    return value


def instant(value: Any, field: str = "set") -> int:
    """Epoch milliseconds of a whole number or an ISO-8601 string with a time zone,
    an instant the clock can show (0001-01-01 to 9999-12-31)."""
    try:
        return parse_instant(value, repr(field))
    except ValueError as error:
        raise bad(field, f"{error}.") from None


def encode(body: Any) -> bytes:
    """A JSON answer, ending in a newline."""
    return json.dumps(body).encode() + b"\n"  # the shell prompt after curl's output on its line
