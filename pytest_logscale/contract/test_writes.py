"""The one check that changes the target: logging out the session of the given token (last)."""

from __future__ import annotations

import pytest

from pytest_logscale.contract.client import LogScaleClient, Target
from pytest_logscale.contract.plugin import WRITES_MARKER

pytestmark = getattr(pytest.mark, WRITES_MARKER)

STILL_THERE = "{ currentUser { id } }"


def test_logout_of_session_ends_the_given_session_and_its_token(
    client: LogScaleClient, contract_target: Target
) -> None:
    """[doc] logoutOfSession answers true; the token then gets 401."""
    if not contract_target.allow_writes:
        pytest.skip("read-only run: --logscale-allow-writes lets the suite log out its session")
    mine = client.all_sessions(level="User")
    if not any(r["isCurrentSession"] for r in mine) and not contract_target.in_process:
        pytest.skip("the token is not a session token (no session is current): nothing to log out")
    reply = client.post("mutation { logoutOfSession }")
    assert reply.status == 200, reply.describe()
    assert reply.body == {"data": {"logoutOfSession": True}}, reply.describe()
    after = client.post(STILL_THERE)
    assert after.status == 401, f"the logged-out token still works\n{after.describe()}"
    assert str(after.body).strip() == "The supplied authentication is invalid", after.describe()
