"""The frame allocator: reference counts and exhaustion."""

from __future__ import annotations

import pytest

from pagelab.hw.ram import PhysMem
from pagelab.kernel.mm.kalloc import Kalloc, OutOfFrames


@pytest.fixture
def km() -> Kalloc:
    return Kalloc(PhysMem(64 * 4096))


def test_alloc_gives_zeroed_distinct_frames(km: Kalloc) -> None:
    a = km.kalloc()
    km.ram.write(a, b"junk")
    km.kfree(a)
    b = km.kalloc()
    assert b == a  # reused, lowest first
    assert km.ram.read(b, 4) == bytes(4)
    c = km.kalloc()
    assert c != b and km.refcount(b) == km.refcount(c) == 1


def test_refcount_frees_at_zero(km: Kalloc) -> None:
    before = km.nfree
    a = km.kalloc()
    km.incref(a)
    km.incref(a)
    assert km.refcount(a) == 3
    assert not km.kfree(a)
    assert not km.kfree(a)
    assert km.nfree == before - 1
    assert km.kfree(a)
    assert km.nfree == before and km.refcount(a) == 0


def test_double_free_and_incref_of_free_frame_are_caught(km: Kalloc) -> None:
    a = km.kalloc()
    km.kfree(a)
    with pytest.raises(AssertionError):
        km.kfree(a)
    with pytest.raises(AssertionError):
        km.incref(a)


def test_exhaustion_raises_and_recovers(km: Kalloc) -> None:
    frames = [km.kalloc() for _ in range(64)]
    assert km.nfree == 0 and km.free_min == 0 and km.peak_used == 64
    with pytest.raises(OutOfFrames):
        km.kalloc()
    for f in frames:
        km.kfree(f)
    assert km.nfree == 64
    assert km.kalloc() in frames
