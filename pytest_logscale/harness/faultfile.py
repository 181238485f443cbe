"""Faults in a state file: the ``faults`` array of docs/state-file.md, written and read.

Each entry is one :class:`~pytest_logscale.FaultRule`: ``"fault"`` names the
kind, the fault's own keys follow, then the rule's (``times`` is the uses left).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.checks import OptionError
from .faults import Fault, FaultKind, FaultPlan, FaultRule

__all__ = ["FaultJsonError", "rules_from_json", "rules_to_json"]

#: The JSON keys each fault takes in a state file, beside "fault" and the rule's keys.
_FAULT_KEYS: dict[FaultKind, dict[str, str]] = {
    FaultKind.STATUS: {"status": "code", "message": "message", "html": "html"},
    FaultKind.GRAPHQL_ERROR: {"message": "message"},
    FaultKind.RATE_LIMITED: {"retryAfter": "retry_after", "message": "message"},
    FaultKind.DELAY: {"seconds": "seconds", "upTo": "up_to"},
    FaultKind.DROPPED_CONNECTION: {},
    FaultKind.TRUNCATED_BODY: {"keepBytes": "keep_bytes"},
}
_RULE_KEYS = {"times": "times", "operationName": "operation_name", "rootField": "root_field"}
_REQUIRED = {FaultKind.STATUS: "status", FaultKind.DELAY: "seconds"}


class FaultJsonError(ValueError):
    """Faults given as JSON that cannot be read; the message is ``faults[i]: problem``.

    ``key`` is the entry's JSON key to blame (``status``, ``upTo``, an unknown
    key), or None when the entry or the array as a whole is wrong; ``where``
    is the place in a state file (``faults[0].status``, ``faults[1]``,
    ``faults``); ``problem`` is the message without the place.
    """

    def __init__(self, problem: str, index: int | None = None, key: str | None = None) -> None:
        place = "faults" if index is None else f"faults[{index}]"
        super().__init__(f"{place}: {problem}")
        self.problem = problem
        self.key = key
        self.where = place if key is None else f"{place}.{key}"


class _Refused(Exception):
    """A problem with one entry, and the entry's JSON key to blame (None: the whole entry)."""

    def __init__(self, key: str | None, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def rules_to_json(plan: FaultPlan) -> list[dict[str, Any]]:
    """The plan's rules with uses left, as a state file writes them."""
    return [_rule_to_json(rule) for rule in plan.rules]


def _rule_to_json(rule: FaultRule) -> dict[str, Any]:
    """The fault's keys, then the uses left and the matchers."""
    fault = rule.fault
    data: dict[str, Any] = {"fault": fault.kind.value}
    for key, attribute in _FAULT_KEYS[fault.kind].items():
        value = getattr(fault, attribute)
        if value is not None or key == "retryAfter":  # null there means: no header
            data[key] = value
    for name, attribute in _RULE_KEYS.items():
        value = rule.remaining if name == "times" else getattr(rule, attribute)
        if value is not None:
            data[name] = value
    return data


def rules_from_json(plan: FaultPlan, entries: object) -> list[FaultRule]:
    """Rules for ``plan`` from a state file's ``faults`` array; :class:`FaultJsonError`
    says which entry, which key and why.

    The plan is not changed: :meth:`FaultPlan.replace` takes the rules once
    the whole state has been read.
    """
    if not isinstance(entries, list):
        raise FaultJsonError(f"must be a JSON array, not {entries!r:.60}")
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(_rule_from_json(plan, entry))
        except _Refused as error:
            raise FaultJsonError(str(error), index, error.key) from None
    return rules


def _rule_from_json(plan: FaultPlan, entry: object) -> FaultRule:
    if not isinstance(entry, Mapping):
        raise _Refused(None, f"must be a JSON object, not {entry!r:.60}")
    name = entry.get("fault")
    kind = next((k for k in FaultKind if k.value == name), None)
    if kind is None:
        known = ", ".join(k.value for k in FaultKind)
        given = "missing" if "fault" not in entry else f"{name!r}"
        raise _Refused("fault", f"'fault' must be one of {known}; it is {given}")
    keys = {**_FAULT_KEYS[kind], **_RULE_KEYS}
    for key in entry:
        if key != "fault" and key not in keys:
            allowed = ", ".join(["fault", *keys])
            raise _Refused(key, f"unknown key {key!r} for a {name} fault (known: {allowed})")
    required = _REQUIRED.get(kind)
    if required is not None and required not in entry:
        raise _Refused(required, f"a {name} fault needs {required!r}")
    arguments = {
        attribute: entry[key] for key, attribute in _FAULT_KEYS[kind].items() if key in entry
    }
    if kind is FaultKind.RATE_LIMITED:
        arguments.setdefault("retry_after", 1)  # as Fault.rate_limited()
    matchers = {attribute: entry[key] for key, attribute in _RULE_KEYS.items() if key in entry}
    try:
        return plan.checked(FaultRule(Fault(kind, **arguments), **matchers))
    except OptionError as error:  # named by the parameter: blame the key that gave it
        key = next((k for k, attribute in keys.items() if attribute == error.name), None)
        raise _Refused(key, str(error)) from None
