"""Masks over a dataset's sessions: one byte per session, 1 where it matches.

A million matches as bytes take a megabyte (a list of booleans takes eight),
combine as big integers and count and find at C speed: what a deep page over
a large organization needs. :class:`Patched` reads as a mask with a few bytes
set otherwise (changed sessions) without being built; :func:`merged_page`
pages with more items (new sessions) put among the masked ones.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate, compress, islice
from operator import sub
from typing import Any, TypeVar

__all__ = ["Mask", "Patched", "all_of", "merged_page", "page"]

Mask = bytes

_T = TypeVar("_T")

#: How many sessions a page's search counts at once to find the stretch holding its start,
#: and then the step; items are walked a step at a time.
_STRETCH = 1 << 14
_STEP = 1 << 9


def all_of(masks: Sequence[Mask]) -> Mask:
    """1 where every mask has 1 (the masks are of one length, at least one)."""
    found = masks[0]
    for mask in masks[1:]:
        both = int.from_bytes(found, "little") & int.from_bytes(mask, "little")
        found = both.to_bytes(len(found), "little")
    return found


class Patched:
    """A mask (None: 1 everywhere) with the bytes at a few positions set otherwise.

    It is read as a mask is (``count(1, start, stop)``, ``len``, slices) without
    being built whole: a count is the base's count plus what the patches in the
    range change, a slice is built for its own stretch only. A few changed
    sessions over a large organization's columns cost no copy of its masks.
    """

    __slots__ = ("_base", "_change", "_positions", "_size", "_values")

    def __init__(self, base: Mask | None, size: int, positions: list[int], values: bytes) -> None:
        """``positions``: distinct, ascending; ``values``: the byte (0 or 1) at each."""
        self._base = base
        self._size = size
        self._positions = positions
        self._values = values
        was = b"\x01" * len(positions) if base is None else bytes(map(base.__getitem__, positions))
        #: How much the patches before each index change a count.
        self._change: list[int] = [0, *accumulate(map(sub, values, was))]

    def __len__(self) -> int:
        return self._size

    def count(self, value: int, start: int = 0, stop: int | None = None) -> int:
        """How many bytes in ``[start, stop)`` are 1 (``value`` must be 1)."""
        if value != 1:
            raise ValueError("a patched mask counts ones only")
        stop = self._size if stop is None else min(stop, self._size)
        if start >= stop:
            return 0
        base = self._base
        found = stop - start if base is None else base.count(1, start, stop)
        first = bisect_left(self._positions, start)
        last = bisect_left(self._positions, stop, first)
        return found + self._change[last] - self._change[first]

    def __getitem__(self, part: slice) -> bytes:
        start, stop, step = part.indices(self._size)
        if step != 1:
            raise ValueError("a patched mask is sliced in steps of one")
        stop = max(start, stop)
        base = self._base
        chunk = bytearray(b"\x01") * (stop - start) if base is None else bytearray(base[start:stop])
        positions, values = self._positions, self._values
        first = bisect_left(positions, start)
        for index in range(first, bisect_left(positions, stop, first)):
            chunk[positions[index] - start] = values[index]
        return bytes(chunk)


def page(
    items: Sequence[_T],
    mask: Mask | Patched,
    skip: int,
    count: int,
    start: int = 0,
    stop: int | None = None,
) -> list[_T]:
    """The matching items after the first ``skip`` matches, at most ``count`` of them.

    Only ``items[start:stop]`` are looked at (all of them by default). Whole
    stretches of the mask are counted at C speed up to the one holding the
    first match wanted, then steps within it; only from there are items
    walked, a step at a time, and a step that matches whole is sliced.
    """
    length = len(mask) if stop is None else stop
    for size in (_STRETCH, _STEP):
        while start < length:
            end = min(start + size, length)
            found = mask.count(1, start, end)
            if found > skip:
                break
            skip -= found
            start = end
    taken: list[_T] = []
    while start < length and len(taken) < count:
        end = min(start + _STEP, length)
        wanted = count - len(taken)
        if mask.count(1, start, end) == end - start:
            taken += items[start + skip : min(end, start + skip + wanted)]
        else:
            taken += islice(compress(items[start:end], mask[start:end]), skip, skip + wanted)
        skip, start = 0, end
    return taken


def merged_page(
    items: Sequence[_T],
    mask: Mask | Patched | None,
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
