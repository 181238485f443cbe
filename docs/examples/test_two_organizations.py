"""Recipe: two organizations, to check that a tool never crosses between them."""

import pytest

ALL = """
{
  sessions(level: Organization, onlyActiveSessions: false, limit: 1000) {
    results { user { id } }
  }
}
"""


@pytest.mark.logscale(organizations=2)
def test_each_owner_sees_only_their_own_organization(logscale_server):
    first, second = logscale_server.organizations
    second_owner = logscale_server.owner(second)
    token = logscale_server.session_token(second_owner)

    answer = logscale_server.execute(ALL, token=token)

    seen = {s["user"]["id"] for s in answer["data"]["sessions"]["results"]}
    second_users = {u.id for u in logscale_server.users if u.organization_id == second.id}
    assert seen <= second_users
    assert logscale_server.owner(first).id not in seen


@pytest.mark.logscale(organizations=2)
def test_revoking_an_organization_spares_the_other(logscale_server):
    first, second = logscale_server.organizations
    owner = logscale_server.token  # the first organization's owner: revoked with it
    logscale_server.execute(
        f'mutation {{ revokeSession(input: {{id: "{first.id}", revocationType: Organization}}) }}',
        token=owner,
    )

    assert logscale_server.post('{"query": "{ currentUser { id } }"}', token=owner)[0] == 401
    other = logscale_server.session_token(logscale_server.admin(second))
    assert "errors" not in logscale_server.execute("{ currentUser { id } }", token=other)
