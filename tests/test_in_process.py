"""The in-process transport: the same answers as over HTTP, without a socket, and nothing else.

Each property is checked against the real thing: the same request sent over a
socket to the same fake, reset in between, must get the same status, fields
(bar ``Date``), body and journal entry; a failure must raise what the client
raises for it on the network. Sockets are observed with an audit hook, not mocked.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import requests
import responses
import respx
from test_plugin import FAST

from pytest_logscale import FakeLogScale, Fault
from pytest_logscale.plugin import LogScaleServerFactory

TIMEOUT = 30
PAGE = "query Page { sessions(limit: 3) { totalResults results { id isCurrentSession } } }"
REVOKE = "mutation R($id: String!) { revokeSession(input: {id: $id, revocationType: Session}) }"

_connects: list[tuple[str, int]] = []
_watching: list[bool] = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _watching[0]:
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2:
            _connects.append((str(address[0]), int(address[1])))


sys.addaudithook(_audit)  # audit hooks stay for the process: it records only while watched


@pytest.fixture
def connects() -> Iterator[list[tuple[str, int]]]:
    """The addresses sockets connect to while the test runs (from the interpreter's audit)."""
    _connects.clear()
    _watching[0] = True
    try:
        yield _connects
    finally:
        _watching[0] = False


@pytest.fixture
def fake(logscale_server_factory: LogScaleServerFactory) -> Iterator[FakeLogScale]:
    with logscale_server_factory() as server:
        yield server


def port_of(fake: FakeLogScale) -> int:
    return int(fake.url.rsplit(":", 1)[1])


# -- the same exchange both ways ----------------------------------------------------------


def _requests_send(fake: FakeLogScale, method: str, path: str, body: bytes, token: str) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = requests.request(method, fake.url + path, data=body, headers=headers, timeout=TIMEOUT)
    return answer.status_code, answer.reason, dict(answer.headers), answer.content


def _httpx_send(fake: FakeLogScale, method: str, path: str, body: bytes, token: str) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=TIMEOUT) as client:
        answer = client.request(method, fake.url + path, content=body, headers=headers)
    return answer.status_code, answer.reason_phrase, dict(answer.headers), answer.content


def _httpx_async_send(fake: FakeLogScale, method: str, path: str, body: bytes, token: str) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    async def send() -> Any:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.request(method, fake.url + path, content=body, headers=headers)
        return answer.status_code, answer.reason_phrase, dict(answer.headers), answer.content

    return asyncio.run(send())


CLIENTS: dict[str, Callable[..., Any]] = {
    "requests": _requests_send,
    "httpx": _httpx_send,
    "httpx async": _httpx_async_send,
}


def _gql(query: str, **variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables or None}).encode()


#: (method, path, body, whether to send the owner's token): answers, refusals, control API.
EXCHANGES = {
    "query": ("POST", "/graphql", _gql(PAGE), True),
    "mutation": ("POST", "/graphql", _gql("mutation { logoutOfSession }"), True),
    "no token": ("POST", "/graphql", _gql(PAGE), False),
    "bad JSON": ("POST", "/graphql", b"{not json", True),
    "validation error": ("POST", "/graphql", _gql("{ sessions { nope } }"), True),
    "wrong method": ("PUT", "/graphql", _gql(PAGE), True),
    "unknown path": ("POST", "/api/v2/nothing", b"{}", True),
    "status": ("GET", "/api/v1/status", b"", False),
    "control API": ("GET", "/_fake/journal", b"", False),
    "HEAD": ("HEAD", "/api/v1/status", b"", False),
}


