"""Fault injection: make chosen requests fail the way a real service sometimes does.

A :class:`Fault` says *what* goes wrong (an HTTP error status, a GraphQL
error, a 429, a delay, a dropped connection, a truncated body); a
:class:`FaultRule` says *which* requests it hits (every one, those of an
operation name or calling a root field, at most ``times`` of them). A
:class:`FaultPlan` holds the rules in the order they were added: the first
rule that matches a request, and has uses left, fires, and only that one.

Faults hit GraphQL requests the fake would otherwise execute: a request
refused anyway (401, 400, 413, or 429 from the rate limit) is answered as
usual and uses up no fault. This module decides; the app applies.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from typing import Any

from ..domain.checks import OptionError, check_bound, whole_number
from .names import check_root_field

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "Fired",
]

#: The longest delay a fault may ask for, in seconds: long enough for any client timeout.
MAX_DELAY = 300.0
#: The largest Retry-After a fault may send, in seconds (a day).
MAX_RETRY_AFTER = 86_400


class FaultKind(Enum):
    """What goes wrong; the value is the fault's name in a state file."""

    STATUS = "status"
    GRAPHQL_ERROR = "graphqlError"
    RATE_LIMITED = "rateLimited"
    DELAY = "delay"
    DROPPED_CONNECTION = "droppedConnection"
    TRUNCATED_BODY = "truncatedBody"


# Each check below raises OptionError naming the parameter (``name``) it refuses, so that
# a reader of faults given as JSON blames the JSON key without reading the message.


def _seconds(value: object, name: str, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= MAX_DELAY
    ):
        raise OptionError(
            name, f"{what} must be a number of seconds from 0 to {MAX_DELAY:g}, not {value!r}"
        )
    return float(value)


