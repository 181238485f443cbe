"""The shortest path through the product: the fixture, a query, a logout."""

from pytest_logscale import FakeLogScale


def test_the_owner_sees_their_own_current_session_first(logscale_server: FakeLogScale) -> None:
    answer = logscale_server.execute(
        "{ sessions(level: User, orderBy: DESC, limit: 10) "
        "{ totalResults results { isCurrentSession } } }"
    )
    sessions = answer["data"]["sessions"]
    assert sessions["totalResults"] >= 1
    assert sessions["results"][0]["isCurrentSession"] is True


def test_logout_ends_the_session_and_its_token(logscale_server: FakeLogScale) -> None:
    assert logscale_server.execute("mutation { logoutOfSession }") == {
        "data": {"logoutOfSession": True}
    }
    status, body = logscale_server.post(
        '{"query": "{ currentUser { id } }"}', token=logscale_server.token
    )
    assert (status, body) == (401, "The supplied authentication is invalid")
    assert "logged out" in str(logscale_server.journal.entries[-1].auth_failure)


def test_the_next_test_gets_the_token_back(logscale_server: FakeLogScale) -> None:
    assert logscale_server.execute("{ currentUser { isOrgRoot } }") == {
        "data": {"currentUser": {"isOrgRoot": True}}
    }
