"""``pytest-logscale serve``: the fake as a standalone server, for clients in any language."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .control import live_session_token
from .domain.checks import whole_number_text
from .domain.records import User
from .fake import FakeLogScale
from .harness.journal import DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_TEXT
from .harness.ratelimit import RateLimit
from .harness.statefile import StateError
from .http.app import AppOptions
from .http.server import SERVER_OPTION_BOUNDS, ServerError, ServerOptions
from .seeding import BOUNDS, SEEDING, SeedOptions
from .seeding.options import option_from_text
from .version import __version__

__all__ = ["main"]


#: A server running for days keeps only its newest requests in the journal.
SERVE_JOURNAL_SIZE = 1000


def _rate_limit(text: str) -> RateLimit:
    try:
        return RateLimit.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    try:
        return whole_number_text(text, "port", 0, 65535)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-logscale",
        description="A fake LogScale session-management GraphQL API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a seeded fake until SIGINT or SIGTERM",
        description=(
            "Serve a seeded fake LogScale. Before serving, prints LOGSCALE_URL, LOGSCALE_TOKEN "
            "(an owner's session), LOGSCALE_ADMIN_TOKEN and LOGSCALE_MEMBER_TOKEN, one per line."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_port, default=0, help="port to bind; 0 picks a free one (default)"
    )
    _add_seeding(serve)
    serve.add_argument(
        "--wall-clock",
        action="store_true",
        help="let the fake's clock run at the speed of real time instead of standing still; "
        "the data is seeded relative to now (or to --clock), a --state file runs on from its "
        "own instant",
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help="start from the state in this JSON file (see docs/state-file.md)",
    )
    serve.add_argument(
        "--dump-state",
        metavar="FILE",
        type=Path,
        help="on SIGINT or SIGTERM, write the state to this JSON file (it may be the --state file)",
    )
    serve.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="switch off the control API under /_fake/ (reset, clock, faults, journal, ...; "
        "see docs/control-api.md), so that /_fake/ is 404 as any unknown path",
    )
    serve.add_argument(
        "--print-users",
        action="store_true",
        help="after the LOGSCALE_* lines, print a table of users, roles and their tokens",
    )
    serve.add_argument(
        "--rate-limit",
        metavar="N/WINDOW",
        type=_rate_limit,
        help="answer 429 with Retry-After once a token made N requests within WINDOW of the "
        "fake's clock, e.g. 100/60s, 5/1m, 3/500ms (default: no limit; see docs/faults.md)",
    )
    limits = serve.add_argument_group("limits (see docs/faults.md, Hardening)")
    _add_limits(limits)
    _add_numbers(limits, _SERVER_HELP, ServerOptions(), SERVER_OPTION_BOUNDS)
    limits.add_argument(
        "--journal-bytes",
        type=_whole("--journal-bytes", None),
        metavar="N",
        default=DEFAULT_JOURNAL_BYTES,
        help="bytes the request journal may hold; the oldest requests go first "
        "(default: %(default)s, and at most " + f"{SERVE_JOURNAL_SIZE:,} requests)",
    )
    limits.add_argument(
        "--journal-text",
        type=_whole("--journal-text", None),
        metavar="N",
        default=DEFAULT_JOURNAL_TEXT,
        help="characters kept of each journalled query, variables and answer "
        "(default: %(default)s)",
    )
    return parser


_LIMITS_HELP = {
    "max_body_bytes": "larger request bodies get HTTP 413",
    "max_selection_size": "most fields and fragments an operation may select, a fragment "
    "counted each time it is spread (LogScale's GraphQLSelectionSizeLimit)",
    "max_depth": "deepest nesting of fields a query may have",
    "max_fragment_depth": "deepest nesting of fragments (spread or inline) a query may have",
    "max_tokens": "most lexical tokens a query may have",
    "document_cache_bytes": "most bytes the parsed documents kept for reuse may hold",
    "max_limit": "sessions(limit:) above this is served as this",
    "max_answer_rows": "most sessions one request may ask for, its sessions() limits added "
    "across aliases (HTTP 400 beyond)",
    "fast_path_fields": "a query expanding to more fields is run by graphql-core, not compiled",
    "validation_budget": "most comparisons of fields for merging a document's validation may "
    "make (HTTP 400 'Validation aborted' past it)",
}


def _whole(option: str, high: int | None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return whole_number_text(text, option, 1, high)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _add_numbers(
    group: argparse._ArgumentGroup,
    helps: dict[str, str],
    defaults: object,
    highs: Mapping[str, int] | None = None,
) -> None:
    """A ``--name N`` option (a whole number from 1 to ``highs[name]``) for each of ``helps``."""
    for name, help_text in helps.items():
        option = "--" + name.replace("_", "-")
        high = (highs or {}).get(name)
        bound = "" if high is None else f", at most {high}"
        group.add_argument(
            option,
            type=_whole(option, high),
            metavar="N",
            default=getattr(defaults, name),
            help=f"{help_text} (default: %(default)s{bound})",
        )


def _add_limits(group: argparse._ArgumentGroup) -> None:
    _add_numbers(group, _LIMITS_HELP, AppOptions())
    group.add_argument(
        "--no-introspection",
        dest="introspection",
        action="store_false",
        help="refuse schema introspection queries",
    )
    group.add_argument(
        "--no-explorer",
        dest="explorer",
        action="store_false",
        help="answer GET /graphql with 405 instead of the GraphiQL explorer",
    )


_SERVER_HELP = {
    "max_connections": "connections served at once, a thread each; one more gets HTTP 503",
    "max_head_bytes": "longest request line, and header fields together (HTTP 414, 431)",
    "max_headers": "most header fields a request may have (HTTP 431)",
    "idle_timeout": "seconds a silent connection is kept",
}


def _server_options(args: argparse.Namespace) -> ServerOptions:
    return ServerOptions(**{name: getattr(args, name) for name in _SERVER_HELP})


def _app_options(args: argparse.Namespace) -> AppOptions:
    chosen = {name: getattr(args, name) for name in (*_LIMITS_HELP, "introspection", "explorer")}
    return AppOptions(**chosen)


def _seeding_value(name: str) -> Callable[[str], int | str]:
    def parse(text: str) -> int | str:
        try:
            return option_from_text(name, text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _add_seeding(serve: argparse.ArgumentParser) -> None:
    """``--seed`` ... ``--clock`` and the bounds, from the one list of seeding options."""
    defaults = SeedOptions()
    for name, help_text in SEEDING.items():
        serve.add_argument(
            f"--{name}",
            type=_seeding_value(name),
            metavar="MS|ISO" if name == "clock" else "N",
            help=_with_default(help_text, getattr(defaults, name)) + "; not with --state",
        )
    for name, help_text in BOUNDS.items():
        serve.add_argument(
            "--" + name.replace("_", "-"),
            type=_seeding_value(name),
            metavar="N",
            default=getattr(defaults, name),
            help=f"{help_text} (default: %(default)s)",
        )


def _with_default(help_text: str, default: object) -> str:
    """The help text with its default, unless the text already says it (the clock's does)."""
    return help_text if "default:" in help_text else f"{help_text} (default: {default})"


def _progress(done: int, total: int) -> None:
    print(f"pytest-logscale: seeded {done:,} of {total:,} sessions", file=sys.stderr, flush=True)


def _fail(message: str) -> int:
    print(f"pytest-logscale: {message}", file=sys.stderr)
    return 2


def _check_dump_target(path: Path) -> str | None:
    if path.is_dir():
        return f"--dump-state {str(path)!r}: is a directory"
    if not path.parent.is_dir():
        return f"--dump-state {str(path)!r}: no directory {str(path.parent)!r}"
    return None


def _fake(args: argparse.Namespace) -> FakeLogScale:
    """The fake the options ask for; ValueError or StateError (a ValueError) if they are wrong."""
    if args.state is not None:
        clashing = [f"--{name}" for name in SEEDING if getattr(args, name) is not None]
        if clashing:
            raise ValueError(
                f"--state takes the seeding options from the file; leave out {', '.join(clashing)}"
            )
    given = {name: getattr(args, name) for name in (*SEEDING, *BOUNDS)}
    options = SeedOptions(**{name: value for name, value in given.items() if value is not None})
    fake = FakeLogScale(
        options,
        host=args.host,
        port=args.port,
        wall_clock=args.wall_clock,
        app_options=_app_options(args),
        rate_limit=args.rate_limit,
        journal_size=SERVE_JOURNAL_SIZE,
        journal_bytes=args.journal_bytes,
        journal_text=args.journal_text,
        control=args.control,
        progress=_progress,
        server_options=_server_options(args),
    )
    if args.state is not None:
        fake.load_state(args.state)
    return fake


def _live_token(fake: FakeLogScale, user: User) -> str | None:
    """The token of the user's first session that is active now, or None."""
    return live_session_token(fake, user)


def _users_table(fake: FakeLogScale) -> list[str]:
    """The lines of ``--print-users``: one row per user, then one per personal API token."""
    names = {o.id: o.name for o in fake.organizations}
    rows = [("ORGANIZATION", "ROLE", "USERNAME", "USER ID", "KIND", "TOKEN")]
    for user in fake.users:
        token = _live_token(fake, user)
        kind, shown = ("-", "-") if token is None else ("session", token)
        rows.append(
            (names[user.organization_id], user.role.value, user.username, user.id, kind, shown)
        )
    for token, user_id in fake.store.api_tokens().items():
        user = fake.store.user(user_id)
        rows.append(
            (names[user.organization_id], user.role.value, user.username, user.id, "api", token)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _reachable_from_elsewhere(host: str) -> bool:
    """Whether a server bound to ``host`` may be reached from other machines."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return True


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class _StopSignals:
    """SIGINT and SIGTERM, taken by the main thread when it asks for them, never by a handler.

    A Python signal handler runs between two bytecodes of whatever the main thread
    is doing; one that sets a ``threading.Event`` deadlocks when it lands while the
    main thread holds that Event's own lock (inside ``Event.wait``), and the server
    then ignores every later signal. So the signals are blocked (in this thread and in
    every thread started after, which inherit the mask: all the server's) and the main
    thread takes them with ``sigwait``. Before :meth:`block`, a signal has its default
    action: the process ends at once (status -15 for SIGTERM). Where the platform cannot
    block signals, a handler that only sets a flag (no lock) is polled instead.
    """

    def __init__(self) -> None:
        self._blocking = hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigwait")
        self._caught: list[int] = []
        self._previous: dict[int, Any] = {}

    def block(self) -> None:
        """From now on a stop signal waits for :meth:`wait` (call before starting threads)."""
        if self._blocking:
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            return
        for sig in _STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._catch)

    def _catch(self, signum: int, _frame: FrameType | None) -> None:
        self._caught.append(signum)  # no lock: safe wherever the main thread is

    def wait(self) -> None:
        """Return once SIGINT or SIGTERM has come (at once if one came since :meth:`block`)."""
        if self._blocking:
            signal.sigwait(_STOP_SIGNALS)
            return
        while not self._caught:
            time.sleep(0.05)

    def unblock(self) -> None:
        """Drop stop signals that came during the stop, then give the signals back."""
        if self._blocking:
            while _STOP_SIGNALS & signal.sigpending():
                signal.sigwait(_STOP_SIGNALS)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            return
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace) -> int:
    if args.dump_state is not None:
        problem = _check_dump_target(args.dump_state)
        if problem is not None:
            return _fail(problem)
    try:
        fake = _fake(args)  # a signal while seeding ends the process at once (default action)
    except ValueError as error:
        return _fail(str(error))
    signals = _StopSignals()
    signals.block()  # before the server's threads start: they inherit the blocked mask
    try:
        return _serve_until_signal(args, fake, signals)
    finally:
        signals.unblock()


def _serve_until_signal(args: argparse.Namespace, fake: FakeLogScale, signals: _StopSignals) -> int:
    try:
        fake.start()
    except ServerError as error:
        print(f"pytest-logscale: {error.strerror}", file=sys.stderr)
        return 1
    try:
        if args.control and _reachable_from_elsewhere(args.host):
            print(
                f"pytest-logscale: the control API is on at {fake.url}/_fake/: anyone who can "
                "reach it can reset the fake, move its clock and log in as any user; "
                "--no-control switches it off",
                file=sys.stderr,
                flush=True,
            )
        lines = [f"LOGSCALE_URL={fake.url}"]
        for name, user in (
            ("LOGSCALE_TOKEN", fake.owner()),
            ("LOGSCALE_ADMIN_TOKEN", fake.admin()),
            ("LOGSCALE_MEMBER_TOKEN", fake.member()),
        ):
            lines.append(f"{name}={_live_token(fake, user) or fake.session_token(user)}")
        if args.print_users:
            lines += ["", *_users_table(fake)]
        print("\n".join(lines), flush=True)
        signals.wait()
    finally:
        fake.stop()
    if args.dump_state is not None:
        try:
            fake.dump_state(args.dump_state)
        except StateError as error:
            print(f"pytest-logscale: {error}", file=sys.stderr)
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # argparse already refused anything else


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
