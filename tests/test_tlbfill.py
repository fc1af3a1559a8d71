"""The native TLB-fill fast path agrees with the Python walker, or leaves the fill to it."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.hw.hart import Hart
from pagelab.hw.mmu import Access, walk
from pagelab.hw.native import fn_address, native_function
from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, pa2pte, px
from pagelab.hw.tlbfill import (
    _IR,
    FALLBACK,
    FALLBACK_CB,
    FILLS,
    MISS,
    OUT_PADDR,
    OUT_PERMS,
    TLB_FILL_CB,
    TlbEntry,
)

MEM = 1 << 20
BASE = 0x80000000
ROOT, MID, LEAF = BASE, BASE + 0x1000, BASE + 0x2000
FRAME = BASE + 0x8000


@pytest.fixture(scope="module")
def hart() -> Iterator[Hart]:
    h = Hart(PhysMem(MEM))
    yield h
    h.close()


class Native:
    """Calls the native hook directly, with a fallback that records what reached it."""

    def __init__(self, hart: Hart, answer: tuple[int, int] | None = None) -> None:
        self.hart = hart
        self.fell_back: list[tuple[int, int, int]] = []  # (va, access, MISS)

        def fallback(va: int, access: int) -> bool:
            words = hart.fill.words
            self.fell_back.append((va, access, words[MISS]))
            if answer is None:
                return False
            words[OUT_PADDR], words[OUT_PERMS] = answer
            return True

        self._cb = FALLBACK_CB(fallback)
        self.answer = answer
        self._fn = TLB_FILL_CB(native_function(_IR, "tlb_fill", "tlbfill"))

    def fill(self, va: int, access: int) -> tuple[int, int] | None:
        """(pa, perms) if the native path served the fill, None if it fell back."""
        words = self.hart.fill.words
        saved = words[FALLBACK]
        words[FALLBACK] = fn_address(self._cb)
        try:
            entry = TlbEntry()
            before = len(self.fell_back)
            ok = self._fn(None, va, access, ctypes.addressof(entry), self.hart.fill.ud.ctypes.data)
        finally:
            words[FALLBACK] = saved
        if len(self.fell_back) > before:
            answer = self.answer
            assert ok == (answer is not None) and (not ok or (entry.paddr, entry.perms) == answer)
            return None
        assert ok
        return entry.paddr, entry.perms


def build(ram: PhysMem, va: int, leaf: int, l2: int = 0, l1: int = 0) -> None:
    """A three-level table for va; l2 and l1 are extra bits for the pointer PTEs."""
    ram.write(BASE, bytes(3 * 4096))
    ram.write64(ROOT + 8 * px(2, va), pa2pte(MID) | PTE_V | l2)
    ram.write64(MID + 8 * px(1, va), pa2pte(LEAF) | PTE_V | l1)
    ram.write64(LEAF + 8 * px(0, va), leaf)


ALL = PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D


@pytest.mark.parametrize("access", [Access.READ, Access.WRITE, Access.FETCH])
def test_a_clean_walk_is_served_natively(hart: Hart, access: Access) -> None:
    va = 0x12_3456
    build(hart.ram, va, pa2pte(FRAME) | ALL)
    hart.root = ROOT
    hart.code_frames[:] = bytes(len(hart.code_frames))
    hart.fill.enable(True)
    fills = hart.fill.words[FILLS]
    assert Native(hart).fill(va, access) == (FRAME, 7)
    assert hart.fill.words[FILLS] == fills + 1
    assert hart.code_frames[(FRAME - BASE) >> 12] == 1  # X: Unicorn may translate it


def test_disabled_or_no_root_goes_to_python(hart: Hart) -> None:
    va = 0x5000
    build(hart.ram, va, pa2pte(FRAME) | ALL)
    native = Native(hart)
    hart.root = ROOT
    hart.fill.enable(False)
    assert native.fill(va, Access.READ) is None
    hart.fill.enable(True)
    hart.root = 0
    assert native.fill(va, Access.READ) is None
    hart.root = ROOT
    assert native.fill(va, Access.READ) == (FRAME, 7)


@settings(max_examples=400, deadline=None)
@given(
    leaf_flags=st.integers(0, 0x3FF),
    high=st.sampled_from([0, 1 << 54, 1 << 63]),
    frame=st.sampled_from([FRAME, BASE + MEM - 4096, BASE + MEM, BASE - 4096, 0]),
    l2=st.sampled_from([0, PTE_R, PTE_W, PTE_X, 1 << 60]),
    l1=st.sampled_from([0, 0, 0, PTE_R | PTE_X, 1 << 55]),
    access=st.sampled_from([Access.READ, Access.WRITE, Access.FETCH]),
    va=st.sampled_from([0x0, 0x12_3456, 0x3F_FFFF_F000, 1 << 38, 1 << 63]),
)
def test_native_agrees_with_the_walker(
    hart: Hart, leaf_flags: int, high: int, frame: int, l2: int, l1: int, access: Access, va: int
) -> None:
    """Whatever the tables hold: a fill the native path serves is exactly the walker's
    answer, and leaves the page table as the walker does (A set, and D on a store); every
    other fill reaches the Python hook with no PTE changed."""
    ram = hart.ram
    leaf = (pa2pte(frame) | leaf_flags | high) & 0xFFFFFFFFFFFFFFFF
    build(ram, va, leaf, l2, l1)
    hart.root = ROOT
    hart.fill.enable(True)
    hart.code_frames[:] = bytes(len(hart.code_frames))
    tables = ram.read(BASE, 3 * 4096)
    native = Native(hart)
    got = native.fill(va, access)
    after_native = ram.read(BASE, 3 * 4096)
    ram.write(BASE, tables)
    want = walk(ram, ROOT, va, access)
    after_walk = ram.read(BASE, 3 * 4096)
    if got is not None:
        assert want == got and after_native == after_walk
        marked = hart.code_frames[(got[0] - BASE) >> 12] == 1
        assert marked == bool(leaf_flags & PTE_X)
    else:
        assert after_native == tables  # Python will walk: nothing written before it
        # Fallen back: a fault, or a case the fast path leaves alone (superpages and
        # reserved bits, which the walker judges).
        assert want is None or l2 or l1 or high
        if native.fell_back[-1][2]:  # MISS: the walker must fail too (Python skips it)
            assert want is None


@pytest.mark.parametrize("access", [Access.READ, Access.WRITE, Access.FETCH])
def test_a_and_d_are_set_natively(hart: Hart, access: Access) -> None:
    """After the A bits are harvested (a recorded run, every sampling period), each page
    used again misses with A clear: the native path sets it, with no Python call."""
    va = 0x9000
    build(hart.ram, va, pa2pte(FRAME) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_U)  # A and D clear
    hart.root = ROOT
    hart.fill.enable(True)
    got = Native(hart).fill(va, access)
    pte = hart.ram.read64(LEAF + 8 * px(0, va))
    assert pte & PTE_A and bool(pte & PTE_D) == (access == Access.WRITE)
    assert got == (FRAME, 7 if access == Access.WRITE else 5)  # W only once D is set


def test_python_answers_through_the_native_hook(hart: Hart) -> None:
    """A fill the native path leaves to Python: Python's (pa, perms) reach the entry, and
    MISS says whether the native walk already met an invalid PTE (a page fault)."""
    va = 0x7000
    hart.root = ROOT
    hart.fill.enable(True)
    build(hart.ram, va, pa2pte(FRAME) | PTE_V | PTE_R | PTE_U | PTE_A | 1 << 54)  # reserved bits: Python judges
    native = Native(hart, answer=(FRAME, 1))
    assert native.fill(va, Access.READ) is None
    build(hart.ram, va, pa2pte(FRAME) | PTE_R | PTE_U | PTE_A)  # not valid: a fault
    assert native.fill(va, Access.READ) is None
    build(hart.ram, va, 0)
    hart.ram.write64(MID + 8 * px(1, va), 0)  # no leaf table at all
    assert native.fill(va, Access.READ) is None
    assert [miss for _, _, miss in native.fell_back] == [0, 1, 1]
