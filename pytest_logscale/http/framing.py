"""HTTP/1.1 message framing, strictly (RFC 9112): the request head and chunked bodies.

The standard library's parser lets through what a proxy in front of a real
server would read differently: a header line without a colon hides every header
after it, ``Content-Length: +56`` and chunk sizes like ``0x38`` are taken, and
folded lines are joined. Here each of those is a :class:`FramingError`, and the
server closes the connection after saying so, since where the next request
would begin is no longer certain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

__all__ = ["ChunkedBody", "ClientGone", "FramingError", "RequestHead", "body_length", "read_head"]

_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_REQUEST_LINE = re.compile(rb"(" + _TCHAR + rb"+) ([\x21-\x7e\x80-\xff]+) HTTP/([0-9])\.([0-9])")
# A value may hold any byte but NUL, CR and LF: RFC 9110 (5.5) lets other control characters
# through "for robustness", and the application answers them (a token with one is unknown).
_FIELD_LINE = re.compile(rb"(" + _TCHAR + rb"+):[ \t]*([^\x00\r\n]*?)[ \t]*")
# Which lines _FIELD_LINE takes, without splitting them (_split does that for all at once).
_FIELD_SHAPE = re.compile(_TCHAR + rb"+:[^\x00\r\n]*")
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
_CHUNK_EXTENSION = (
    rb"(?:[ \t]*;[ \t]*" + _TCHAR + rb"+(?:[ \t]*=[ \t]*(?:" + _TCHAR + rb"+|" + _QUOTED + rb"))?)"
)
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,15})(" + _CHUNK_EXTENSION + rb"*)")
_MAX_LENGTH_DIGITS = 15  # a longer Content-Length is larger than any body worth reading
_MAX_BLANK_LINES = 4  # before the request line, which RFC 9112 (2.2) says to skip


class FramingError(Exception):
    """A request whose framing cannot be trusted: answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The connection ended before a whole request head arrived: nothing to answer."""


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request line and its header fields, every byte of them checked."""

    method: str
    target: str
    version: tuple[int, int]
    fields: tuple[tuple[str, str], ...]
    #: The values of each field by its name in lower case, in order (made from ``fields``).
    named: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        named: dict[str, list[str]] = {}
        for key, value in self.fields:
            named.setdefault(key.lower(), []).append(value)
        object.__setattr__(self, "named", named)

    def values(self, name: str) -> list[str]:
        """Every value of a field (names match ignoring case), in order."""
        return list(self.named.get(name.lower(), ()))

    def tokens(self, name: str) -> list[str]:
        """The comma-separated tokens of a field given any number of times, lower case."""
        found = self.named.get(name.lower())
        if found is None:
            return []
        joined = ",".join(found)
        return [t.strip().lower() for t in joined.split(",") if t.strip()]


def _line(readline: Callable[[int], bytes], room: int) -> bytes | None:
    """One line without its end (CRLF or LF); None when longer than ``room`` bytes."""
    raw = readline(room + 1)
    if not raw.endswith(b"\n"):
        if len(raw) > room:
            return None
        raise ClientGone()
    return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]


def read_head(readline: Callable[[int], bytes], max_bytes: int, max_fields: int) -> RequestHead:
    """Read and check a request head: the request line, then header fields up to a blank line.

    Raises :class:`ClientGone` at the end of the stream, :class:`FramingError`
    with 414 (request line) or 431 (header fields) past ``max_bytes`` or
    ``max_fields``, 505 for HTTP/2 and later, and 400 for anything malformed
    (an HTTP/1.1 request without a Host line, any request with two, included).
    """
    line: bytes | None = b""
    for _ in range(_MAX_BLANK_LINES + 1):
        line = _line(readline, max_bytes)
        if line != b"":
            break
    if line is None:
        raise FramingError(414, f"The request line is longer than {max_bytes} bytes.")
    request = _REQUEST_LINE.fullmatch(line)
    if request is None:
        raise FramingError(
            400, "The request line is not 'METHOD /path HTTP/1.1' (HTTP/0.9 is not spoken)."
        )
    version = (int(request[3]), int(request[4]))
    if version[0] != 1:
        raise FramingError(
            505, f"HTTP/{version[0]}.{version[1]} is not supported: this server speaks HTTP/1.1."
        )
    lines: list[bytes] = []
    room = max_bytes
    while True:  # _line and _field inlined: this runs for every field of every request
        raw = readline(room + 1)
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if not raw:
                break
            if len(lines) < max_fields:
                if _FIELD_SHAPE.fullmatch(raw) is None:
                    _refuse_field(raw)
                room -= len(raw) + 2
                lines.append(raw)
                continue
        elif len(raw) <= room:
            raise ClientGone()
        raise FramingError(
            431,
            f"The header fields are larger than {max_bytes} bytes or more than {max_fields}.",
        )
    head = RequestHead(
        request[1].decode("ascii"), request[2].decode("latin-1"), version, _split(lines)
    )
    _check_host(head)
    return head


