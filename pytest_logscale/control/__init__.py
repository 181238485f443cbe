"""The control API: the fixture's powers over HTTP under ``/_fake/``, for tests in any language.

:class:`ControlApp` sits in front of the GraphQL app of a :class:`~pytest_logscale.FakeLogScale`:
requests under ``/_fake`` are answered from the fake's own methods and never reach
``/graphql``'s pipeline or the request journal; every other request goes on to the app
untouched. JSON in, JSON out; every refusal is a 4xx whose body names the bad field
(docs/control-api.md).
"""

from __future__ import annotations

from .app import ControlApp
from .endpoints import PREFIX, endpoints, live_session_token

__all__ = ["PREFIX", "ControlApp", "endpoints", "live_session_token"]
