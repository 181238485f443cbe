"""LogScale's own documented examples, run as printed against ``pytest-logscale serve``.

The snippets are cut out of the documentation text in tests/data/seed-docs, so
a change there is tested as it stands. Only $YOUR_LOGSCALE_URL and $TOKEN are
filled in: through the environment for shell, by substitution for Python.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from clients.programs import require_program
from serve_process import ServeProcess

from pytest_logscale import FakeLogScale

DOCS = Path(__file__).parent / "data" / "seed-docs"
SESSIONS_DOC = DOCS / "sessions-query.txt"
LOGOUT_DOC = DOCS / "logoutOfSession-mutation.txt"
TITLES = (
    "Raw",
    "Mac OS or Linux (curl)",
    "Mac OS or Linux (curl) One-line",
    "Windows Cmd and curl",
    "Windows Powershell and curl",
    "Perl",
    "Python",
    "Node.js",
    "Example Responses",
)
CURL_TITLES = ("Mac OS or Linux (curl)", "Mac OS or Linux (curl) One-line")
TIMEOUT = 60


def snippet(doc: Path, title: str) -> str:
    """The code under a section title of a documentation page, without its language line."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = lines.index(title) + 2  # the title, then a language tag such as "shell"
    end = next(i for i in range(start, len(lines)) if lines[i] in TITLES)
    return "\n".join(lines[start:end]) + "\n"


def documented_response(doc: Path) -> Any:
    """The example response printed at the end of a documentation page."""
    text = doc.read_text(encoding="utf-8")
    start = text.index("\njson\n", text.index("Example Responses")) + len("\njson\n")
    return json.JSONDecoder().raw_decode(text, start)[0]


@pytest.fixture(scope="module")
def serve() -> Iterator[ServeProcess]:
    server = ServeProcess().start()
    yield server
    assert server.stop() == 0


