"""The pytest plugin: options, the ``logscale`` marker and the fixtures.

The only module that imports pytest.

One fake server runs per test session (per xdist worker); before each test the
``logscale_server`` fixture puts it back to the freshly seeded state, which
costs about the same as a dictionary swap, so every test starts clean.

pytest loads this module in every run of every project where the package is
installed, so at load it imports only pytest and the seeding options: the
server, GraphQL and Faker are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, final

import pytest

from .seeding.options import BOUNDS, SEEDING, SeedOptions, option_from_text

if TYPE_CHECKING:
    from .fake import FakeLogScale
    from .harness.ratelimit import RateLimit
    from .http.app import AppOptions
    from .http.server import ServerOptions
    from .seeding.generate import Progress

__all__ = ["LogScaleServerFactory"]

_OPTIONS = {**SEEDING, **BOUNDS}
_DEFAULTS = SeedOptions()
#: The keywords of the factory other than the seeding options.
_SERVER_OPTIONS = (
    "host",
    "port",
    "wall_clock",
    "app_options",
    "rate_limit",
    "server_options",
    "journal_size",
    "journal_bytes",
    "journal_text",
    "control",
)
_JOURNAL_BYTES_HELP = "bytes the journal of each fake may hold before dropping its oldest requests"
#: How the ``requests`` and ``httpx`` calls of a test reach ``logscale_server``.
TRANSPORTS = ("http", "in-process")
_TRANSPORT_HELP = (
    "how requests and httpx calls reach logscale_server: http (a real socket) or in-process "
    "(the same app, no socket; other clients still use HTTP)"
)
_FUNCTION_SCOPED = ("logscale_server", "logscale_url", "logscale_token")
_SCOPE_HINT = (
    "pytest-logscale: logscale_server is reset before every test, so it is function-scoped; "
    "a fixture of a wider scope makes a server of its own with "
    "logscale_server_factory(...) (session-scoped, see docs/fixtures.md)."
)
_server_key = pytest.StashKey["FakeLogScale"]()
_defaults_key = pytest.StashKey[SeedOptions]()
_journal_bytes_key = pytest.StashKey["int | None"]()
_transport_key = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logscale", "fake LogScale (pytest-logscale)")
    for name, help_text in _OPTIONS.items():
        default = getattr(_DEFAULTS, name)
        group.addoption(
            f"--logscale-{name.replace('_', '-')}",
            default=None,
            dest=f"logscale_{name}",
            help=f"{help_text} (default: ini logscale_{name}, else {default})",
        )
        parser.addini(f"logscale_{name}", help=f"{help_text} (default: {default})", default="")
    group.addoption(
        "--logscale-journal-bytes",
        type=int,
        default=None,
        dest="logscale_journal_bytes",
        help=f"{_JOURNAL_BYTES_HELP} (default: ini logscale_journal_bytes, else 32 MiB)",
    )
    parser.addini(
        "logscale_journal_bytes", help=f"{_JOURNAL_BYTES_HELP} (default: 32 MiB)", default=""
    )
    group.addoption(
        "--logscale-transport",
        default=None,
        dest="logscale_transport",
        help=f"{_TRANSPORT_HELP} (default: ini logscale_transport, else http)",
    )
    parser.addini("logscale_transport", help=f"{_TRANSPORT_HELP} (default: http)", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"logscale({', '.join(f'{n}=...' for n in _OPTIONS)}, transport=...): seed the fake "
        "LogScale of this test (or module, or class) with these options; transport is "
        "http or in-process.",
    )
    config.stash[_defaults_key] = _configured_options(config)
    config.stash[_journal_bytes_key] = _journal_bytes(config)
    config.stash[_transport_key] = _configured_transport(config)


def _configured_transport(config: pytest.Config) -> str:
    """``--logscale-transport``, else the ini setting, else http."""
    given: str | None = config.getoption("logscale_transport")
    where = "--logscale-transport"
    if given is None:
        given, where = (
            str(config.getini("logscale_transport")).strip(),
            "ini option logscale_transport",
        )
    transport = given or "http"
    if transport not in TRANSPORTS:
        raise pytest.UsageError(
            f"pytest-logscale: {where}: {transport!r} is not a transport; "
            f"choose {' or '.join(TRANSPORTS)}"
        )
    return transport


def _journal_bytes(config: pytest.Config) -> int | None:
    """``--logscale-journal-bytes``, else the ini setting, else None (the fake's default)."""
    value: int | None = config.getoption("logscale_journal_bytes")
    text = str(config.getini("logscale_journal_bytes")).strip()
    if value is None and text:
        try:
            value = int(text)
        except ValueError:
            value = None
            message = f"ini option logscale_journal_bytes must be a whole number, got {text!r}"
            raise pytest.UsageError(f"pytest-logscale: {message}") from None
    if value is not None and value < 1:
        raise pytest.UsageError(f"pytest-logscale: journal_bytes must be at least 1, not {value}")
    return value


def _configured_options(config: pytest.Config) -> SeedOptions:
    """Seeding options from the command line, else the ini file, else the defaults."""
    chosen: dict[str, object] = {}
    for name in _OPTIONS:
        given, where = config.getoption(f"logscale_{name}"), f"--logscale-{name.replace('_', '-')}"
        if given is None:
            given, where = str(config.getini(f"logscale_{name}")).strip() or None, "ini option"
        if given is not None:
            try:
                chosen[name] = option_from_text(name, given)
            except ValueError as error:
                raise pytest.UsageError(
                    f"pytest-logscale: {where} logscale_{name}: {error}"
                    if where == "ini option"
                    else f"pytest-logscale: {where}: {error}"
                ) from None
    try:
        return SeedOptions(**chosen)  # type: ignore[arg-type]
    except ValueError as error:
        raise pytest.UsageError(f"pytest-logscale: {error}") from None


def _marked(item: pytest.Item, base: SeedOptions, transport: str) -> tuple[SeedOptions, str]:
    """The seeding options and the transport of ``item``: its markers' over the defaults."""
    markers = list(item.iter_markers("logscale"))
    if not markers:  # the common case, on every test: nothing to build
        return base, transport
    chosen: dict[str, object] = {}
    for marker in reversed(markers):
        if marker.args:
            pytest.fail(
                "@pytest.mark.logscale takes keyword arguments only, e.g. seed=7", pytrace=False
            )
        unknown = sorted(set(marker.kwargs) - {*_OPTIONS, "transport"})
        if unknown:
            pytest.fail(
                f"@pytest.mark.logscale got unknown option(s) {', '.join(unknown)}; "
                f"it takes {', '.join(_OPTIONS)}, transport",
                pytrace=False,
            )
        chosen.update(marker.kwargs)
    marked = chosen.pop("transport", transport)
    if not isinstance(marked, str) or marked not in TRANSPORTS:
        pytest.fail(
            f"@pytest.mark.logscale: transport={marked!r} is not a transport; "
            f"choose {' or '.join(map(repr, TRANSPORTS))}",
            pytrace=False,
        )
    return _replaced(base, chosen, "@pytest.mark.logscale: "), marked


def _replaced(
    base: SeedOptions,
    chosen: dict[str, object],
    prefix: str,
    error: type[Exception] | None = None,
) -> SeedOptions:
    """``base`` with ``chosen`` changed, or one line saying what is wrong.

    The message is raised (``error``) or failed with outside the ``except`` block,
    so pytest shows it alone, never as "During handling of the above exception".
    """
    try:
        return base.replace(**chosen)  # type: ignore[arg-type]
    except (TypeError, ValueError) as refused:
        message = f"{prefix}{refused}"
    if error is not None:
        raise error(message)
    pytest.fail(message, pytrace=False)


def _progress(config: pytest.Config) -> Progress:
    """Seeding progress for the terminal, on one line that ends when seeding does."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def tell(done: int, total: int) -> None:
        if reporter is not None:
            reporter.write_line(f"pytest-logscale: seeded {done:,} of {total:,} sessions")

    return tell


@final
class LogScaleServerFactory:
    """Starts extra fake LogScale servers and stops them all at the end of the test session."""

    def __init__(
        self,
        defaults: SeedOptions,
        progress: Progress | None = None,
        journal_bytes: int | None = None,
    ) -> None:
        self.defaults = defaults
        self._progress = progress
        self._journal_bytes = journal_bytes
        self._servers: list[FakeLogScale] = []

    def __call__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        wall_clock: bool = False,
        app_options: AppOptions | None = None,
        rate_limit: RateLimit | None = None,
        server_options: ServerOptions | None = None,
        journal_size: int | None = None,
        journal_bytes: int | None = None,
        journal_text: int | None = None,
        control: bool = True,
        **seeding: int | str | datetime,
    ) -> FakeLogScale:
        """A started server; ``seeding`` takes the marker's options (``seed``, ``clock``, ...).

        Unset seeding options come from the command line, the ini file or the
        defaults; the other keywords are :class:`~pytest_logscale.FakeLogScale`'s
        (``journal_bytes`` defaults to ``--logscale-journal-bytes``). Any other
        keyword is a TypeError listing the valid ones.
        """
        __tracebackhide__ = True
        unknown = sorted(set(seeding) - set(_OPTIONS))
        if unknown:
            raise TypeError(
                f"logscale_server_factory got unknown option(s) {', '.join(unknown)}; "
                f"it takes {', '.join((*_OPTIONS, *_SERVER_OPTIONS))}"
            )
        from .fake import FakeLogScale  # here, not at plugin load: see the module docstring

        options = _replaced(self.defaults, dict(seeding), "logscale_server_factory: ", ValueError)
        fake = FakeLogScale(
            options,
            host=host,
            port=port,
            wall_clock=wall_clock,
            app_options=app_options,
            rate_limit=rate_limit,
            journal_size=journal_size,
            journal_bytes=self._journal_bytes if journal_bytes is None else journal_bytes,
            journal_text=journal_text,
            control=control,
            progress=self._progress,
            server_options=server_options,
        )
        fake.start()
        self._servers.append(fake)
        return fake

    def stop_all(self) -> None:
        """Stop every server this factory started."""
        while self._servers:
            self._servers.pop().stop()


@pytest.fixture(scope="session")
def logscale_server_factory(pytestconfig: pytest.Config) -> Iterator[LogScaleServerFactory]:
    """Session-scoped maker of extra, independent fake LogScale servers.

    ``logscale_server_factory(seed=7, organizations=2)`` returns a started
    :class:`~pytest_logscale.FakeLogScale` with its own port, state, clock and
    journal; keyword options ``host``, ``port``, ``wall_clock``,
    ``app_options``, ``rate_limit``, ``server_options``, ``journal_size``,
    ``journal_bytes``, ``journal_text`` and ``control`` too. Every server it made is stopped at the
    end of the session (or earlier: use the result in a ``with`` block). Unlike
    ``logscale_server`` it is not reset between tests; use it in fixtures of a
    wider scope than a function.
    """
    factory = LogScaleServerFactory(
        pytestconfig.stash[_defaults_key],
        _progress(pytestconfig),
        pytestconfig.stash[_journal_bytes_key],
    )
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def _logscale_shared_server(request: pytest.FixtureRequest) -> FakeLogScale:
    # The factory is fetched here rather than named as an argument: pytest walks a
    # cached fixture's arguments again for every test that uses it, and this one is
    # used by every test asking for logscale_server.
    factory: LogScaleServerFactory = request.getfixturevalue("logscale_server_factory")
    return factory()


@pytest.fixture
def logscale_server(request: pytest.FixtureRequest) -> FakeLogScale:
    """A live fake LogScale in its freshly seeded state (function scope).

    One server per test session (per xdist worker) is reset before each test,
    so what a test changes (logouts, revocations, the clock, the journal) never
    reaches the next one. Seeding follows ``@pytest.mark.logscale(...)``, then
    ``--logscale-*`` options, then ``logscale_*`` ini settings, then defaults
    (seed 1, 1 organization, 12 users and 60 sessions per organization).

    The handle is a :class:`~pytest_logscale.FakeLogScale`: ``url``,
    ``graphql_url``, ``token`` (the owner's session), ``owner()``/``admin()``/
    ``member()``, ``login(user)``, ``api_token(user)``, ``execute(query, ...)``,
    ``post(body, ...)``, ``session(id)`` and ``find_sessions(...)`` (sessions as
    they are now), ``clock``, ``journal``, ``faults`` and ``rate_limit``
    (docs/faults.md) and the seeded ``organizations``, ``users`` and
    ``sessions``. When the test fails, its journal is added to the report. For
    a fixture of a wider scope, use ``logscale_server_factory``.

    Under ``--logscale-transport=in-process`` (or the ini setting, or
    ``@pytest.mark.logscale(transport="in-process")``) the test's ``requests``
    and ``httpx`` calls to the fake are answered in process, for the whole test.
    """
    # Fetched, not named as an argument: pytest adds a finalizer to a named session
    # fixture for every test that uses it, about 1 KB a test kept to the session's end.
    fake: FakeLogScale = request.getfixturevalue("_logscale_shared_server")
    if not fake.running:  # an earlier test stopped it (a with block, stop())
        fake.start()
    stash = request.config.stash
    options, transport = _marked(request.node, stash[_defaults_key], stash[_transport_key])
    fake.reseed(options)
    request.node.stash[_server_key] = fake
    if transport == "in-process":  # a finalizer only then: the http default pays nothing
        block = fake.in_process()
        block.__enter__()
        request.addfinalizer(lambda: block.__exit__(None, None, None))
    return fake


@pytest.fixture
def logscale_url(logscale_server: FakeLogScale) -> str:
    """The base URL of ``logscale_server`` (LogScale's docs call it $YOUR_LOGSCALE_URL)."""
    return logscale_server.url


@pytest.fixture
def logscale_token(logscale_server: FakeLogScale) -> str:
    """A session token of the first organization's owner on ``logscale_server``."""
    return logscale_server.token


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.failed or report.when not in ("setup", "call"):
        return report
    fake = item.stash.get(_server_key, None)
    if fake is not None:
        report.sections.append(("logscale journal", fake.journal.format()))
    elif report.when == "setup" and _is_our_scope_mismatch(call):
        if isinstance(report.longrepr, str):
            report.longrepr += "\n" + _SCOPE_HINT
        else:
            report.sections.append(("logscale", _SCOPE_HINT))
    return report


def _is_our_scope_mismatch(call: pytest.CallInfo[None]) -> bool:
    """Whether setup failed because a wider-scoped fixture asked for one of ours."""
    if call.excinfo is None:
        return False
    text = str(call.excinfo.value)
    return "ScopeMismatch" in text and any(
        f"scoped fixture {name} " in text for name in _FUNCTION_SCOPED
    )
