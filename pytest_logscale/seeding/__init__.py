"""Seeding: realistic organizations, users and sessions from one seed (Faker lives only here)."""

from __future__ import annotations

from .generate import SeedOptions, seed_dataset

__all__ = ["SeedOptions", "seed_dataset"]
