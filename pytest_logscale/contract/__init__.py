"""The contract suite: checks of LogScale's session-management API that hold for any data.

Run it with ``pytest --pyargs pytest_logscale.contract``. By default it checks
an in-process fake; with ``--logscale-url URL --logscale-token TOKEN`` (or the
environment variables ``LOGSCALE_URL`` and ``LOGSCALE_TOKEN``) it checks any
server that claims to be LogScale, read-only unless ``--logscale-allow-writes``
is given. A check that passes against the fake and fails against a real
LogScale is a difference between the two: see docs/contract.md.

The checks are written from the rules, not from the fake's code, so that they
can catch the fake as well as the real thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import LogScaleClient, Reply, Target

__all__ = ["LogScaleClient", "Reply", "Target"]


def __getattr__(name: str) -> Any:
    # imported when used: pytest imports this package for the contract plugin in every run
    if name in __all__:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
