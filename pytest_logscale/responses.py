"""Answers to plain queries, kept as JSON bytes while the state they were read from lasts.

A client polling the same query gets the same answer until something changes,
so the answer is kept with everything it depends on: the query text, the
operation name, the variables, who asked (user and session), the store's
:attr:`~pytest_logscale.store.Store.version` (which changes with every change,
activity included) and the clock. A request that matches all of them gets the
kept bytes; anything else runs the query. Only answers without errors of
queries that ran without changing the state are kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .store import Caller, Store

__all__ = ["EncodedAnswer", "Pending", "ResponseCache", "encode"]

#: The key of one answer: query, operation name, variables, user, session, version, clock.
Key = tuple[str, str | None, str | None, str, str | None, Hashable, int]


@dataclass(frozen=True, slots=True)
class Pending:
    """A request between :meth:`ResponseCache.lookup` and :meth:`ResponseCache.keep`.

    ``key`` names the state by value, so that an answer serves again when the same
    state comes back (the seeded state after every reset). ``guard`` holds counters
    that never repeat: an answer is kept only if neither moved while it was
    computed, so one computed across a change is never filed under a state that
    came back meanwhile.
    """

    key: Key
    guard: tuple[int, int]


class EncodedAnswer(dict[str, Any]):
    """A JSON answer that carries its encoding, so that it is encoded once however often sent.

    Read it as the dict it is; do not change it (it may be sent again).
    """

    __slots__ = ("payload",)

    def __init__(self, value: Mapping[str, Any]) -> None:
        super().__init__(value)
        self.payload = encode_json(value)


def encode_json(value: Any) -> bytes:
    """JSON as the app sends it: UTF-8, ASCII escapes, no indentation."""
    return json.dumps(value, check_circular=False).encode()


def encode(body: Any) -> bytes:
    """The bytes of an answer: kept ones as kept, others encoded now."""
    if isinstance(body, EncodedAnswer):
        return body.payload
    return encode_json(body)


class ResponseCache:
    """The most recent ``size`` answers, each valid only for the state it was read from.

    Client input bounds what is kept: an answer is not kept when its query text
    and variables together are longer than :attr:`MAX_KEY_CHARS`, or when its
    encoding is larger than :attr:`MAX_ANSWER_BYTES`, so the cache stays
    small whatever clients send.
    """

    MAX_KEY_CHARS = 16 * 1024
    MAX_ANSWER_BYTES = 1 << 20

    def __init__(self, store: Store, *, size: int = 64) -> None:
        self._store = store
        self._size = size
        self._entries: dict[Key, EncodedAnswer] = {}
        self._lock = threading.Lock()

    def lookup(
        self, query: str, operation_name: str | None, variables: Any, caller: Caller
    ) -> tuple[Pending, EncodedAnswer | None]:
        """The request in the state now, and the answer kept for it if any.

        Call it after authenticating (which may record activity) and before
        running the query; give the pending request to :meth:`keep`.
        """
        store = self._store
        guard = (store.generation, store.clock.moves)
        key: Key = (
            query,
            operation_name,
            None if variables is None else json.dumps(variables, sort_keys=True),
            caller.user.id,
            caller.session_id,
            store.version,
            store.clock.now_ms(),
        )
        pending = Pending(key, guard)
        if not self._size:
            return pending, None
        with self._lock:
            return pending, self._entries.get(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def keep(self, pending: Pending, data: Mapping[str, Any]) -> EncodedAnswer:
        """Encode ``{"data": data}``; keep it if nothing changed since ``pending`` was looked up."""
        answer = EncodedAnswer({"data": data})
        store = self._store
        key = pending.key
        if (
            self._size
            and pending.guard == (store.generation, store.clock.moves)
            and len(key[0]) + len(key[2] or "") <= self.MAX_KEY_CHARS
            and len(answer.payload) <= self.MAX_ANSWER_BYTES
            and key[5] == store.version
            and key[6] == store.clock.now_ms()
        ):
            with self._lock:
                if len(self._entries) >= self._size:
                    self._entries.clear()
                self._entries[key] = answer
        return answer
