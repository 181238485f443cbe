"""State files: a fake's state as JSON, to save with ``dump`` and replay with ``load``.

A state file names the seeding options and lists what changed on top of the
seeded data (sessions touched or ended, sessions and API tokens made since,
new session limits) and the clock. The format is described in
docs/state-file.md; every way a file can be wrong raises :class:`StateError`
naming the file, the place in it and the problem, in one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..domain import ordering
from ..domain.checks import OptionError, whole_number
from ..domain.dataset import Dataset
from ..domain.instants import ISO_EXAMPLE, parse_instant
from ..domain.instants import format_instant as format_instant  # also statefile.format_instant
from ..domain.records import Ending, Session, SessionSettings
from ..domain.store import Changes, Store
from ..seeding import SEEDING, SeedOptions
from .faultfile import FaultJsonError, rules_from_json, rules_to_json
from .faults import FaultPlan, FaultRule

__all__ = ["FORMAT", "VERSION", "StateError", "dump", "load", "read", "write"]

FORMAT = "pytest-logscale-state"
VERSION = 1
_LONG_MAX = 2**63 - 1
_KEYS = (
    "format",
    "version",
    "seeding",
    "now",
    "settings",
    "changedSessions",
    "newSessions",
    "apiTokens",
    "serial",
    "faults",
)
_SEEDING = tuple(SEEDING)
_SETTINGS = {
    "maxInactivityPeriod": "max_inactivity_period",
    "forceReauthenticationAfter": "force_reauthentication_after",
}
#: Session fields a state file may change on a seeded session: JSON name to record field.
_CHANGEABLE = {
    "clientInfo": "client_info",
    "ip": "ip",
    "city": "city",
    "country": "country",
    "createdAt": "created_at",
    "lastActivityAt": "last_activity_at",
    "ended": "ended",
}
_NEW_SESSION = ("id", "userId", "token", *_CHANGEABLE)

DatasetFor = Callable[[SeedOptions], Dataset]
Source = Mapping[str, Any] | str | os.PathLike[str]


class StateError(ValueError):
    """A state file or mapping that cannot be loaded; the message says where and why.

    ``where`` is the place in the document to blame (``now``, ``newSessions[0].createdAt``,
    ``seeding.sessions``), or None when the problem is the file or the state as a whole.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


