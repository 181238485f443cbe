"""What to seed and the bounds on it: the one list of seeding options everything reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.checks import OptionError, raise_bound_with, whole_number, whole_number_text
from ..domain.instants import ANCHOR_RANGE, parse_instant

__all__ = ["BOUNDS", "SEEDING", "SHOW_PROGRESS_FROM", "SeedOptions", "option_from_text"]

#: The seeding options, with what each means: the marker's keywords, ``--logscale-<name>``,
#: ``logscale_<name>`` in the ini file, ``serve --<name>`` and a state file's ``seeding`` keys.
SEEDING: dict[str, str] = {
    "seed": "seed that fixes all seeded data",
    "organizations": "number of seeded organizations",
    "users": "seeded users per organization",
    "sessions": "seeded sessions per organization",
    "clock": (
        "instant the fake's clock starts at, with the data seeded relative to it "
        "(epoch milliseconds or ISO-8601 like 2026-01-01T09:00:00Z; default: one fixed by the seed)"
    ),
}

#: Bounds on what may be seeded, loaded or arranged between two resets; the same places
#: take them, state files do not.
BOUNDS: dict[str, str] = {
    "max_sessions": (
        "most sessions in all organizations together: seeded (organizations x sessions) "
        "and logged in since the last reset"
    ),
    "max_users": "most users in all organizations together (organizations x users)",
    "max_state_bytes": "largest state file that may be loaded, in bytes",
    "max_api_tokens": "most personal API tokens made since the last reset",
    "max_faults": "most fault rules waiting at once; a used-up rule leaves",
}

#: Seeding this many sessions or more takes a couple of seconds: the plugin and serve show progress.
SHOW_PROGRESS_FROM = 200_000

_RANGES = {
    "seed": (0, 2**63 - 1),
    "organizations": (1, 1_000),
    "users": (3, 100_000),
    "sessions": (3, 1_000_000),
    "max_sessions": (1, None),
    "max_users": (1, None),
    "max_state_bytes": (1, None),
    "max_api_tokens": (1, None),
    "max_faults": (1, None),
}


@dataclass(frozen=True, slots=True)
class SeedOptions:
    """What to seed: the seed, how many organizations, users and sessions, and the clock anchor.

    ``users`` and ``sessions`` count per organization. Every organization gets an
    owner, an admin and a member, each with a current active session, so both
    are at least 3. ``clock`` (epoch milliseconds, an ISO-8601 text with a zone,
    or a datetime; kept as epoch milliseconds) is the instant the clock starts
    at, and the data is seeded relative to it: the same seed with another
    anchor gives the same data shifted in time. None means an instant fixed by
    the seed, in 2025.

    ``instance`` fixes the tokens: servers with the same options get instances
    0, 1, 2 ... in the order a process makes them (see
    :class:`~pytest_logscale.FakeLogScale`), so no two share a token unless they
    loaded one state file, which carries it. None is left for the fake to choose;
    seeding reads it as 0. Like the bounds it is left out of ``==``: options
    that compare equal seed the same data, tokens aside.

    ``max_sessions``, ``max_users`` and ``max_state_bytes`` bound what may be
    seeded or loaded; ``max_sessions`` also bounds the sessions logins add,
    ``max_api_tokens`` the API tokens made and ``max_faults`` the fault rules
    waiting, between two resets (docs/behaviour.md, Hardening). They are not
    part of the data, so options differing only in bounds are equal.
    """

    seed: int = 1
    organizations: int = 1
    users: int = 12
    sessions: int = 60
    clock: int | str | datetime | None = None
    instance: int | None = field(default=None, compare=False)
    max_sessions: int = field(default=1_000_000, compare=False)
    max_users: int = field(default=100_000, compare=False)
    max_state_bytes: int = field(default=64 * 1024 * 1024, compare=False)
    max_api_tokens: int = field(default=10_000, compare=False)
    max_faults: int = field(default=10_000, compare=False)

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            whole_number(getattr(self, name), name, low, high)
        if self.instance is not None:
            whole_number(self.instance, "instance", 0, 2**31)
        if self.clock is not None:
            object.__setattr__(self, "clock", parse_instant(self.clock, "clock", ANCHOR_RANGE))
        for total, count, bound in (
            ("sessions", self.sessions, self.max_sessions),
            ("users", self.users, self.max_users),
        ):
            if self.organizations * count > bound:
                raise OptionError(
                    total,
                    f"organizations x {total} = {self.organizations * count} is more than "
                    f"max_{total} {bound}; raise it with {raise_bound_with(f'max_{total}')}",
                )

    @property
    def anchor(self) -> int | None:
        """``clock`` in epoch milliseconds, or None for the instant the seed fixes."""
        return self.clock if isinstance(self.clock, int) else None

    @property
    def total_sessions(self) -> int:
        """How many sessions these options seed in all."""
        return self.organizations * self.sessions

    def bounds(self) -> dict[str, int]:
        """The bounds, by option name (to carry them over to other options)."""
        return {name: getattr(self, name) for name in BOUNDS}

    def seeding(self) -> dict[str, Any]:
        """The seeding options by name (``clock`` as given: None or epoch milliseconds)."""
        return {name: getattr(self, name) for name in SEEDING}

    def replace(self, **changes: int | str | datetime | None) -> SeedOptions:
        """These options with some changed (bounds included); ValueError if they are wrong."""
        return SeedOptions(
            **{**self.seeding(), "instance": self.instance, **self.bounds(), **changes}
        )


def option_from_text(name: str, text: str) -> int | str:
    """A seeding option or bound given as text (an ini line, a flag), checked; ValueError if wrong.

    ``clock`` stays text (:class:`SeedOptions` reads it); the others are whole numbers.
    """
    if name == "clock":
        return parse_instant(text, name, ANCHOR_RANGE)
    return whole_number_text(text, name, *_RANGES[name])
