"""Recipe: test that a client pages through sessions() and gets every session once."""

import requests

PAGE = """
query Page($skip: Int!, $limit: Int!) {
  sessions(level: Organization, onlyActiveSessions: false, skip: $skip, limit: $limit) {
    totalResults
    results { id }
  }
}
"""


def all_session_ids(url: str, token: str, page_size: int) -> list[str]:
    """The client under test: fetch every session of the organization, page by page."""
    ids: list[str] = []
    while True:
        answer = requests.post(
            f"{url}/graphql",
            json={"query": PAGE, "variables": {"skip": len(ids), "limit": page_size}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["data"]["sessions"]
        ids += [session["id"] for session in answer["results"]]
        if len(ids) >= answer["totalResults"] or not answer["results"]:
            return ids


def test_the_client_fetches_every_session_exactly_once(logscale_server):
    ids = all_session_ids(logscale_server.url, logscale_server.admin_token, page_size=7)

    assert sorted(ids) == sorted(s.id for s in logscale_server.sessions)
    # 60 sessions in pages of 7: 9 requests, the last one with 4 sessions
    calls = logscale_server.journal.assert_called("sessions", times=9)
    assert calls[-1].variables == {"skip": 56, "limit": 7}
    assert len(calls[-1].response["data"]["sessions"]["results"]) == 4
