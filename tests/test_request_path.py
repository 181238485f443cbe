"""What the per-request shortcuts of the hot path must leave exactly as it was, over real HTTP.

The server formats its ``Date`` header at most once a second and its ``Server``
header once per connection; the app reads request bodies with one shared JSON
decoder. Each must send what the standard library would have sent.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import platform
import time
from importlib.metadata import version
from urllib.parse import urlsplit

import requests

from pytest_logscale import FakeLogScale

TIMEOUT = 30


def test_every_answer_on_a_kept_connection_has_the_current_date_and_the_server_name(
    logscale_server: FakeLogScale,
) -> None:
    url = urlsplit(logscale_server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=TIMEOUT)
    body = json.dumps({"query": "{ currentUser { username } }"})
    headers = {"Authorization": f"Bearer {logscale_server.token}"}
    try:
        for _ in range(3):
            before = int(time.time())
            connection.request("POST", "/graphql", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            after = int(time.time())
            assert answer.status == 200
            date = answer.getheader("Date")
            assert date in {email.utils.formatdate(s, usegmt=True) for s in (before, after)}
            assert answer.getheader("Server") == (
                f"Werkzeug/{version('werkzeug')} Python/{platform.python_version()}"
            )
    finally:
        connection.close()


def test_a_refused_request_has_the_current_date_too(logscale_server: FakeLogScale) -> None:
    before = int(time.time())
    answer = requests.request("BREW", logscale_server.graphql_url, timeout=TIMEOUT)
    after = int(time.time())
    assert answer.status_code == 405
    assert answer.headers["Date"] in {
        email.utils.formatdate(s, usegmt=True) for s in (before, after)
    }


def test_a_body_starting_with_a_byte_order_mark_is_refused_in_json_loads_own_words(
    logscale_server: FakeLogScale,
) -> None:
    body = "\ufeff" + json.dumps({"query": "{ currentUser { username } }"})
    answer = requests.post(
        logscale_server.graphql_url,
        data=body.encode(),
        headers={"Authorization": f"Bearer {logscale_server.token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 400
    message = answer.json()["errors"][0]["message"]
    assert message.startswith("The request body is not valid JSON: Unexpected UTF-8 BOM")


def test_raw_newlines_inside_strings_are_read_and_bad_json_still_refused(
    logscale_server: FakeLogScale,
) -> None:
    headers = {"Authorization": f"Bearer {logscale_server.token}"}
    raw = '{"query": "{\n currentUser {\n username } }"}'
    answer = requests.post(
        logscale_server.graphql_url, data=raw.encode(), headers=headers, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["currentUser"]["username"] == logscale_server.owner().username
    broken = requests.post(
        logscale_server.graphql_url, data=b'{"query": ', headers=headers, timeout=TIMEOUT
    )
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["message"].startswith("The request body is not valid JSON")
