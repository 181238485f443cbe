"""Masks over sessions: combining them and taking a page agree with plain lists."""

from __future__ import annotations

from itertools import compress

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_logscale.domain import masks


@st.composite
def masked(draw: st.DrawFn) -> tuple[list[int], list[bytes]]:
    length = draw(st.sampled_from([0, 1, 7, 16_383, 16_384, 16_385, 40_000]))
    sparse = draw(st.sampled_from([0.0, 0.001, 0.5, 1.0]))
    seed = draw(st.integers(0, 2**32))
    import random

    rng = random.Random(seed)
    made = [
        bytes(rng.random() < sparse for _ in range(length)) for _ in range(draw(st.integers(1, 3)))
    ]
    return list(range(length)), made


@settings(max_examples=60, deadline=None)
@given(masked(), st.integers(0, 45_000), st.integers(0, 60))
def test_a_page_of_combined_masks_is_the_plain_slice(
    data: tuple[list[int], list[bytes]], skip: int, count: int
) -> None:
    items, made = data
    plain = [all(bits) for bits in zip(*made, strict=True)] if items else []
    combined = masks.all_of(made)
    assert list(combined) == [int(bit) for bit in plain]
    assert combined.count(1) == sum(plain)
    assert (
        masks.page(items, combined, skip, count)
        == list(compress(items, plain))[skip : skip + count]
    )
