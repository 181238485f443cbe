"""Ids and tokens: random-looking, yet fixed by the seed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

__all__ = ["ALPHABET", "derived_id", "random_id", "random_ids", "token_digest", "token_digests"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return "".join(chars)


#: Each byte value to one of the 62 letters and digits (values below 8 a little more often).
_BYTE_TO_LETTER = bytes(ord(ALPHABET[i % 62]) for i in range(256))


def random_id(rng: random.Random, length: int = 32) -> str:
    """An id of ``length`` letters and digits drawn from a seeded generator (one byte each)."""
    return rng.randbytes(length).translate(_BYTE_TO_LETTER).decode("ascii")


def random_ids(rng: random.Random, count: int, length: int) -> list[str]:
    """``count`` ids as :func:`random_id` makes them, drawn in one step (for seeding at scale)."""
    text = rng.randbytes(count * length).translate(_BYTE_TO_LETTER).decode("ascii")
    return [text[start : start + length] for start in range(0, count * length, length)]


def derived_id(seed: int, kind: str, serial: int, length: int = 32) -> str:
    """The ``serial``-th id of a kind for a seed: the same on every run, unrelated to the others."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{serial}".encode(), digest_size=32).digest()
    return _base62(int.from_bytes(digest, "big"), length)


def token_digest(token: str) -> bytes:
    """The key tokens are looked up by, so that lookups take the same time for any guess."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_digests(tokens: Iterable[str]) -> list[bytes]:
    """:func:`token_digest` of many tokens (seeding at scale), without a call per token."""
    sha256 = hashlib.sha256
    return [sha256(token.encode("utf-8", "surrogatepass")).digest() for token in tokens]
