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

from .client import LogScaleClient, Reply, Target

__all__ = ["LogScaleClient", "Reply", "Target"]
