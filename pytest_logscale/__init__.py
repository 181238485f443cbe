"""pytest-logscale: a stateful, schema-exact fake of LogScale's session-management GraphQL API.

The public names live here; ``pytest_logscale.plugin`` holds the fixtures.
"""

from __future__ import annotations

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
from .fake import FakeLogScale
from .harness.faults import Fault, FaultKind, FaultPlan, FaultRule
from .harness.journal import Exchange, Journal
from .harness.ratelimit import RateLimit
from .harness.statefile import StateError
from .http.app import AppOptions, LogScaleApp
from .http.server import ServerError, ServerOptions, ThreadedServer
from .seeding import SeedOptions, seed_dataset
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
    "ServerOptions",
    "Session",
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
