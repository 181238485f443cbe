"""pytest-logscale: a stateful, schema-exact fake of LogScale's session-management GraphQL API.

The public names live here; ``pytest_logscale.plugin`` holds the fixtures. They are
imported when first used (module ``__getattr__``): pytest imports this package for
the plugin in every run of every project that has it installed, and that must cost
nothing until a test asks for a fake.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .domain.checks import BoundError
    from .domain.clock import Clock
    from .domain.errors import (
        InvalidArgument,
        LogScaleError,
        NotFound,
        PermissionDenied,
        Unauthenticated,
    )
    from .domain.records import (
        Ending,
        Level,
        Order,
        Organization,
        RevocationType,
        Role,
        Session,
        SessionSettings,
        SortBy,
        User,
    )
    from .domain.status import SessionStatus
    from .domain.store import Caller, SessionPage, SessionQuery, Store
    from .fake import FakeLogScale, SessionNow
    from .harness.faults import Fault, FaultKind, FaultPlan, FaultRule
    from .harness.journal import Exchange, Journal
    from .harness.ratelimit import RateLimit
    from .harness.statefile import StateError
    from .http.app import AppOptions, LogScaleApp
    from .http.server import ServerError, ServerOptions, ThreadedServer
    from .seeding import SeedOptions, seed_dataset

__all__ = [
    "AppOptions",
    "BoundError",
    "Caller",
    "Clock",
    "Ending",
    "Exchange",
    "FakeLogScale",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "InvalidArgument",
    "Journal",
    "Level",
    "LogScaleApp",
    "LogScaleError",
    "NotFound",
    "Order",
    "Organization",
    "PermissionDenied",
    "RateLimit",
    "RevocationType",
    "Role",
    "SeedOptions",
    "ServerError",
    "ServerOptions",
    "Session",
    "SessionNow",
    "SessionPage",
    "SessionQuery",
    "SessionSettings",
    "SessionStatus",
    "SortBy",
    "StateError",
    "Store",
    "ThreadedServer",
    "Unauthenticated",
    "User",
    "__version__",
    "seed_dataset",
]

_HOMES = {
    "AppOptions": ".http.app",
    "BoundError": ".domain.checks",
    "Caller": ".domain.store",
    "Clock": ".domain.clock",
    "Ending": ".domain.records",
    "Exchange": ".harness.journal",
    "FakeLogScale": ".fake",
    "Fault": ".harness.faults",
    "FaultKind": ".harness.faults",
    "FaultPlan": ".harness.faults",
    "FaultRule": ".harness.faults",
    "InvalidArgument": ".domain.errors",
    "Journal": ".harness.journal",
    "Level": ".domain.records",
    "LogScaleApp": ".http.app",
    "LogScaleError": ".domain.errors",
    "NotFound": ".domain.errors",
    "Order": ".domain.records",
    "Organization": ".domain.records",
    "PermissionDenied": ".domain.errors",
    "RateLimit": ".harness.ratelimit",
    "RevocationType": ".domain.records",
    "Role": ".domain.records",
    "SeedOptions": ".seeding",
    "ServerError": ".http.server",
    "ServerOptions": ".http.server",
    "Session": ".domain.records",
    "SessionNow": ".fake",
    "SessionPage": ".domain.store",
    "SessionQuery": ".domain.store",
    "SessionSettings": ".domain.records",
    "SessionStatus": ".domain.status",
    "SortBy": ".domain.records",
    "StateError": ".harness.statefile",
    "Store": ".domain.store",
    "ThreadedServer": ".http.server",
    "Unauthenticated": ".domain.errors",
    "User": ".domain.records",
    "seed_dataset": ".seeding",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value  # found once: later reads are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
