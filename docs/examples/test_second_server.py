"""Recipe: a second, independent server, e.g. for a tool that talks to two clusters."""

import pytest

COUNT = "{ sessions(level: Organization) { totalResults } }"


def active_sessions(server) -> int:
    """The code under test would do this over its own HTTP client."""
    answer = server.execute(COUNT, token=server.admin_token)
    return answer["data"]["sessions"]["totalResults"]


@pytest.fixture
def staging(logscale_server_factory):
    # its own port, data, clock and journal; `with` stops it after the test
    with logscale_server_factory(seed=99, sessions=20) as server:
        yield server


def test_two_clusters_do_not_share_anything(logscale_server, staging):
    assert logscale_server.url != staging.url
    before = active_sessions(staging)

    logscale_server.execute("mutation { logoutOfSession }", token=logscale_server.member_token)

    assert active_sessions(staging) == before
    staging.journal.assert_called("sessions", times=2)
    logscale_server.journal.assert_not_called("sessions")
