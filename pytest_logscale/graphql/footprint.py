"""How many bytes a prepared document holds, for the document cache's budget.

The walk follows what a parsed document owns (its nodes, their locations and
tokens, the strings in them, the source text) and the containers around it,
each object counted once with :func:`sys.getsizeof`. It stops at what is
shared with everything else (the schema, types, enum members), so a figure is
what dropping the document would give back, give or take the allocator's
rounding. It walks with a stack, never recursing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from enum import Enum

from graphql import Location, Node, Source, Token

__all__ = ["retained_bytes"]


def retained_bytes(*roots: object) -> int:
    """Bytes held by ``roots`` and what they own, each object counted once."""
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, Enum, type)) or id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(_owned(item))
    return total


def _owned(item: object) -> Iterable[object]:
    """The objects ``item`` owns, as far as the walk follows them."""
    if isinstance(item, Node):
        return (getattr(item, key, None) for key in item.keys)
    if isinstance(item, Location):
        return (item.start_token, item.end_token, item.source)
    if isinstance(item, Token):
        return (item.value, item.prev, item.next)
    if isinstance(item, Source):
        return (item.body, item.name)
    if isinstance(item, (list, tuple, set, frozenset)):
        return item
    if isinstance(item, dict):
        return (*item.keys(), *item.values())
    if is_dataclass(item):
        return (getattr(item, f.name) for f in fields(item))
    return ()  # strings, numbers and anything else: counted, not followed
