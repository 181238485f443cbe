"""Masks over a dataset's sessions: one byte per session, 1 where it matches.

A million matches as bytes take a megabyte (a list of booleans takes eight),
combine as big integers and count and find at C speed: what a deep page over
a large organization needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, islice
from typing import TypeVar

__all__ = ["Mask", "all_of", "page"]

Mask = bytes

_T = TypeVar("_T")

#: How many sessions a page's search counts at once before walking the last stretch.
_STRETCH = 1 << 14


def all_of(masks: Sequence[Mask]) -> Mask:
    """1 where every mask has 1 (the masks are of one length, at least one)."""
    found = masks[0]
    for mask in masks[1:]:
        both = int.from_bytes(found, "little") & int.from_bytes(mask, "little")
        found = both.to_bytes(len(found), "little")
    return found


def page(items: Sequence[_T], mask: Mask, skip: int, count: int) -> list[_T]:
    """The matching items after the first ``skip`` matches, at most ``count`` of them.

    Whole stretches of the mask are counted at C speed up to the one holding
    the first match wanted; only from there are items walked, a stretch at a time.
    """
    start, length = 0, len(mask)
    while start < length:
        found = mask.count(1, start, start + _STRETCH)
        if found > skip:
            break
        skip -= found
        start += _STRETCH
    taken: list[_T] = []
    while start < length and len(taken) < count:
        end = start + _STRETCH
        wanted = count - len(taken)
        taken += islice(compress(items[start:end], mask[start:end]), skip, skip + wanted)
        skip, start = 0, end
    return taken
