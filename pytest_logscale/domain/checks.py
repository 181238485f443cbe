"""The one check every option of a whole number shares, with one wording for its error,
and the error of an arranging call that would take the state past a bound."""

from __future__ import annotations

__all__ = [
    "BoundError",
    "OptionError",
    "check_bound",
    "is_whole_number_text",
    "raise_bound_with",
    "whole_number",
    "whole_number_text",
]


class OptionError(ValueError):
    """A value refused for an option; ``name`` is the option (the ``what`` of the check)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class BoundError(ValueError):
    """An arranging call refused, changing nothing: it would take the state past a bound.

    ``bound`` is the bound's name (``max_sessions``, ``max_api_tokens``,
    ``max_faults``) and ``limit`` its value. The message says what was refused
    and why (``refused``), the bound, and how to raise it.
    """

    def __init__(self, bound: str, limit: int, refused: str) -> None:
        super().__init__(f"{refused}: {bound} is {limit}; raise it with {raise_bound_with(bound)}")
        self.bound = bound
        self.limit = limit


def check_bound(bound: str, limit: int | None, count: int, refused: str) -> None:
    """BoundError(``bound``, ``limit``, ``refused``) when ``count`` is more than ``limit``
    (None: no bound): the one test of every bound on what is arranged between resets."""
    if limit is not None and count > limit:
        raise BoundError(bound, limit, refused)


def raise_bound_with(bound: str) -> str:
    """Where a bound of the seeding options (``max_sessions`` ...) is raised, as errors say it."""
    flag = bound.replace("_", "-")
    return f"{bound}=N (marker or factory), --logscale-{flag} or serve --{flag}"


def whole_number(value: object, what: str, low: int | None, high: int | None = None) -> int:
    """``value`` when it is an int (not a bool) from ``low`` to ``high``, else :class:`OptionError`.

    ``low`` or ``high`` None means no bound that side. The error names ``what`` and the value given.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        if low is None and high is None:
            bounds = ""
        elif high is None:
            bounds = f" of at least {low}"
        elif low is None:
            bounds = f" of at most {high}"
        else:
            bounds = f" from {low} to {high}"
        raise OptionError(what, f"{what} must be a whole number{bounds}, not {value!r}")
    return value


def whole_number_text(text: str, what: str, low: int | None, high: int | None = None) -> int:
    """The whole number a text of decimal digits (maybe signed) means, checked as above.

    For options that arrive as text: ini lines, command-line flags. ValueError
    names ``what`` and the text when it is no whole number or out of bounds.
    """
    stripped = text.strip()
    if not is_whole_number_text(stripped):
        raise OptionError(what, f"{what} must be a whole number, not {text!r}")
    return whole_number(int(stripped), what, low, high)


def is_whole_number_text(text: str) -> bool:
    """Whether ``text`` is ASCII decimal digits, maybe after one sign (no spaces, no ``_``)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()
