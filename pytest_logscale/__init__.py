"""pytest-logscale: a stateful, schema-exact fake of LogScale's session-management GraphQL API."""

from __future__ import annotations

__version__ = "0.1.0"
