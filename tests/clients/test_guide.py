"""Every example in docs/clients.md, run against the fake as printed there."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from clients.programs import require_perl_module, require_program, run
from pytest_logscale import FakeLogScale

GUIDE = Path(__file__).parent.parent.parent / "docs" / "clients.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def sections() -> dict[str, list[tuple[str, str]]]:
    """The guide's fenced blocks as (language, code), under their ``## `` heading."""
    found: dict[str, list[tuple[str, str]]] = {}
    for part in re.split(r"^## ", GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        found[heading] = [(m.group(1), m.group(2)) for m in FENCE.finditer(body)]
    return found


def example(heading: str, language: str) -> str:
    (code,) = [code for lang, code in sections()[heading] if lang == language]
    return code


def command(heading: str) -> list[str]:
    """How to run the example under a heading; it reads the program from stdin."""
    if heading == "curl":
        require_program("curl")
        return [require_program("bash")]
    if heading.startswith("Python"):
        return [sys.executable]
    if heading == "Perl: LWP":
        return [require_perl_module("LWP::UserAgent", "libwww-perl")]
    if heading == "Node.js":
        return [require_program("node")]
    raise AssertionError(f"no way to run the example under {heading!r}")


CLIENT_EXAMPLES = [
    ("curl", "sh"),
    ("Python: requests", "python"),
    ("Perl: LWP", "perl"),
    ("Node.js", "javascript"),
    ("Python: gql", "python"),
    ("Python: httpx", "python"),
]


def test_the_guide_has_one_example_per_client_and_the_query_they_share() -> None:
    found = sections()
    languages = {heading: [lang for lang, _ in blocks] for heading, blocks in found.items()}
    assert [heading for heading in found if heading in dict(CLIENT_EXAMPLES)] == [
        heading for heading, _ in CLIENT_EXAMPLES
    ]
    for heading, language in CLIENT_EXAMPLES:
        assert languages[heading] == [language], heading
    assert example("Getting a URL and a token", "graphql").startswith("query {\n  sessions(")


@pytest.mark.parametrize(("heading", "language"), CLIENT_EXAMPLES)
def test_the_guide_example_prints_the_data_of_the_shared_query(
    logscale_server: FakeLogScale, heading: str, language: str
) -> None:
    env = {"LOGSCALE_URL": logscale_server.url, "LOGSCALE_TOKEN": logscale_server.token}
    done = run(command(heading), stdin=example(heading, language), env=env)
    printed = json.loads(done.stdout)
    if heading == "curl":  # curl prints the whole body
        printed = printed["data"]
    expected = logscale_server.execute(example("Getting a URL and a token", "graphql"))
    assert printed == expected["data"]
    assert len(printed["sessions"]["results"]) == 5
    sessions = logscale_server.journal.calls("sessions")
    assert len(sessions) == 2
    assert sessions[0].status == 200