def _without_date(answer: Any) -> Any:
    status, reason, fields, body = answer
    return status, reason, {k.lower(): v for k, v in fields.items() if k.lower() != "date"}, body


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_an_exchange_in_process_equals_the_same_exchange_over_http(
    fake: FakeLogScale, client: str, exchange: str, connects: list[tuple[str, int]]
) -> None:
    method, path, body, with_token = EXCHANGES[exchange]
    send = CLIENTS[client]
    token = fake.token if with_token else ""
    fake.reset()
    over_http = send(fake, method, path, body, token)
    journal_over_http = list(fake.journal)
    fake.reset()
    connects.clear()
    with fake.in_process():
        in_process = send(fake, method, path, body, token)
    assert _without_date(in_process) == _without_date(over_http)
    assert list(fake.journal) == journal_over_http
    assert ("127.0.0.1", port_of(fake)) not in connects


def test_the_date_field_is_the_servers_own(fake: FakeLogScale) -> None:
    with fake.in_process():
        answer = requests.get(fake.url + "/api/v1/status", timeout=TIMEOUT)
    assert answer.headers["Date"].endswith(" GMT")
    assert answer.headers["Server"] == requests.get(fake.url + "/api/v1/status").headers["Server"]


def test_a_whole_flow_changes_the_same_state_that_http_then_sees(fake: FakeLogScale) -> None:
    headers = {"Authorization": f"Bearer {fake.token}"}
    with fake.in_process():
        page = requests.post(fake.graphql_url, json={"query": PAGE}, headers=headers).json()
        victim = next(
            s["id"] for s in page["data"]["sessions"]["results"] if not s["isCurrentSession"]
        )
        revoked = httpx.post(
            fake.graphql_url, json={"query": REVOKE, "variables": {"id": victim}}, headers=headers
        )
        assert revoked.json() == {"data": {"revokeSession": True}}
    assert not fake.session(victim).active  # the state the fake keeps, read outside the block
    again = requests.post(fake.graphql_url, json={"query": PAGE}, headers=headers).json()
    assert victim not in {s["id"] for s in again["data"]["sessions"]["results"]}
    assert [e.variables for e in fake.journal][-2:] == [{"id": victim}, None]


def test_request_bodies_of_every_form_arrive_whole(fake: FakeLogScale) -> None:
    body = _gql(PAGE)
    headers = {"Authorization": f"Bearer {fake.token}", "Content-Type": "application/json"}
    with fake.in_process():
        as_text = requests.post(fake.graphql_url, data=body.decode(), headers=headers)
        as_chunks = requests.post(
            fake.graphql_url, data=iter([body[:10], body[10:]]), headers=headers
        )
        streamed = requests.post(fake.graphql_url, data=body, headers=headers, stream=True)
        streamed_body = b"".join(streamed.iter_content(7))
    assert as_text.json() == as_chunks.json() == json.loads(streamed_body)
    assert as_text.json()["data"]["sessions"]["totalResults"] > 0


# -- what is routed, and for how long --------------------------------------------------------


def test_other_addresses_still_go_over_the_network(
    logscale_server_factory: LogScaleServerFactory, connects: list[tuple[str, int]]
) -> None:
    with logscale_server_factory() as routed, logscale_server_factory() as other:
        with routed.in_process():
            requests.get(routed.url + "/api/v1/status", timeout=TIMEOUT)
            requests.get(other.url + "/api/v1/status", timeout=TIMEOUT)
            httpx.get(other.url + "/api/v1/status", timeout=TIMEOUT)
        assert connects.count(("127.0.0.1", port_of(other))) == 2
        assert ("127.0.0.1", port_of(routed)) not in connects


def test_the_clients_are_themselves_again_after_the_block(fake: FakeLogScale) -> None:
    send, handle = requests.adapters.HTTPAdapter.send, httpx.HTTPTransport.handle_request
    handle_async = httpx.AsyncHTTPTransport.handle_async_request
    with fake.in_process(), fake.in_process():  # blocks nest
        assert requests.adapters.HTTPAdapter.send is not send
    assert requests.adapters.HTTPAdapter.send is send
    assert httpx.HTTPTransport.handle_request is handle
    assert httpx.AsyncHTTPTransport.handle_async_request is handle_async


