"""pytest-logscale: a stateful, schema-exact fake of LogScale's session-management GraphQL API.

The public names live here; ``pytest_logscale.plugin`` holds the fixtures.
"""

from __future__ import annotations

from .app import AppOptions, LogScaleApp
from .clock import Clock
from .errors import (
    InvalidArgument,
    LogScaleError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from .fake import FakeLogScale
from .faults import Fault, FaultKind, FaultPlan, FaultRule
from .journal import Exchange, Journal
from .ratelimit import RateLimit
from .records import (
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
from .seeding import SeedOptions, seed_dataset
from .server import ServerError, ThreadedServer
from .state import StateError
from .store import Caller, SessionPage, SessionQuery, Store
from .version import __version__

__all__ = [
    "AppOptions",
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
    "Session",
    "SessionPage",
    "SessionQuery",
    "SessionSettings",
    "SortBy",
    "StateError",
    "Store",
    "ThreadedServer",
    "Unauthenticated",
    "User",
    "__version__",
    "seed_dataset",
]