def _split(lines: list[bytes]) -> tuple[tuple[str, str], ...]:
    """Field lines _FIELD_SHAPE took, as _FIELD_LINE splits them: the name is what comes before
    the first colon (a name has none), the value the rest without spaces and tabs around it."""
    if not lines:
        return ()
    text = b"\n".join(lines).decode("latin-1")  # one decode for all (names are ASCII)
    return tuple(
        (name, value.strip(" \t"))
        for name, _, value in (line.partition(":") for line in text.split("\n"))
    )


def _check_host(head: RequestHead) -> None:
    """RFC 9112 section 3.2: an HTTP/1.1 request has one Host line, any request at most one."""
    hosts = len(head.values("Host"))
    if hosts > 1:
        raise FramingError(400, f"The request has {hosts} Host header lines; give one.")
    if hosts == 0 and head.version >= (1, 1):
        raise FramingError(400, "An HTTP/1.1 request needs a Host header line (RFC 9112).")


def _field(raw: bytes) -> tuple[str, str]:
    field = _FIELD_LINE.fullmatch(raw)
    if field is None:
        _refuse_field(raw)
    return field[1].decode("ascii"), field[2].decode("latin-1")


def _refuse_field(raw: bytes) -> NoReturn:
    """Say what is wrong with a header or trailer line that is not ``Name: value``."""
    if raw[:1] in (b" ", b"\t"):
        raise FramingError(400, "A header line starts with white space (obsolete line folding).")
    shown = raw[:40].decode("latin-1")
    raise FramingError(
        400,
        f"The header line {shown!r} is not 'Name: value' "
        "(no white space before the colon, no NUL, CR or LF).",
    )


def body_length(head: RequestHead) -> int | None:
    """The body's declared length, None when it is chunked; FramingError when unclear."""
    codings = head.tokens("Transfer-Encoding")
    lengths = set(head.tokens("Content-Length"))
    if codings:
        if codings != ["chunked"]:
            raise FramingError(
                400, f"Transfer-Encoding {', '.join(codings)} is not supported: use chunked."
            )
        if lengths or head.values("Content-Length"):
            raise FramingError(400, "The request has both Transfer-Encoding and Content-Length.")
        if head.version < (1, 1):
            raise FramingError(400, "Transfer-Encoding needs HTTP/1.1.")
        return None
    if len(lengths) > 1:
        raise FramingError(400, "The request has several different Content-Length headers.")
    if not lengths:
        if head.values("Content-Length"):
            raise FramingError(400, "The Content-Length header is empty.")
        return 0
    (text,) = lengths
    if not (text.isascii() and text.isdigit()):
        raise FramingError(400, f"The Content-Length {text!r} is not a number of bytes (digits).")
    if len(text) > _MAX_LENGTH_DIGITS:
        raise FramingError(413, "The request body is larger than any this server takes.")
    return int(text)


class ChunkedBody:
    """A chunked request body as a stream of its data; malformed chunks raise ValueError.

    Chunk sizes are hex digits only; chunk extensions are taken and ignored;
    trailer fields are checked like header fields and ignored. ``done`` says
    whether the last chunk and the trailer were read.
    """

    def __init__(self, stream: Any, max_line: int, max_fields: int) -> None:
        self._stream = stream
        self._max_line = max_line
        self._max_fields = max_fields
        self._left = 0  # of the current chunk
        self._broken: str | None = None  # what was wrong with the chunks, once it was
        self.done = False

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes of data (all that is left when None or negative).

        Once a malformed chunk was met, every read raises ValueError again.
        """
        if self._broken is not None:
            raise ValueError(self._broken)
        try:
            return self._read(size)
        except ValueError as error:
            self._broken = str(error)
            raise

    def _read(self, size: int | None) -> bytes:
        parts: list[bytes] = []
        wanted = -1 if size is None or size < 0 else size
        while not self.done and wanted != 0:
            if self._left == 0:
                self._next_chunk()
                continue
            take = self._left if wanted < 0 else min(self._left, wanted)
            data = self._stream.read(take)
            if not data:
                raise ValueError("the body ended inside a chunk")
            parts.append(data)
            self._left -= len(data)
            wanted -= len(data) if wanted > 0 else 0
            if self._left == 0:
                self._end_of_chunk()
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """A line of data, read a byte at a time (the app reads bodies whole)."""
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            byte = self.read(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)

    def _next_chunk(self) -> None:
        line = self._stream.readline(self._max_line + 1)
        if not line.endswith(b"\r\n"):
            raise ValueError("a chunk size line is too long or does not end in CRLF")
        size = _CHUNK_LINE.fullmatch(line[:-2])
        if size is None:
            raise ValueError(f"{line[:40]!r} is not a chunk size (hex digits, then extensions)")
        self._left = int(size[1], 16)
        if self._left == 0:
            self._trailer()

    def _end_of_chunk(self) -> None:
        if self._stream.read(2) != b"\r\n":
            raise ValueError("a chunk's data does not end in CRLF")

    def _trailer(self) -> None:
        for _ in range(self._max_fields + 1):
            try:
                raw = _line(self._stream.readline, self._max_line)
            except ClientGone:
                raise ValueError("the body ended inside the trailer") from None
            if raw is None:
                raise ValueError("a trailer line is too long")
            if not raw:
                self.done = True
                return
            try:
                _field(raw)
            except FramingError as error:
                raise ValueError(error.message) from None
        raise ValueError("the trailer has too many fields")
