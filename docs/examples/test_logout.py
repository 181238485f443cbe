"""Recipe: test a logout flow, end to end."""

import requests


class Client:
    """The client under test: a thin wrapper around LogScale's GraphQL endpoint."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}/graphql"
        self.headers = {"Authorization": f"Bearer {token}"}

    def query(self, document: str) -> requests.Response:
        return requests.post(self.url, json={"query": document}, headers=self.headers, timeout=10)

    def logout(self) -> None:
        self.query("mutation { logoutOfSession }").raise_for_status()


def test_after_logout_the_token_is_refused(logscale_server):
    session = logscale_server.login(logscale_server.member(), city="Lisbon", country="Portugal")
    client = Client(logscale_server.url, session.token)

    client.logout()

    assert client.query("{ currentUser { id } }").status_code == 401
    logscale_server.journal.assert_called_once("logoutOfSession")
    # `session` is a snapshot taken at login; session(id) reads it as it is now
    assert logscale_server.session(session.id).status == "logged_out"


def test_logging_out_ends_only_the_session_used(logscale_server):
    member = logscale_server.member()
    laptop = logscale_server.login(member)
    phone = logscale_server.login(member)

    Client(logscale_server.url, laptop.token).logout()

    assert Client(logscale_server.url, phone.token).query("{ currentUser { id } }").ok
    assert [s.id for s in logscale_server.find_sessions(user=member, active=True)][-1] == phone.id
    assert not logscale_server.session(laptop.id).active