def _name(value: object, name: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OptionError(name, f"{what} must be a non-empty string, not {value!r}")
    return value


def _whole(value: object, name: str, what: str, low: int, high: int) -> int:
    """:func:`whole_number`'s check and wording, its error naming the parameter ``name``."""
    try:
        return whole_number(value, what, low, high)
    except OptionError as error:
        raise OptionError(name, str(error)) from None


@dataclass(frozen=True, slots=True)
class Fault:
    """One way for a request to go wrong. Make one with a class method:

    - ``Fault.status(503)``: that HTTP status and a JSON error body
      ``{"errors": [{"message": ...}]}``, instead of running the request;
      ``Fault.status(502, html="...")`` sends an HTML page instead, as a proxy would.
    - ``Fault.graphql_error("...")``: HTTP 200, the GraphQL error at a root
      field (``errors[].path``), the other root fields answered.
    - ``Fault.rate_limited(retry_after=30)``: HTTP 429 with ``Retry-After``.
    - ``Fault.delay(0.5)`` or ``Fault.delay(0.1, up_to=2.0)``: a real wait
      (fixed, or drawn uniformly from a seeded generator) before the request
      runs and is answered normally.
    - ``Fault.dropped_connection()``: the connection is closed with no answer;
      the request is not run.
    - ``Fault.truncated_body()``: the request runs, the answer's headers
      promise the whole body, and the connection closes part-way through it.

    Bad values raise ValueError when the fault is made: an
    :class:`~pytest_logscale.domain.checks.OptionError` whose ``name`` is the
    parameter to blame (``code``, ``message``, ``html``, ``retry_after``,
    ``seconds``, ``up_to``, ``keep_bytes``).
    """

    kind: FaultKind
    code: int = 200
    message: str | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    up_to: float | None = None
    keep_bytes: int | None = None
    html: str | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        if not isinstance(kind, FaultKind):
            raise OptionError("kind", f"a fault's kind must be a FaultKind, not {kind!r}")
        if self.message is not None:
            _name(self.message, "message", "a fault's message")
        if self.html is not None and not isinstance(self.html, str):
            raise OptionError("html", f"an HTML body must be a string, not {self.html!r}")
        if kind is FaultKind.STATUS:
            _check_status(self.code)
        elif kind is FaultKind.RATE_LIMITED and self.retry_after is not None:
            _whole(self.retry_after, "retry_after", "Retry-After", 0, MAX_RETRY_AFTER)
        elif kind is FaultKind.DELAY:
            _seconds(self.seconds, "seconds", "a delay")
            up_to = self.up_to
            if up_to is not None and _seconds(up_to, "up_to", "a delay's up_to") < self.seconds:
                raise OptionError(
                    "up_to",
                    f"a delay's up_to ({up_to:g} s) must not be below its "
                    f"seconds ({self.seconds:g} s)",
                )
        elif kind is FaultKind.TRUNCATED_BODY and self.keep_bytes is not None:
            # 0 would send nothing: a dropped connection, not a truncated body
            _whole(self.keep_bytes, "keep_bytes", "keep_bytes of a truncated body", 1, 2**31)

    # -- making one -------------------------------------------------------------------------

    @classmethod
    def status(cls, code: int, message: str | None = None, *, html: str | None = None) -> Fault:
        """Answer with HTTP ``code`` (400-599 but 429) and a JSON error body with ``message``.

        With ``html``, the body is that text as ``text/html`` instead, like the
        error page of a proxy or load balancer in front of LogScale.
        """
        return cls(FaultKind.STATUS, code=code, message=message, html=html)

    @classmethod
    def graphql_error(cls, message: str | None = None) -> Fault:
        """Fail one root field with a GraphQL error (HTTP 200), answering the others.

        The error lands on the rule's ``root_field``, else on the operation's
        first root field; that field's resolver does not run (a mutation
        changes nothing). As GraphQL requires, an error on a non-null root
        field (all but ``user``) makes the whole ``data`` null.
        """
        return cls(FaultKind.GRAPHQL_ERROR, message=message)

    @classmethod
    def rate_limited(cls, retry_after: int | None = 1, message: str | None = None) -> Fault:
        """Answer 429 with ``Retry-After: retry_after`` (seconds; None sends no header)."""
        return cls(FaultKind.RATE_LIMITED, retry_after=retry_after, message=message)

    @classmethod
    def delay(cls, seconds: float, up_to: float | None = None) -> Fault:
        """Wait ``seconds`` (or a seeded uniform draw up to ``up_to``), then answer normally."""
        return cls(FaultKind.DELAY, seconds=seconds, up_to=up_to)

    @classmethod
    def dropped_connection(cls) -> Fault:
        """Close the connection without an answer; the request is not run."""
        return cls(FaultKind.DROPPED_CONNECTION)

    @classmethod
    def truncated_body(cls, keep_bytes: int | None = None) -> Fault:
        """Run the request, then send only ``keep_bytes`` (1 or more) of the body and close.

        By default half of the body is kept. The ``Content-Length`` header still
        gives the whole body's length, and at least one byte is always missing.
        """
        return cls(FaultKind.TRUNCATED_BODY, keep_bytes=keep_bytes)

    # -- reading one ------------------------------------------------------------------------

    def describe(self) -> str:
        """A short label, as the journal shows it: ``status 503``, ``delay 0.5 s``..."""
        kind = self.kind
        if kind is FaultKind.STATUS:
            return f"status {self.code}"
        if kind is FaultKind.RATE_LIMITED:
            after = (
                "no Retry-After" if self.retry_after is None else f"Retry-After {self.retry_after}"
            )
            return f"rate limited ({after})"
        if kind is FaultKind.DELAY:
            upper = "" if self.up_to is None else f" to {self.up_to:g}"
            return f"delay {self.seconds:g}{upper} s"
        if kind is FaultKind.TRUNCATED_BODY and self.keep_bytes is not None:
            return f"truncated body ({self.keep_bytes} bytes kept)"
        return kind.name.lower().replace("_", " ")

    @property
    def http_status(self) -> int:
        """The status a status or 429 fault answers with."""
        return 429 if self.kind is FaultKind.RATE_LIMITED else self.code

    def error_body(self) -> tuple[dict[str, Any] | bytes, str]:
        """The body of a status or 429 fault, and its content type.

        LogScale's JSON error shape, or the HTML page of a status fault given one.
        """
        if self.html is not None:
            return self.html.encode(), "text/html; charset=utf-8"
        message = self.message or _default_message(self.http_status)
        return {"errors": [{"message": message}]}, "application/json"

    def kept(self, length: int) -> int:
        """How many bytes of a ``length``-byte body a truncated body sends."""
        wanted = length // 2 if self.keep_bytes is None else self.keep_bytes
        return max(0, min(wanted, length - 1))


def _check_status(code: object) -> None:
    if isinstance(code, bool) or not isinstance(code, int):
        raise OptionError("code", f"an HTTP status must be a whole number, not {code!r}")
    if code == 429:
        raise OptionError(
            "code", "for 429 use Fault.rate_limited(retry_after=...), which sends Retry-After"
        )
    if not 400 <= code <= 599:
        raise OptionError(
            "code", f"HTTP status {code} is not an error; a status fault takes 400-599"
        )
    try:
        HTTPStatus(code)
    except ValueError:
        raise OptionError("code", f"HTTP status {code} is not a known status") from None


def _default_message(code: int) -> str:
    phrase = HTTPStatus(code).phrase
    return f"{phrase} (a fault injected by pytest-logscale)"


@dataclass(eq=False)
class FaultRule:
    """A fault and the requests it hits; returned by :meth:`FaultPlan.add`.

    ``fired`` counts the requests it hit; ``remaining`` is the uses left
    (None: no limit).
    """

    fault: Fault
    times: int | None = None
    operation_name: str | None = None
    root_field: str | None = None
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.fault, Fault):
            raise TypeError(f"a fault is made with Fault.status(...) etc., not {self.fault!r}")
        if self.times is not None:
            whole_number(self.times, "times", 1, 2**31)
        if self.operation_name is not None:
            _name(self.operation_name, "operation_name", "operation_name")

    @property
    def remaining(self) -> int | None:
        """Uses left, or None when the rule has no ``times``."""
        return None if self.times is None else self.times - self.fired

    def seed_draws(self, seed: str) -> None:
        """Start this rule's random draws (its random delays) from ``seed``."""
        self._random.seed(seed)

    def delay_seconds(self) -> float:
        """The delay this rule waits now: fixed, or its next seeded draw up to ``up_to``."""
        fault = self.fault
        if fault.up_to is None:
            return fault.seconds
        return self._random.uniform(fault.seconds, fault.up_to)

    def matches(self, operation_name: str | None, root_fields: tuple[str, ...]) -> bool:
        """Whether a request with this operation name and these root fields is hit."""
        if self.operation_name is not None and operation_name != self.operation_name:
            return False
        return self.root_field is None or self.root_field in root_fields


