"""``pytest-logscale serve``: the fake as a standalone server, for clients in any language."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .fake import FakeLogScale
from .seeding import SeedOptions
from .server import ServerError
from .version import __version__

__all__ = ["main"]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {port}")
    return port


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
    defaults = SeedOptions()
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_port, default=0, help="port to bind; 0 picks a free one (default)"
    )
    serve.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of all data (default: %(default)s)"
    )
    serve.add_argument(
        "--organizations",
        type=int,
        default=defaults.organizations,
        help="organizations (default: %(default)s)",
    )
    serve.add_argument(
        "--users",
        type=int,
        default=defaults.users,
        help="users per organization (default: %(default)s)",
    )
    serve.add_argument(
        "--sessions",
        type=int,
        default=defaults.sessions,
        help="sessions per organization (default: %(default)s)",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    try:
        options = SeedOptions(
            seed=args.seed,
            organizations=args.organizations,
            users=args.users,
            sessions=args.sessions,
        )
    except (TypeError, ValueError) as error:
        print(f"pytest-logscale: {error}", file=sys.stderr)
        return 2
    fake = FakeLogScale(options, host=args.host, port=args.port)
    try:
        fake.start()
    except ServerError as error:
        print(f"pytest-logscale: {error.strerror}", file=sys.stderr)
        return 1
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for line in (
            f"LOGSCALE_URL={fake.url}",
            f"LOGSCALE_TOKEN={fake.token}",
            f"LOGSCALE_ADMIN_TOKEN={fake.admin_token}",
            f"LOGSCALE_MEMBER_TOKEN={fake.member_token}",
        ):
            print(line, flush=True)
        stopped.wait()
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # argparse already refused anything else


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
