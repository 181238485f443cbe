"""Recipe: assert that a mutation was called once, with the input you expect."""

import requests

REVOKE = """
mutation Revoke($input: RevokeSessionInput!) {
  revokeSession(input: $input)
}
"""


def sign_out_everywhere(url: str, token: str, user_id: str) -> None:
    """The code under test: revoke every session of one user."""
    requests.post(
        f"{url}/graphql",
        json={"query": REVOKE, "variables": {"input": {"id": user_id, "revocationType": "User"}}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).raise_for_status()


def test_signing_a_user_out_revokes_all_their_sessions(logscale_server):
    member = logscale_server.member()

    sign_out_everywhere(logscale_server.url, logscale_server.admin_token, member.id)

    logscale_server.journal.assert_called_once(
        "revokeSession", arguments={"input": {"id": member.id, "revocationType": "User"}}
    )


def test_inline_input_is_matched_the_same_way(logscale_server):
    member = logscale_server.member()
    logscale_server.execute(
        f'mutation {{ revokeSession(input: {{id: "{member.id}", revocationType: User}}) }}',
        token=logscale_server.admin_token,
    )

    exchange = logscale_server.journal.assert_called_once(
        "revokeSession", arguments={"input": {"id": member.id}}
    )
    assert exchange.response == {"data": {"revokeSession": True}}
    assert exchange.user_id == logscale_server.admin().id