def test_the_block_ends_even_when_the_test_fails_inside_it(fake: FakeLogScale) -> None:
    send = requests.adapters.HTTPAdapter.send
    with pytest.raises(ZeroDivisionError), fake.in_process():
        1 / 0  # noqa: B018
    assert requests.adapters.HTTPAdapter.send is send


def test_two_fakes_are_routed_each_to_its_own_app(
    logscale_server_factory: LogScaleServerFactory, connects: list[tuple[str, int]]
) -> None:
    first, second = logscale_server_factory(seed=2), logscale_server_factory(seed=3)
    with first, second, first.in_process(), second.in_process():
        for server in (first, second):
            me = server.execute("query { currentUser { username } }")  # http.client: a socket
            answer = requests.post(
                server.graphql_url,
                json={"query": "query { currentUser { username } }"},
                headers={"Authorization": f"Bearer {server.token}"},
            ).json()
            assert answer == me == {"data": {"currentUser": {"username": server.owner().username}}}
    assert len(first.journal) == len(second.journal) == 2


# -- failures look as they do on the network ------------------------------------------------


def _requests_failure(url: str, token: str, timeout: float) -> type[BaseException] | None:
    try:
        requests.post(
            url, json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
    except requests.exceptions.RequestException as error:
        return type(error)
    return None


def _httpx_failure(url: str, token: str, timeout: float) -> type[BaseException] | None:
    try:
        httpx.post(
            url, json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
    except httpx.HTTPError as error:
        return type(error)
    return None


def _httpx_async_failure(url: str, token: str, timeout: float) -> type[BaseException] | None:
    async def send() -> type[BaseException] | None:
        async with httpx.AsyncClient(timeout=timeout) as client:
            try:
                await client.post(
                    url, json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError as error:
                return type(error)
        return None

    return asyncio.run(send())


FAILURES: dict[str, Callable[[str, str, float], type[BaseException] | None]] = {
    "requests": _requests_failure,
    "httpx": _httpx_failure,
    "httpx async": _httpx_async_failure,
}
FAULTS = {
    "dropped connection": (Fault.dropped_connection(), TIMEOUT),
    "truncated body": (Fault.truncated_body(), TIMEOUT),
    "delay past the timeout": (Fault.delay(2.0), 0.05),
}


@pytest.mark.parametrize("client", FAILURES)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_raises_what_the_client_raises_for_it_over_http(
    fake: FakeLogScale, client: str, fault: str
) -> None:
    injected, timeout = FAULTS[fault]
    failure = FAILURES[client]
    fake.faults.add(injected, times=1)
    over_http = failure(fake.graphql_url, fake.token, timeout)
    fake.reset()  # also ends a delay still waiting
    fake.faults.add(injected, times=1)
    with fake.in_process():
        in_process = failure(fake.graphql_url, fake.token, timeout)
    fake.reset()
    assert over_http is not None
    assert in_process is over_http


@pytest.mark.parametrize("client", FAILURES)
def test_a_stopped_fake_refuses_as_a_closed_port_does(
    logscale_server_factory: LogScaleServerFactory, client: str
) -> None:
    fake = logscale_server_factory()
    url, token = fake.graphql_url, fake.token
    with fake.in_process():
        fake.stop()
        in_process = FAILURES[client](url, token, TIMEOUT)
    over_http = FAILURES[client](url, token, TIMEOUT)
    assert in_process is not None
    assert in_process is over_http


# -- the plugin -----------------------------------------------------------------------------

INNER = """
import sys
import requests
import respx
import responses

CONNECTS = []
sys.addaudithook(lambda event, args: event == "socket.connect" and CONNECTS.append(args[1]))


def ask(server):
    CONNECTS.clear()
    answer = requests.post(server.graphql_url, json={"query": "{ currentUser { username } }"},
                           headers={"Authorization": "Bearer " + server.token})
    assert answer.json()["data"]["currentUser"]["username"] == server.owner().username
    return "socket" if CONNECTS else "in process"


def test_default(logscale_server):
    print("TRANSPORT default", ask(logscale_server))


@pytest.mark.logscale(transport="http")
def test_marked_http(logscale_server):
    print("TRANSPORT http", ask(logscale_server))


@pytest.mark.logscale(transport="in-process", seed=4)
def test_marked_in_process(logscale_server):
    print("TRANSPORT in-process", ask(logscale_server))
"""


def _transports(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    pytester.makepyfile(test_inner="import pytest\n" + INNER)
    result = pytester.runpytest_subprocess(*FAST, "-s", *args)
    result.assert_outcomes(passed=3)
    found = re.findall(r"TRANSPORT (\S+) (socket|in process)", result.stdout.str())
    return dict(found)


def test_the_plugin_uses_http_unless_told(pytester: pytest.Pytester) -> None:
    assert _transports(pytester) == {
        "default": "socket",
        "http": "socket",
        "in-process": "in process",
    }


@pytest.mark.parametrize("how", ["option", "ini"])
def test_the_plugin_routes_every_test_in_process_when_told(
    pytester: pytest.Pytester, how: str
) -> None:
    args = ("--logscale-transport=in-process",) if how == "option" else ()
    if how == "ini":
        pytester.makeini("[pytest]\nlogscale_transport = in-process\n")
    assert _transports(pytester, *args) == {
        "default": "in process",
        "http": "socket",
        "in-process": "in process",
    }


def test_a_transport_that_does_not_exist_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="def test_nothing(logscale_server):\n    pass\n")
    result = pytester.runpytest(*FAST, "--logscale-transport=carrier-pigeon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--logscale-transport: 'carrier-pigeon' is not a transport; choose http or in-process*"]
    )


def test_a_marked_transport_that_does_not_exist_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="import pytest\n\n"
        "@pytest.mark.logscale(transport='udp')\n"
        "def test_it(logscale_server):\n    pass\n"
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*transport='udp' is not a transport; choose 'http' or 'in-process'*"]
    )


def test_threads_send_in_process_at_once(fake: FakeLogScale) -> None:
    headers = {"Authorization": f"Bearer {fake.token}"}

    def ask(number: int) -> int:
        answer = requests.post(
            fake.graphql_url,
            json={"query": PAGE, "operationName": "Page"},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert number >= 0
        return int(answer.json()["data"]["sessions"]["totalResults"])

    with fake.in_process(), ThreadPoolExecutor(8) as pool:
        totals = list(pool.map(ask, range(40)))
    assert len(set(totals)) == 1
    assert len(fake.journal) == 40


def test_a_mock_library_patched_before_the_block_is_left_as_it_was(fake: FakeLogScale) -> None:
    original = requests.adapters.HTTPAdapter.send
    with fake.in_process():  # the clients' patches are made here (or were, by earlier tests)
        pass
    with responses.RequestsMock() as mocked:
        mocked.get("http://elsewhere.test/", json={"mocked": True})
        mocking = requests.adapters.HTTPAdapter.send
        with fake.in_process():
            status = requests.get(fake.url + "/api/v1/status", timeout=TIMEOUT)
            elsewhere = requests.get("http://elsewhere.test/", timeout=TIMEOUT)
        assert requests.adapters.HTTPAdapter.send is mocking
    assert requests.adapters.HTTPAdapter.send is original
    assert status.status_code == 200 and elsewhere.json() == {"mocked": True}


def test_httpx_inside_a_respx_mock_reaches_the_fake_and_the_mock(fake: FakeLogScale) -> None:
    handle = httpx.HTTPTransport.handle_request
    with respx.mock() as mocked:
        mocked.get("http://elsewhere.test/").respond(json={"mocked": True})
        with fake.in_process(), httpx.Client(timeout=TIMEOUT) as client:
            status = client.get(fake.url + "/api/v1/status")
            elsewhere = client.get("http://elsewhere.test/")
    assert status.status_code == 200 and elsewhere.json() == {"mocked": True}
    assert httpx.HTTPTransport.handle_request is handle
