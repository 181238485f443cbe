"""Faults in a state file: the ``faults`` array of docs/state-file.md, written and read.

Each entry is one :class:`~pytest_logscale.FaultRule`: ``"fault"`` names the
kind, the fault's own keys follow, then the rule's (``times`` is the uses left).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .faults import Fault, FaultKind, FaultPlan, FaultRule

__all__ = ["rules_from_json", "rules_to_json"]

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
    """Rules for ``plan`` from a state file's ``faults`` array; ValueError says which and why.

    The plan is not changed: :meth:`FaultPlan.replace` takes the rules once
    the whole state has been read.
    """
    if not isinstance(entries, list):
        raise ValueError(f"faults: must be a JSON array, not {entries!r:.60}")
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(plan.checked(_rule_from_json(entry)))
        except (TypeError, ValueError) as error:
            raise ValueError(f"faults[{index}]: {error}") from None
    return rules


def _rule_from_json(entry: object) -> FaultRule:
    if not isinstance(entry, Mapping):
        raise ValueError(f"must be a JSON object, not {entry!r:.60}")
    name = entry.get("fault")
    kind = next((k for k in FaultKind if k.value == name), None)
    if kind is None:
        known = ", ".join(k.value for k in FaultKind)
        given = "missing" if "fault" not in entry else f"{name!r}"
        raise ValueError(f"'fault' must be one of {known}; it is {given}")
    keys = _FAULT_KEYS[kind]
    for key in entry:
        if key != "fault" and key not in keys and key not in _RULE_KEYS:
            allowed = ", ".join(["fault", *keys, *_RULE_KEYS])
            raise ValueError(f"unknown key {key!r} for a {name} fault (known: {allowed})")
    required = _REQUIRED.get(kind)
    if required is not None and required not in entry:
        raise ValueError(f"a {name} fault needs {required!r}")
    arguments = {attribute: entry[key] for key, attribute in keys.items() if key in entry}
    if kind is FaultKind.RATE_LIMITED:
        arguments.setdefault("retry_after", 1)  # as Fault.rate_limited()
    matchers = {attribute: entry[key] for key, attribute in _RULE_KEYS.items() if key in entry}
    return FaultRule(Fault(kind, **arguments), **matchers)
