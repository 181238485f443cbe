"""Seeding: realistic organizations, users and sessions from one seed (Faker lives only here)."""

from __future__ import annotations

from .generate import Progress, seed_dataset
from .options import BOUNDS, SEEDING, SHOW_PROGRESS_FROM, SeedOptions

__all__ = ["BOUNDS", "SEEDING", "SHOW_PROGRESS_FROM", "Progress", "SeedOptions", "seed_dataset"]
