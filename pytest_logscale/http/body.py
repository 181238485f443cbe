"""Reading a request body within a byte limit: one rule for ``/graphql`` and the control API."""

from __future__ import annotations

from typing import Any

__all__ = ["BodyError", "read_body"]


class BodyError(Exception):
    """A body that cannot be taken: ``status`` 413 (too large) or 400 (unreadable), and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body of a WSGI ``environ``, at most ``limit`` bytes, else :class:`BodyError`.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a chunked body (``wsgi.input_terminated``) is read up to one byte past
    the limit. No length and no chunked body is an empty body.
    """
    stream = environ["wsgi.input"]
    try:
        declared = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        raise BodyError(400, "The Content-Length header is not a number.") from None
    too_large = f"The request body is larger than the limit of {limit} bytes."
    if declared > limit:
        raise BodyError(413, too_large)
    try:
        if declared >= 0:
            raw: bytes = stream.read(declared)
        elif environ.get("wsgi.input_terminated"):
            raw = stream.read(limit + 1)
        else:
            raw = b""
    except (OSError, ValueError) as error:  # a broken chunked encoding, mostly
        raise BodyError(400, f"The request body could not be read: {error}.") from None
    if len(raw) > limit:
        raise BodyError(413, too_large)
    return raw