@dataclass(frozen=True, slots=True)
class Fired:
    """A rule that hit a request: the fault, where a GraphQL error goes, the delay drawn."""

    fault: Fault
    root_field: str | None = None
    seconds: float = 0.0
    generation: int = 0

    @property
    def cuts(self) -> bool:
        """Whether the connection closes before the whole answer is sent."""
        return self.fault.kind in (FaultKind.DROPPED_CONNECTION, FaultKind.TRUNCATED_BODY)

    def kept(self, length: int) -> int:
        """How many bytes of a ``length``-byte answer body are sent."""
        return self.fault.kept(length) if self.fault.kind is FaultKind.TRUNCATED_BODY else 0

    def describe(self) -> str:
        """The label recorded in the journal's ``Exchange.fault``."""
        if self.fault.kind is FaultKind.GRAPHQL_ERROR:
            return f"GraphQL error at {self.root_field}"
        if self.fault.kind is FaultKind.DELAY and self.fault.up_to is not None:
            return f"delay {self.seconds:.3f} s"
        return self.fault.describe()


class FaultPlan:
    """The faults waiting for requests, in the order they were added; thread-safe.

    On the fixture's handle as ``logscale_server.faults``::

        rule = logscale_server.faults.add(Fault.status(503), times=2, root_field="sessions")

    ``reset()`` of the fake (before every test) clears it. ``max_rules`` bounds the
    rules waiting at once (None: no bound; settable; the fake's ``max_faults``):
    adding past it raises :class:`~pytest_logscale.BoundError` and adds
    nothing. A used-up rule leaves the plan and frees its place.
    """

    def __init__(self, *, seed: int = 0, max_rules: int | None = None) -> None:
        self._seed = seed
        self.max_rules = max_rules
        self._rules: list[FaultRule] = []
        self._added = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._generation = 0  # moves on at each interrupt: a delay taken before it never waits
        self._sleepers = 0
        self._closed = False  # the server is stopping: no delay waits at all

    # -- arranging --------------------------------------------------------------------------

    def add(
        self,
        fault: Fault,
        *,
        times: int | None = None,
        operation_name: str | None = None,
        root_field: str | None = None,
    ) -> FaultRule:
        """Hit requests with ``fault``; returns the rule, whose ``fired`` counts the hits.

        Without ``operation_name`` or ``root_field`` every request matches;
        with both, a request must match both. ``times`` caps the hits (the
        next ``times`` matching requests); without it the rule lasts until
        cleared. Raises ValueError for a bad ``times``, an empty operation
        name or a root field the schema does not have (an OptionError whose
        ``name`` is that parameter), and BoundError when ``max_rules`` rules
        are waiting already.
        """
        rule = self.checked(FaultRule(fault, times, operation_name, root_field))
        self.extend([rule])
        return rule

    def extend(self, rules: Sequence[FaultRule]) -> None:
        """Add rules, each one :meth:`checked`, after those waiting: all of them or none.

        Raises :class:`~pytest_logscale.BoundError`, adding none, when they
        would make more than ``max_rules`` rules waiting.
        """
        with self._lock:
            waiting = len(self._rules)
            check_bound(
                "max_faults",
                self.max_rules,
                waiting + len(rules),
                f"cannot add {len(rules)} fault rule(s): {waiting} are waiting already "
                "(a used-up rule leaves; clear() and a reset free them all)",
            )
            for rule in rules:
                self._adopt(rule)
                self._rules.append(rule)

    def check_count(self, count: int) -> None:
        """BoundError when ``count`` rules waiting at once are more than ``max_rules``.

        For a state's faults, checked before anything of the state is taken.
        """
        check_bound("max_faults", self.max_rules, count, f"the state holds {count} fault rules")

    def checked(self, rule: FaultRule) -> FaultRule:
        """The rule, if the served schema has its root field; else ValueError naming the closest.

        The error is an :class:`~pytest_logscale.domain.checks.OptionError` named ``root_field``.
        """
        if rule.root_field is not None:
            try:
                check_root_field(rule.root_field)
            except ValueError as error:
                raise OptionError("root_field", str(error)) from None
        return rule

    @property
    def seed(self) -> int:
        """The seed random delays are drawn from (the fake's seed)."""
        return self._seed

    def reseed(self, seed: int) -> None:
        """Draw the random delays of rules added from now on from ``seed``."""
        with self._lock:
            self._seed = seed

    def replace(self, rules: Iterable[FaultRule], *, seed: int | None = None) -> None:
        """Drop every rule and take these, drawing from ``seed`` if given (loading a state).

        BoundError, changing nothing, when they are more than ``max_rules``.
        """
        rules = list(rules)
        self.check_count(len(rules))
        with self._lock:
            if seed is not None:
                self._seed = seed
            self._rules.clear()
            self._added = 0
            for rule in rules:
                self._adopt(rule)
                self._rules.append(rule)

    def _adopt(self, rule: FaultRule) -> None:
        # one generator per rule, from the fake's seed and the rule's place: same test, same draws
        rule.seed_draws(f"{self._seed}/{self._added}")
        self._added += 1

    def clear(self) -> None:
        """Drop every rule, and cut short the delays of requests still waiting."""
        with self._lock:
            self._rules.clear()
            self._added = 0
        self.interrupt()

    def interrupt(self) -> None:
        """Cut short the delays now running (their requests are dropped, unrecorded)."""
        with self._lock:
            self._generation += 1
            if not self._sleepers:
                return
            wake, self._wake = self._wake, threading.Event()
        wake.set()

    def close(self) -> None:
        """Cut short every delay, now and until :meth:`open` (the server is stopping)."""
        with self._lock:
            self._closed = True
        self.interrupt()

    def open(self) -> None:
        """Let delays wait again (the server is starting)."""
        with self._lock:
            self._closed = False

    # -- reading ----------------------------------------------------------------------------

    @property
    def rules(self) -> list[FaultRule]:
        """The rules with uses left, in the order they are checked."""
        with self._lock:
            return list(self._rules)

    def __iter__(self) -> Iterator[FaultRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    # -- serving ----------------------------------------------------------------------------

    def take(self, operation_name: str | None, root_fields: tuple[str, ...]) -> Fired | None:
        """The fault for a request about to run, if any rule hits it (that rule's use counts)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(operation_name, root_fields):
                    rule.fired += 1
                    if rule.remaining == 0:  # used up: gone from the plan
                        self._rules.remove(rule)  # safe: the loop ends here
                    target = rule.root_field or (root_fields[0] if root_fields else None)
                    return Fired(rule.fault, target, rule.delay_seconds(), self._generation)
        return None

    def sleep(self, fired: Fired) -> bool:
        """Wait a delay out; False when :meth:`clear` or :meth:`interrupt` came since it was taken.

        Without a wait when one came before the request even began to wait, or
        while the plan is closed.
        """
        with self._lock:
            if self._closed or fired.generation != self._generation:
                return False
            wake = self._wake
            self._sleepers += 1
        try:
            return not wake.wait(fired.seconds)
        finally:
            with self._lock:
                self._sleepers -= 1
