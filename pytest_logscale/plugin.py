"""The pytest plugin: options, the ``logscale`` marker and the fixtures.

The only module that imports pytest.

One fake server runs per test session (per xdist worker); before each test the
``logscale_server`` fixture puts it back to the freshly seeded state, which
costs about the same as a dictionary swap, so every test starts clean.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime

import pytest

from .fake import FakeLogScale
from .harness.ratelimit import RateLimit
from .http.app import AppOptions
from .http.server import ServerOptions
from .seeding import BOUNDS, SEEDING, Progress, SeedOptions
from .seeding.options import option_from_text

__all__ = ["LogScaleServerFactory"]

_OPTIONS = {**SEEDING, **BOUNDS}
_DEFAULTS = SeedOptions()
_server_key = pytest.StashKey[FakeLogScale]()
_defaults_key = pytest.StashKey[SeedOptions]()


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"logscale({', '.join(f'{n}=...' for n in _OPTIONS)}): seed the fake LogScale "
        "of this test (or module, or class) with these options.",
    )
    config.stash[_defaults_key] = _configured_options(config)


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


def _marked_options(item: pytest.Item, base: SeedOptions) -> SeedOptions:
    markers = list(item.iter_markers("logscale"))
    if not markers:  # the common case, on every test: nothing to build
        return base
    chosen: dict[str, object] = {}
    for marker in reversed(markers):
        if marker.args:
            pytest.fail(
                "@pytest.mark.logscale takes keyword arguments only, e.g. seed=7", pytrace=False
            )
        unknown = sorted(set(marker.kwargs) - set(_OPTIONS))
        if unknown:
            pytest.fail(
                f"@pytest.mark.logscale got unknown option(s) {', '.join(unknown)}; "
                f"it takes {', '.join(_OPTIONS)}",
                pytrace=False,
            )
        chosen.update(marker.kwargs)
    try:
        return base.replace(**chosen)  # type: ignore[arg-type]
    except ValueError as error:
        pytest.fail(f"@pytest.mark.logscale: {error}", pytrace=False)


def _progress(config: pytest.Config) -> Progress:
    """Seeding progress for the terminal, on one line that ends when seeding does."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def tell(done: int, total: int) -> None:
        if reporter is not None:
            reporter.write_line(f"pytest-logscale: seeded {done:,} of {total:,} sessions")

    return tell


class LogScaleServerFactory:
    """Starts extra fake LogScale servers and stops them all at the end of the test session."""

    def __init__(self, defaults: SeedOptions, progress: Progress | None = None) -> None:
        self.defaults = defaults
        self._progress = progress
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
        **seeding: int | str | datetime,
    ) -> FakeLogScale:
        """A started server; ``seeding`` takes the marker's options (``seed``, ``clock``, ...).

        Unset seeding options come from the command line, the ini file or the
        defaults; the other keywords are :class:`~pytest_logscale.FakeLogScale`'s.
        """
        unknown = sorted(set(seeding) - set(_OPTIONS))
        if unknown:
            raise TypeError(f"unknown seeding option(s): {', '.join(unknown)}")
        options = self.defaults.replace(**seeding)
        fake = FakeLogScale(
            options,
            host=host,
            port=port,
            wall_clock=wall_clock,
            app_options=app_options,
            rate_limit=rate_limit,
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
    journal; keyword options ``host``, ``port``, ``wall_clock``, ``app_options``,
    ``rate_limit`` and ``server_options`` too. Every server it made is stopped at the end of the
    session (or earlier: use the result in a ``with`` block). Unlike
    ``logscale_server`` it is not reset between tests.
    """
    factory = LogScaleServerFactory(pytestconfig.stash[_defaults_key], _progress(pytestconfig))
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
    ``clock``, ``journal``, ``faults`` and ``rate_limit`` (docs/faults.md) and the
    seeded ``organizations``, ``users`` and ``sessions``. When the test fails, its
    journal is added to the report.
    """
    # Fetched, not named as an argument: pytest adds a finalizer to a named session
    # fixture for every test that uses it, about 1 KB a test kept to the session's end.
    fake: FakeLogScale = request.getfixturevalue("_logscale_shared_server")
    if not fake.running:  # an earlier test stopped it (a with block, stop())
        fake.start()
    fake.reseed(_marked_options(request.node, request.config.stash[_defaults_key]))
    request.node.stash[_server_key] = fake
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
    fake = item.stash.get(_server_key, None)
    if fake is not None and report.failed and report.when in ("setup", "call"):
        report.sections.append(("logscale journal", fake.journal.format()))
    return report
