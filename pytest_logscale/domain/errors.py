"""Errors the store raises; the web layer turns each into LogScale's answer."""

from __future__ import annotations

__all__ = [
    "InvalidArgument",
    "LogScaleError",
    "NotFound",
    "PermissionDenied",
    "StateReset",
    "Unauthenticated",
]


class LogScaleError(Exception):
    """A request the fake refuses; ``message`` is what the client is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(LogScaleError):
    """No token, an unknown token, or the token of an ended or expired session (HTTP 401)."""


class PermissionDenied(LogScaleError):
    """The caller lacks an organization permission the operation needs."""

    def __init__(self, action: str, what: str) -> None:
        super().__init__(f"You do not have permission to {what}: it needs the {action} permission.")
        self.action = action


class NotFound(LogScaleError):
    """No such thing in the caller's organization (the same whether it exists elsewhere or not)."""


class InvalidArgument(LogScaleError):
    """An argument value the operation cannot take."""


class StateReset(LogScaleError):
    """The state was reset (or reseeded, or loaded) after the request began: it is not applied."""

    def __init__(self) -> None:
        super().__init__(
            "The fake was reset while this request ran: nothing it asked for was applied."
        )
