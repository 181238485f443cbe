"""Mutations through the fast path give graphql-core's exact answers, and never write twice.

Two fakes seeded alike get the same sequence of requests over real HTTP: one
with the fast path, one with graphql-core alone (the fast path switched off as
on graphql-core 3.2). Every answer (status and body, byte for byte) and the
final state must be the same. The sequence holds successful mutations, refused
ones (an unknown id, a member without the permission, a limit below one),
several root fields in one operation with a refusal between them, variables,
and a selection the fast path leaves to graphql-core after the write (an error
below the root): there graphql-core replays what the resolver gave.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from pytest_logscale import FakeLogScale
from pytest_logscale.graphql import fastpath
from pytest_logscale.graphql.fastpath import SUPPORTED
from pytest_logscale.graphql.resolvers import default_session_query
from pytest_logscale.seeding import SeedOptions

TIMEOUT = 30
SETTINGS = (
    "updateSessionSettings(input: {{maxInactivityPeriod: {0}, forceReauthenticationAfter: {1}}})"
)
ORG = (
    "{ __typename id name configs { session { maxInactivityPeriod forceReauthenticationAfter } } }"
)


def sequence(session_ids: list[str], user_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, query, variables) in order; who is "owner" or "member"."""
    first, second, third = session_ids[:3]
    return [
        ("owner", f"mutation {{ {SETTINGS.format(1209600000, 2592000000)} {ORG} }}", {}),
        ("member", f"mutation {{ {SETTINGS.format(1000, 1000)} {{ id }} }}", {}),
        ("owner", f"mutation {{ {SETTINGS.format(0, 1000)} {{ id }} }}", {}),
        ("owner", 'mutation { revokeSession(input: {id: "nope", revocationType: Session}) }', {}),
        (
            "owner",
            "mutation M($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }",
            {"id": first},
        ),
        (
            "owner",
            "mutation M($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }",
            {"id": first},
        ),
        (
            "owner",
            f'mutation {{ a: revokeSession(input: {{id: "{second}", revocationType: Session}})'
            f" b: {SETTINGS.format(3600000, 7200000)} {{ id }}"
            f' c: revokeSession(input: {{id: "missing", revocationType: Session}})'
            f' d: revokeSession(input: {{id: "{third}", revocationType: Session}}) }}',
            {},
        ),
        (
            "owner",
            f'mutation {{ revokeSession(input: {{id: "{user_id}", revocationType: User}}) }}',
            {},
        ),
        ("member", "mutation { logoutOfSession }", {}),
        ("member", "mutation { logoutOfSession }", {}),  # its session is over now: 401
        (
            "owner",
            "{ sessions(onlyActiveSessions: false, limit: 200) { results { id } } }",
            {},
        ),
    ]


def play(
    fake: FakeLogScale, steps: list[tuple[str, str, dict[str, Any]]]
) -> list[tuple[int, bytes]]:
    tokens = {"owner": fake.token, "member": fake.member_token}
    answers = []
    for who, query, variables in steps:
        answer = requests.post(
            fake.graphql_url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {tokens[who]}"},
            timeout=TIMEOUT,
        )
        answers.append((answer.status_code, answer.content))
    return answers


def seeded() -> FakeLogScale:
    return FakeLogScale(SeedOptions(seed=23, users=8, sessions=40))


@pytest.mark.skipif(not SUPPORTED, reason="the fast path needs graphql-core 3.3")
def test_mutations_answer_exactly_as_graphql_core_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    with seeded() as fast:
        ids = [
            s.id
            for s in fast.store.query_sessions(fast.store.authenticate(fast.token), _all()).sessions
        ]
        user_id = fast.member().id
        steps = sequence(ids, user_id)
        fast_answers = play(fast, steps)
        compiled = [
            fast.app.fast_path.compile(p.document, op) is not None
            for _who, query, _v in steps
            if (p := fast.app.documents.prepare(query)).document is not None
            and (op := p.operation(None)) is not None
            and op.type == "mutation"
        ]
    monkeypatch.setattr(fastpath, "SUPPORTED", False)  # graphql-core runs everything
    with seeded() as core:
        core_answers = play(core, steps)
    assert all(compiled), "every mutation here should take the fast path"
    for step, (mine, theirs) in enumerate(zip(fast_answers, core_answers, strict=True)):
        assert mine == theirs, (step, steps[step][1], mine, theirs)
    statuses = [status for status, _body in fast_answers]
    assert statuses[-2] == 401  # the member's session ended with its first logout
    bodies = [json.loads(body) for status, body in fast_answers if status == 200]
    assert any("errors" in body for body in bodies)  # refusals were among them
    assert any("errors" not in body for body in bodies)


@pytest.mark.skipif(not SUPPORTED, reason="the fast path needs graphql-core 3.3")
def test_after_a_fallback_graphql_core_replays_the_root_resolvers_instead_of_running_them_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # LogScale's mutations are idempotent, so a second run would not show in the answers:
    # count the resolver's calls instead ("a" writes, "b" is refused, graphql-core answers)
    with seeded() as fake:
        field = fake.app.schema.mutation_type.fields["updateSessionSettings"]  # type: ignore[union-attr]
        resolver, calls = field.resolve, []

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return resolver(*args, **kwargs)  # type: ignore[misc]

        monkeypatch.setattr(field, "resolve", counting)
        query = (
            f"mutation {{ a: {SETTINGS.format(3600000, 7200000)} {{ id }}"
            f" b: {SETTINGS.format(0, 7200000)} {{ id }} }}"
        )
        answer = requests.post(
            fake.graphql_url,
            json={"query": query},
            headers={"Authorization": f"Bearer {fake.token}"},
            timeout=TIMEOUT,
        ).json()
    assert len(calls) == 2, "each root field's resolver runs once, fast path or not"
    assert answer["data"] is None  # Organization! at the root: graphql-core's null
    assert [error["path"] for error in answer["errors"]] == [["b"]]


def _all() -> Any:
    return default_session_query(level="Organization", onlyActiveSessions=False, limit=200)
