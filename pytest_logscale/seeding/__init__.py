"""Seeding: realistic organizations, users and sessions from one seed (Faker lives only here).

The options come without Faker (:mod:`.options`); ``seed_dataset`` and ``Progress``
import it when first asked for, so loading the pytest plugin costs nothing until a
fake is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import BOUNDS, SEEDING, SHOW_PROGRESS_FROM, SeedOptions

if TYPE_CHECKING:
    from .generate import Progress, seed_dataset

__all__ = ["BOUNDS", "SEEDING", "SHOW_PROGRESS_FROM", "Progress", "SeedOptions", "seed_dataset"]


def __getattr__(name: str) -> Any:
    if name in ("Progress", "seed_dataset"):
        from . import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