class _Invalid(Exception):
    """A problem at a place in the document, before the source is named."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where: str | None = where or None


# -- writing ----------------------------------------------------------------------------


def _json_value(value: object) -> object:
    if isinstance(value, Ending):
        return value.value
    if isinstance(value, int):  # the only whole numbers of a session are its instants
        return format_instant(value)
    return value


def dump(options: SeedOptions, store: Store, faults: FaultPlan | None = None) -> dict[str, Any]:
    """The state of a store seeded with ``options`` (and faults waiting), as a JSON-ready dict."""
    changes = store.export_changes()
    seeded = store.dataset.sessions
    changed: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for session in changes.sessions:
        before = seeded.get(session.id)
        if before is None:
            entry: dict[str, Any] = {
                "id": session.id,
                "userId": session.user_id,
                "token": session.token,
            }
            entry.update(
                (name, _json_value(getattr(session, field))) for name, field in _CHANGEABLE.items()
            )
            new.append(entry)
            continue
        entry = {"id": session.id}
        for name, field in _CHANGEABLE.items():
            value = getattr(session, field)
            if value != getattr(before, field):
                entry[name] = _json_value(value)
        changed.append(entry)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "seeding": _seeding_json(options),
        "now": format_instant(changes.now_ms),
        "settings": {
            organization_id: {name: getattr(settings, field) for name, field in _SETTINGS.items()}
            for organization_id, settings in changes.settings.items()
        },
        "changedSessions": changed,
        "newSessions": new,
        "apiTokens": [{"token": t, "userId": u} for t, u in changes.api_tokens.items()],
        "serial": changes.serial,
    }
    if faults is not None and len(faults):  # new keys only when used: older releases still read
        data["faults"] = rules_to_json(faults)
    return data


def _seeding_json(options: SeedOptions) -> dict[str, Any]:
    # "clock" only when anchored, so files of unanchored fakes still load in older releases
    found: dict[str, Any] = {name: getattr(options, name) for name in _SEEDING if name != "clock"}
    if options.anchor is not None:
        found["clock"] = format_instant(options.anchor)
    if options.instance:  # a second server's tokens: loading this file gives them back
        found["instance"] = options.instance
    return found


def write(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write a dumped state as indented JSON, replacing the file in one step.

    Raises :class:`StateError` when the file cannot be written.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise StateError(f"state file {str(path)!r}: cannot write: {error.strerror}") from None


# -- reading ----------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Invalid("", f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def read(path: str | os.PathLike[str], max_bytes: int = SeedOptions().max_state_bytes) -> object:
    """The parsed JSON of a state file; :class:`StateError` if it is missing, too large or not JSON.

    A file larger than ``max_bytes`` is refused before it is read.
    """
    name = f"state file {str(path)!r}"
    try:
        with open(path, "rb") as file:
            raw = file.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise StateError(
                f"{name}: larger than max_state_bytes {max_bytes}; raise it with "
                "serve --max-state-bytes N or max_state_bytes=N"
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise StateError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise StateError(f"{name}: not UTF-8 text") from None
    except OSError as error:
        raise StateError(f"{name}: cannot read: {error.strerror}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise StateError(f"{name}: not JSON: {error}") from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise StateError(f"{name}: not JSON: nested too deeply to read") from None
    except _Invalid as error:
        raise StateError(f"{name}: {error}", error.where) from None


def load(
    source: Source,
    store: Store,
    dataset_for: DatasetFor,
    faults: FaultPlan | None = None,
    bounds: SeedOptions | None = None,
) -> SeedOptions:
    """Put a store (and a fault plan, if given) in the state read from a path or a mapping.

    ``dataset_for`` gives the seeded data for the state's seeding options;
    the result is those options, with the bounds (``max_sessions`` ...) of
    ``bounds``, which also bound the file's size; the store's ``max_sessions``
    and ``max_api_tokens`` and the plan's ``max_rules`` bound what the state
    holds. Raises :class:`StateError`,
    leaving the store and the faults as they were, when anything in the state
    is wrong.
    """
    limits = bounds if bounds is not None else SeedOptions()
    data: object
    if isinstance(source, Mapping):
        name, data = "state", source
    elif not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"a state is a mapping or a path, not {type(source).__name__}")
    else:
        name, data = f"state file {str(source)!r}", read(source, limits.max_state_bytes)
    try:
        options, dataset, changes = _parse(data, dataset_for, limits)
        rules = _faults(data, faults)
        if faults is not None:
            faults.check_count(len(rules))
        store.import_changes(dataset, changes)
    except (_Invalid, FaultJsonError) as error:
        raise StateError(f"{name}: {error}", error.where) from None
    except ValueError as error:  # the store's own checks: the state as a whole
        raise StateError(f"{name}: {error}") from None
    if faults is not None:
        faults.replace(rules, seed=options.seed)
    return options


def _faults(document: object, faults: FaultPlan | None) -> list[FaultRule]:
    if not isinstance(document, Mapping) or "faults" not in document:
        return []
    if faults is None:
        raise _Invalid("faults", "this fake takes no faults")
    return rules_from_json(faults, document["faults"])


def _parse(
    data: object, dataset_for: DatasetFor, limits: SeedOptions
) -> tuple[SeedOptions, Dataset, Changes]:
    document = _object(data, "", _KEYS)
    for key in ("format", "version"):
        if key not in document:
            raise _Invalid("", f"{key!r} is missing: is this a pytest-logscale state file?")
    if document["format"] != FORMAT:
        raise _Invalid("format", f"must be {FORMAT!r}, not {_kind(document['format'])}")
    version = document["version"]
    if version != VERSION or isinstance(version, bool):
        raise _Invalid(
            "version", f"version {_kind(version)} is not supported; this release reads {VERSION}"
        )
    seeding = _object(document.get("seeding", {}), "seeding", (*_SEEDING, "instance"))
    seeding.setdefault("instance", 0)
    try:
        options = SeedOptions(**seeding, **limits.bounds())
    except (TypeError, ValueError) as error:
        invalid = _Invalid("seeding", str(error))  # the message names the option already
        if isinstance(error, OptionError):
            invalid.where = f"seeding.{error.name}"
        raise invalid from None
    dataset = dataset_for(options)
    changed, new = _changed_sessions(document, dataset), _new_sessions(document, dataset)
    api_tokens = _api_tokens(document, dataset)
    changes = Changes(
        sessions=(*changed, *new),
        api_tokens=api_tokens,
        settings=_settings(document, dataset),
        serial=_whole(document.get("serial", len(new) + len(api_tokens)), "serial", low=0),
        now_ms=_instant(document["now"], "now") if "now" in document else dataset.start_ms,
    )
    # ids and tokens used twice and a low serial are left to Store.import_changes
    return options, dataset, changes


def _changed_sessions(document: Mapping[str, Any], dataset: Dataset) -> list[Session]:
    found = []
    for where, entry in _entries(document, "changedSessions"):
        fields = _object(entry, where, ("id", *_CHANGEABLE))
        session_id = _text(fields.get("id"), f"{where}.id")
        seeded = dataset.sessions.get(session_id)
        if seeded is None:
            raise _Invalid(f"{where}.id", f"no seeded session has id {session_id!r}")
        found.append(replace(seeded, **_session_fields(fields, where)))
    return found


def _new_sessions(document: Mapping[str, Any], dataset: Dataset) -> list[Session]:
    found = []
    for where, entry in _entries(document, "newSessions"):
        fields = _object(entry, where, _NEW_SESSION, required=_NEW_SESSION)
        session_id = _text(fields["id"], f"{where}.id")
        if session_id in dataset.sessions:
            raise _Invalid(f"{where}.id", f"{session_id!r} is a seeded session's id")
        user = _user(fields["userId"], f"{where}.userId", dataset)
        found.append(
            Session(
                id=session_id,
                user_id=user,
                organization_id=dataset.users[user].organization_id,
                token=_text(fields["token"], f"{where}.token"),
                **_session_fields(fields, where),
            )
        )
    return found


def _session_fields(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in _CHANGEABLE.items():
        if name not in fields:
            continue
        value, at = fields[name], f"{where}.{name}"
        if name == "clientInfo":
            values[field] = _text(value, at)
        elif name == "ip":
            if ordering.ip_key(_text(value, at)) is None:
                raise _Invalid(at, f"{value!r} is not an IPv4 or IPv6 address")
            values[field] = value
        elif name in ("city", "country"):
            values[field] = None if value is None else _text(value, at)
        elif name == "ended":
            values[field] = _ending(value, at)
        else:
            values[field] = None if value is None else _instant(value, at)
    return values


def _api_tokens(document: Mapping[str, Any], dataset: Dataset) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, entry in _entries(document, "apiTokens"):
        fields = _object(entry, where, ("token", "userId"), required=("token", "userId"))
        token = _text(fields["token"], f"{where}.token")
        if token in found:
            raise _Invalid(f"{where}.token", "this token is listed twice")
        found[token] = _user(fields["userId"], f"{where}.userId", dataset)
    return found


def _settings(document: Mapping[str, Any], dataset: Dataset) -> dict[str, SessionSettings]:
    found = {}
    for organization_id, entry in _object(document.get("settings", {}), "settings", None).items():
        where = f"settings.{organization_id}"
        if organization_id not in dataset.organizations:
            raise _Invalid(where, f"no organization has id {organization_id!r}")
        fields = _object(entry, where, tuple(_SETTINGS), required=tuple(_SETTINGS))
        found[organization_id] = SessionSettings(
            **{
                field: _whole(fields[name], f"{where}.{name}", low=1)
                for name, field in _SETTINGS.items()
            }
        )
    return found


# -- values -----------------------------------------------------------------------------


def _object(
    value: object,
    where: str,
    allowed: tuple[str, ...] | None,
    *,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(where, f"must be a JSON object, not {_kind(value)}")
    if allowed is not None:
        for key in value:
            if key not in allowed:
                raise _Invalid(where, f"unknown key {key!r} (known: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise _Invalid(where, f"{key!r} is missing")
    return dict(value)


def _entries(document: Mapping[str, Any], key: str) -> list[tuple[str, object]]:
    entries = document.get(key, [])
    if not isinstance(entries, list):
        raise _Invalid(key, f"must be a JSON array, not {_kind(entries)}")
    return [(f"{key}[{index}]", entry) for index, entry in enumerate(entries)]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(where, f"must be a non-empty string, not {_kind(value)}")
    return value


def _whole(value: object, where: str, *, low: int) -> int:
    try:
        return whole_number(value, "", low, _LONG_MAX)
    except ValueError as error:
        raise _Invalid(where, str(error).strip()) from None


def _user(value: object, where: str, dataset: Dataset) -> str:
    user_id = _text(value, where)
    if user_id not in dataset.users:
        raise _Invalid(where, f"no user has id {user_id!r}")
    return user_id


def _ending(value: object, where: str) -> Ending | None:
    if value is None:
        return None
    for ending in Ending:
        if value == ending.value:
            return ending
    choices = ", ".join(repr(e.value) for e in Ending)
    raise _Invalid(where, f"must be null, {choices}, not {_kind(value)}")


def _instant(value: object, where: str) -> int:
    if not isinstance(value, str):  # said as JSON says it (null, not None)
        raise _Invalid(where, f"must be a UTC time like {ISO_EXAMPLE!r}, not {_kind(value)}")
    try:
        return parse_instant(value, "", text_only=True)
    except ValueError as error:
        raise _Invalid(where, str(error)) from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
