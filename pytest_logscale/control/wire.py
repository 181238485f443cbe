"""The control API's side of HTTP: refusals, reading a JSON body and checking its values.

Every check names the JSON key (or query parameter) it refuses, as the answer's ``field``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from ..domain.clock import to_millis
from ..http.body import BodyError, read_body

__all__ = [
    "LAST_INSTANT",
    "Refusal",
    "Request",
    "bad",
    "encode",
    "instant",
    "only",
    "query_parameters",
    "read_json",
    "text",
    "whole",
]

#: The latest instant the control API takes (9999-12-31T23:59:59.999Z): the state file writes it.
LAST_INSTANT = 253_402_300_799_999


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
    value = body.get(key)
    if key not in body:
        raise bad(key, f"{key!r} is missing.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(key, f"{key!r} must be a whole number, not {json.dumps(value)[:60]}.")
    return value


def text(body: Mapping[str, Any], key: str) -> str:
    """``body[key]``, which must be a string."""
    value = body.get(key)
    if not isinstance(value, str):
        raise bad(key, f"{key!r} must be a string, not {json.dumps(value)[:60]}.")
    return value


def instant(value: Any, field: str = "set") -> int:
    """Epoch milliseconds of a whole number or an ISO-8601 string with a time zone."""
    if isinstance(value, str):
        written = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        try:
            parsed = datetime.fromisoformat(written)
        except ValueError:
            raise bad(field, f"{field!r} is not an ISO-8601 instant: {value[:60]!r}.") from None
        if parsed.tzinfo is None:
            raise bad(field, f"{field!r} needs a time zone, e.g. 2026-03-01T12:00:00Z.")
        millis = to_millis(parsed)
    else:
        millis = whole({field: value}, field)
    if not 0 <= millis <= LAST_INSTANT:
        raise bad(field, f"{field!r} must lie between 1970-01-01 and 9999-12-31.")
    return millis


def encode(body: Any) -> bytes:
    """A JSON answer, ending in a newline."""
    return json.dumps(body).encode() + b"\n"  # the shell prompt after curl's output on its line