def run_curl(code: str, url: str, token: str) -> Any:
    require_program("curl")
    env = {**os.environ, "YOUR_LOGSCALE_URL": url, "TOKEN": token}
    done = subprocess.run(
        ["bash", "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HTTP/1.1 200" in done.stderr  # curl -v reports the status line on stderr
    return json.loads(done.stdout)


def run_python(code: str, url: str, token: str) -> Any:
    filled = code.replace("$YOUR_LOGSCALE_URL", url).replace("$TOKEN", token)
    done = subprocess.run(
        [sys.executable, "-c", filled], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def status_with(serve: ServeProcess, token: str) -> int:
    response = requests.post(
        serve.url + "/graphql",
        json={"query": "{ currentUser { id } }"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    return response.status_code


# -- the snippets are what the docs print ----------------------------------------------------


def test_the_sessions_page_has_the_snippets_these_tests_run() -> None:
    curl = snippet(SESSIONS_DOC, "Mac OS or Linux (curl)")
    assert curl.startswith("curl -v -X POST $YOUR_LOGSCALE_URL/graphql")
    assert '-H "Authorization: Bearer $TOKEN"' in curl
    assert curl.rstrip().endswith("EOF")
    python = snippet(SESSIONS_DOC, "Python")
    assert "requests.post(url" in python
    assert 'searchFilter: \\"company.com\\"' in python


def test_the_documented_example_response_has_the_shape_the_tests_check() -> None:
    assert documented_response(LOGOUT_DOC) == {"data": {"logoutOfSession": True}}
    assert_documented_sessions_shape(documented_response(SESSIONS_DOC))


# -- sessions() ------------------------------------------------------------------------------


def assert_documented_sessions_shape(answer: Any) -> None:
    """What the sessions example promises: company.com users, by username descending."""
    assert set(answer) == {"data"}, answer
    sessions = answer["data"]["sessions"]
    assert set(sessions) == {"totalResults", "results"}
    assert isinstance(sessions["totalResults"], int)
    results = sessions["results"]
    assert isinstance(results, list)
    assert sessions["totalResults"] >= len(results)
    for result in results:
        assert set(result) == {"id", "user"}
        assert isinstance(result["id"], str)
        assert set(result["user"]) == {"username"}
        assert result["user"]["username"].endswith("company.com")
    usernames = [r["user"]["username"].lower() for r in results]
    assert usernames == sorted(usernames, reverse=True)


@pytest.mark.parametrize("title", CURL_TITLES)
def test_the_documented_curl_sessions_example_answers_as_documented(
    serve: ServeProcess, title: str
) -> None:
    answer = run_curl(snippet(SESSIONS_DOC, title), serve.url, serve.values["LOGSCALE_TOKEN"])
    assert_documented_sessions_shape(answer)
    assert len(answer["data"]["sessions"]["results"]) == 10  # the example's limit, filled


def test_the_documented_python_sessions_example_answers_as_documented(
    serve: ServeProcess,
) -> None:
    code = snippet(SESSIONS_DOC, "Python")
    answer = run_python(code, serve.url, serve.values["LOGSCALE_TOKEN"])
    assert_documented_sessions_shape(answer)
    assert len(answer["data"]["sessions"]["results"]) == 10


def test_curl_and_python_examples_see_the_same_sessions(serve: ServeProcess) -> None:
    token = serve.values["LOGSCALE_TOKEN"]
    curl = run_curl(snippet(SESSIONS_DOC, "Mac OS or Linux (curl)"), serve.url, token)
    python = run_python(snippet(SESSIONS_DOC, "Python"), serve.url, token)
    assert curl == python


# -- logoutOfSession ---------------------------------------------------------------------------


def test_the_documented_curl_logout_example_ends_the_session(serve: ServeProcess) -> None:
    token = serve.values["LOGSCALE_MEMBER_TOKEN"]
    assert status_with(serve, token) == 200
    answer = run_curl(snippet(LOGOUT_DOC, "Mac OS or Linux (curl)"), serve.url, token)
    assert answer == documented_response(LOGOUT_DOC) == {"data": {"logoutOfSession": True}}
    assert status_with(serve, token) == 401


def test_the_documented_python_logout_example_ends_the_session(serve: ServeProcess) -> None:
    token = serve.values["LOGSCALE_ADMIN_TOKEN"]
    assert status_with(serve, token) == 200
    answer = run_python(snippet(LOGOUT_DOC, "Python"), serve.url, token)
    assert answer == {"data": {"logoutOfSession": True}}
    assert status_with(serve, token) == 401


# -- the Perl examples -------------------------------------------------------------------------


def perl_double_quoted(literal: str) -> str:
    """A Perl "..." string literal's value, for the escapes the docs use."""
    return re.sub(r"\\(.)", r"\1", literal, flags=re.DOTALL)


def perl_sessions_body() -> bytes:
    """The exact bytes the documented Perl sessions example sends."""
    code = snippet(SESSIONS_DOC, "Perl")
    found = re.search(r'my \$query = "(.*?)";\n', code, re.DOTALL)
    assert found is not None, code
    assert "$query =~ s/\\n/ /g;" in code
    assert 'sprintf(\'{"query" : "%s"}\',$query)' in code
    query = perl_double_quoted(found.group(1)).replace("\n", " ")
    return ('{"query" : "%s"}' % query).encode()  # noqa: UP031 -- Perl's sprintf, as printed


def test_the_documented_perl_sessions_example_sends_invalid_json() -> None:
    body = perl_sessions_body()
    assert b'searchFilter: "company.com"' in body  # the quotes end the JSON string early
    with pytest.raises(json.JSONDecodeError):
        json.loads(body, strict=False)


def test_the_documented_perl_sessions_example_gets_a_clear_400(serve: ServeProcess) -> None:
    response = requests.post(
        serve.url + "/graphql",
        data=perl_sessions_body(),
        headers={
            "Authorization": f"Bearer {serve.values['LOGSCALE_TOKEN']}",
            "Content-Type": "application/json",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "not valid JSON" in error["message"]


def test_the_perl_sessions_example_with_its_quotes_escaped_works(serve: ServeProcess) -> None:
    body = perl_sessions_body().replace(b'"company.com"', b'\\"company.com\\"')
    response = requests.post(
        serve.url + "/graphql",
        data=body,
        headers={"Authorization": f"Bearer {serve.values['LOGSCALE_TOKEN']}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert_documented_sessions_shape(response.json())


def test_the_documented_perl_logout_example_is_accepted_with_its_raw_newlines(
    logscale_server: FakeLogScale,
) -> None:
    code = snippet(LOGOUT_DOC, "Perl")
    found = re.search(r"my \$json = '(.*?)';\n", code, re.DOTALL)
    assert found is not None, code
    body = found.group(1)  # a Perl '...' literal: the raw newlines stay, so not strict JSON
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    status, answer = logscale_server.post(body, token=logscale_server.token)
    assert (status, answer) == (200, {"data": {"logoutOfSession": True}})
