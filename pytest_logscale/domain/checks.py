"""The one check every option of a whole number shares, with one wording for its error."""

from __future__ import annotations

__all__ = ["whole_number", "whole_number_text"]


def whole_number(value: object, what: str, low: int, high: int | None = None) -> int:
    """``value`` when it is an int (not a bool) from ``low`` to ``high``, else ValueError.

    ``high`` None means no upper bound. The error names ``what`` and the value given.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"of at least {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{what} must be a whole number {bounds}, not {value!r}")
    return value


def whole_number_text(text: str, what: str, low: int, high: int | None = None) -> int:
    """The whole number a text of decimal digits (maybe signed) means, checked as above.

    For options that arrive as text: ini lines, command-line flags. ValueError
    names ``what`` and the text when it is no whole number or out of bounds.
    """
    stripped = text.strip()
    digits = stripped[1:] if stripped[:1] in "+-" else stripped
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{what} must be a whole number, not {text!r}")
    return whole_number(int(stripped), what, low, high)
