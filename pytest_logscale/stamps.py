"""Dicts that note when they last changed, so that a state made of them has a version.

Every change to a :class:`StampedDict` takes a new stamp from one counter
shared by the whole process, so stamps only grow: the largest stamp among the
dicts of a state names that state, and a state that changed in any way (or
was replaced by a new one) has a larger one. The store's ``version`` is built
on this; the app's response cache trusts it.
"""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

__all__ = ["StampedDict", "next_stamp"]

_K = TypeVar("_K")
_V = TypeVar("_V")

_counter = itertools.count(1)


def next_stamp() -> int:
    """A stamp larger than every stamp handed out before (thread-safe under the GIL)."""
    return next(_counter)


class StampedDict(dict[_K, _V]):
    """A dict whose :attr:`stamp` moves on at creation and at every change made through it."""

    __slots__ = ("stamp",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamp = next_stamp()

    def __setitem__(self, key: _K, value: _V) -> None:
        super().__setitem__(key, value)
        self.stamp = next_stamp()

    def __delitem__(self, key: _K) -> None:
        super().__delitem__(key)
        self.stamp = next_stamp()

    def __ior__(self, other: Any) -> StampedDict[_K, _V]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: _K, default: Any = None) -> Any:
        """As :meth:`dict.setdefault`; stamps (a caller may change the value it gets back)."""
        self.stamp = next_stamp()
        return super().setdefault(key, default)

    def pop(self, key: _K, *default: Any) -> Any:
        """As :meth:`dict.pop`."""
        self.stamp = next_stamp()
        return super().pop(key, *default)

    def popitem(self) -> tuple[_K, _V]:
        """As :meth:`dict.popitem`."""
        self.stamp = next_stamp()
        return super().popitem()

    def clear(self) -> None:
        """As :meth:`dict.clear`."""
        super().clear()
        self.stamp = next_stamp()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As :meth:`dict.update`."""
        super().update(*args, **kwargs)
        self.stamp = next_stamp()
