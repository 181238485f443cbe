"""Recipe: more (or other) seeded data for every test of a module."""

import pytest

# every test of this module gets seed 42 and bigger organizations; a marker on a
# class or a test overrides it, option by option
pytestmark = pytest.mark.logscale(seed=42, users=40, sessions=500)

COUNT = "{ sessions(level: Organization, onlyActiveSessions: false) { totalResults } }"


def test_the_module_marker_applies(logscale_server):
    answer = logscale_server.execute(COUNT, token=logscale_server.admin_token)

    assert answer["data"]["sessions"]["totalResults"] == 500
    assert len(logscale_server.users) == 40


@pytest.mark.logscale(sessions=30)
def test_a_closer_marker_wins(logscale_server):
    answer = logscale_server.execute(COUNT, token=logscale_server.admin_token)

    assert answer["data"]["sessions"]["totalResults"] == 30
    assert logscale_server.seed_options.seed == 42  # still from the module
    assert len(logscale_server.users) == 40
