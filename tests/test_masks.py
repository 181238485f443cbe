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


@settings(max_examples=60, deadline=None)
@given(masked(), st.integers(0, 45_000), st.integers(0, 60), st.integers(0, 2**32))
def test_a_page_of_a_range_is_the_plain_slice_of_that_range(
    data: tuple[list[int], list[bytes]], skip: int, count: int, seed: int
) -> None:
    import random

    items, made = data
    mask = made[0]
    rng = random.Random(seed)
    start = rng.randrange(len(items) + 1)
    stop = rng.randrange(start, len(items) + 1)
    plain = list(compress(items[start:stop], mask[start:stop]))
    assert masks.page(items, mask, skip, count, start, stop) == plain[skip : skip + count]


@st.composite
def patched(draw: st.DrawFn) -> tuple[bytes | None, masks.Patched, bytes]:
    """A patched mask, with its base and the mask it stands for, built whole."""
    import random

    length = draw(st.sampled_from([0, 1, 7, 513, 16_385, 40_000]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    base = None
    if draw(st.booleans()):
        dense = draw(st.sampled_from([0.0, 0.01, 0.5, 1.0]))
        base = bytes(rng.random() < dense for _ in range(length))
    positions = sorted(rng.sample(range(length), min(length, draw(st.integers(0, 300)))))
    values = bytes(rng.random() < 0.5 for _ in positions)
    whole = bytearray(b"\x01" * length if base is None else base)
    for position, value in zip(positions, values, strict=True):
        whole[position] = value
    return base, masks.Patched(base, length, positions, values), bytes(whole)


@settings(max_examples=80, deadline=None)
@given(patched(), st.integers(0, 2**32))
def test_a_patched_mask_counts_and_slices_as_the_mask_built_whole(
    data: tuple[bytes | None, masks.Patched, bytes], seed: int
) -> None:
    import random

    _, mask, whole = data
    rng = random.Random(seed)
    assert len(mask) == len(whole)
    assert mask.count(1) == whole.count(1)
    for _ in range(20):
        start = rng.randrange(len(whole) + 2)
        stop = rng.randrange(len(whole) + 2)
        assert mask.count(1, start, stop) == whole.count(1, start, stop), (start, stop)
        assert mask[start:stop] == whole[start:stop], (start, stop)


@settings(max_examples=80, deadline=None)
@given(patched(), st.integers(0, 2**32), st.integers(0, 45_000), st.integers(0, 60))
def test_a_merged_page_is_the_plain_merge_sliced(
    data: tuple[bytes | None, masks.Patched, bytes], seed: int, skip: int, count: int
) -> None:
    """Inserts go before the item at their position, in their order; None means all match."""
    import random

    base, mask, whole = data
    rng = random.Random(seed)
    items = [f"s{i}" for i in range(len(whole))]
    inserts = sorted(
        ((rng.randrange(len(whole) + 1), f"new{k}") for k in range(rng.randrange(30))),
        key=lambda pair: pair[0],
    )
    for wanted, bits in ((mask, whole), (base, base), (None, None)):
        plain: list[str] = []
        at = 0
        for index, item in enumerate(items):
            while at < len(inserts) and inserts[at][0] == index:
                plain.append(inserts[at][1])
                at += 1
            if bits is None or bits[index]:
                plain.append(item)
        plain += [item for _, item in inserts[at:]]
        got = masks.merged_page(items, wanted, inserts, skip, count)
        assert got == plain[skip : skip + count]
