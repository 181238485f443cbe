"""Masks over a dataset's sessions: one byte per session, 1 where it matches.

A million matches as bytes take a megabyte (a list of booleans takes eight),
combine as big integers and count and find at C speed: what a deep page over
a large organization needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, islice
from typing import Any, TypeVar

__all__ = ["Mask", "all_of", "merged_page", "page"]

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


def page(
    items: Sequence[_T], mask: Mask, skip: int, count: int, start: int = 0, stop: int | None = None
) -> list[_T]:
    """The matching items after the first ``skip`` matches, at most ``count`` of them.

    Only ``items[start:stop]`` are looked at (all of them by default). Whole
    stretches of the mask are counted at C speed up to the one holding the
    first match wanted; only from there are items walked, a stretch at a time.
    """
    length = len(mask) if stop is None else stop
    while start < length:
        end = min(start + _STRETCH, length)
        found = mask.count(1, start, end)
        if found > skip:
            break
        skip -= found
        start = end
    taken: list[_T] = []
    while start < length and len(taken) < count:
        end = min(start + _STRETCH, length)
        wanted = count - len(taken)
        taken += islice(compress(items[start:end], mask[start:end]), skip, skip + wanted)
        skip, start = 0, end
    return taken


def merged_page(
    items: Sequence[_T],
    mask: Mask | None,
    inserts: Sequence[tuple[int, _T]],
    skip: int,
    count: int,
) -> list[_T]:
    """:func:`page` of the matching items with more items put among them.

    ``inserts`` are ``(position, item)`` pairs by position: each item goes
    before ``items[position]`` (after every item when the position is the
    length), several at one position in their order in ``inserts``. ``mask``
    None means every item matches. The items between two inserts are counted
    at C speed; only the page's own are walked.
    """
    taken: list[_T] = []
    start = 0
    for position, extra in [*inserts, (len(items), _END)]:
        if len(taken) >= count:
            break
        if position > start:
            found = position - start if mask is None else mask.count(1, start, position)
            if skip >= found:
                skip -= found
            else:
                wanted = count - len(taken)
                if mask is None:
                    taken += items[start + skip : min(position, start + skip + wanted)]
                else:
                    taken += page(items, mask, skip, wanted, start, position)
                skip = 0
            start = position
        if extra is _END or len(taken) >= count:
            continue
        if skip:
            skip -= 1
        else:
            taken.append(extra)
    return taken


#: Marks the end of the inserts in :func:`merged_page`.
_END: Any = object()
