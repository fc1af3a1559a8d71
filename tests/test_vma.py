"""VMAs (mm/vma.py): find, insert with merge, unmap with split, copy, and a hypothesis
model of mmap/munmap at page granularity, with file references counted."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pagelab.kernel.mm.vma import MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, Vma, VmaList

P = 4096
RW = PROT_READ | PROT_WRITE


class F:
    """A stand-in for an AddressSpace."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def counted() -> tuple[VmaList, Counter]:
    refs: Counter = Counter()

    def dup(v: Vma) -> None:
        if v.file is not None:
            refs[v.file] += 1

    def drop(v: Vma) -> None:
        if v.file is not None:
            refs[v.file] -= 1

    return VmaList(dup, drop), refs


def anon(lo: int, hi: int, kind: str = "mmap", prot: int = RW) -> Vma:
    return Vma(lo * P, hi * P, prot, MAP_PRIVATE, kind)


def spans(vl: VmaList) -> list[tuple[int, int]]:
    return [(v.start // P, v.end // P) for v in vl]


def test_find_and_merge() -> None:
    vl, _ = counted()
    vl.insert(anon(10, 12))
    vl.insert(anon(14, 16))
    assert vl.find(9 * P) is None and vl.find(10 * P) is vl.find(12 * P - 1) is not None
    assert vl.find(12 * P) is None
    vl.insert(anon(12, 14))  # fills the hole: all three become one
    assert spans(vl) == [(10, 16)]
    vl.insert(anon(16, 17, prot=PROT_READ))  # other protection: no merge
    vl.insert(anon(17, 18, kind="heap"))  # other kind: no merge
    assert spans(vl) == [(10, 16), (16, 17), (17, 18)]
    with pytest.raises(ValueError):
        vl.insert(anon(15, 20))


def test_file_regions_merge_only_when_offsets_continue() -> None:
    vl, refs = counted()
    f = F("f")
    for lo, off in ((0, 0), (1, P)):
        refs[f] += 1
        vl.insert(Vma(lo * P, (lo + 1) * P, RW, MAP_SHARED, "mmap", f, off))
    assert spans(vl) == [(0, 2)] and refs[f] == 1  # merged: one region, one reference
    refs[f] += 1
    vl.insert(Vma(2 * P, 3 * P, RW, MAP_SHARED, "mmap", f, 5 * P))  # offset jumps
    assert spans(vl) == [(0, 2), (2, 3)] and refs[f] == 2


def test_unmap_start_end_middle_and_several() -> None:
    vl, refs = counted()
    f = F("f")
    refs[f] += 1
    vl.insert(Vma(0, 10 * P, RW, MAP_SHARED, "mmap", f, 0))
    vl.insert(anon(20, 30))
    gone = vl.unmap(4 * P, 6 * P)  # the middle: two regions remain
    assert spans(vl) == [(0, 4), (6, 10), (20, 30)]
    assert [(g.start // P, g.end // P, g.offset // P) for g in gone] == [(4, 6, 4)]
    assert vl.find(7 * P).file_offset(7 * P) == 7 * P  # type: ignore[union-attr]
    for g in gone:
        vl.drop(g)
    assert refs[f] == 2  # the two halves
    gone = vl.unmap(0, P) + vl.unmap(9 * P, 25 * P)  # start of one; end of one and start of another
    for g in gone:
        vl.drop(g)
    assert spans(vl) == [(1, 4), (6, 9), (25, 30)]
    assert refs[f] == 2
    assert vl.unmap(40 * P, 50 * P) == []  # nothing there
    for g in vl.unmap(0, 100 * P):
        vl.drop(g)
    assert len(vl) == 0 and refs[f] == 0


def test_copy_takes_references_and_is_independent() -> None:
    vl, refs = counted()
    f = F("f")
    refs[f] += 1
    vl.insert(Vma(0, 4 * P, PROT_READ, MAP_PRIVATE, "text", f, P))
    c = vl.copy()
    assert refs[f] == 2 and spans(c) == spans(vl)
    for g in c.unmap(0, 2 * P):
        c.drop(g)
    assert spans(c) == [(2, 4)] and spans(vl) == [(0, 4)] and refs[f] == 2


def test_heap_grows_until_the_next_region() -> None:
    vl, _ = counted()
    heap = Vma(4 * P, 4 * P, RW, MAP_PRIVATE, "heap")
    vl.insert(heap)
    vl.insert(anon(10, 11))
    assert vl.find(4 * P) is None  # empty until sbrk
    assert vl.set_end(heap, 10 * P) and vl.find(9 * P) is heap
    assert not vl.set_end(heap, 11 * P)
    assert vl.set_end(heap, 4 * P) and vl.find(4 * P) is None


def test_find_free_is_top_down() -> None:
    vl, _ = counted()
    top = 100 * P
    assert vl.find_free(2 * P, top, 0) == 98 * P
    vl.insert(anon(98, 100))
    vl.insert(anon(95, 97))
    assert vl.find_free(P, top, 0) == 97 * P  # the one-page hole
    assert vl.find_free(2 * P, top, 0) == 93 * P
    assert vl.find_free(200 * P, top, 0) is None


# --- hypothesis: regions against a page-by-page model ---------------------------------

N = 24  # pages of address space in the model
FILES = [F("a"), F("b")]


class VmaModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.vl, self.refs = counted()
        # page -> (prot, kind, file, file page) or absent
        self.model: dict[int, tuple[int, str, F | None, int]] = {}

    @rule(
        lo=st.integers(0, N - 1),
        n=st.integers(1, 6),
        prot=st.sampled_from([PROT_READ, RW]),
        kind=st.sampled_from(["mmap", "data"]),
        f=st.sampled_from([None, *FILES]),
        off=st.integers(0, 8),
    )
    def mmap(self, lo: int, n: int, prot: int, kind: str, f: F | None, off: int) -> None:
        hi = min(lo + n, N)
        if any(pg in self.model for pg in range(lo, hi)):
            with pytest.raises(ValueError):
                self.vl.insert(Vma(lo * P, hi * P, prot, MAP_SHARED, kind, f, off * P))
            return
        if f is not None:
            self.refs[f] += 1
        self.vl.insert(Vma(lo * P, hi * P, prot, MAP_SHARED, kind, f, off * P))
        for pg in range(lo, hi):
            self.model[pg] = (prot, kind, f, off + pg - lo)

    @rule(lo=st.integers(0, N), n=st.integers(0, 8))
    def munmap(self, lo: int, n: int) -> None:
        for g in self.vl.unmap(lo * P, (lo + n) * P):
            assert lo * P <= g.start < g.end <= (lo + n) * P
            self.vl.drop(g)
        for pg in range(lo, lo + n):
            self.model.pop(pg, None)

    @rule()
    def fork_and_exit(self) -> None:
        c = self.vl.copy()
        for g in c.clear():
            c.drop(g)

    @invariant()
    def agrees(self) -> None:
        for pg in range(N + 8):
            v = self.vl.find(pg * P)
            want = self.model.get(pg)
            if want is None:
                assert v is None
            else:
                assert v is not None
                prot, kind, f, fpage = want
                assert (v.prot, v.kind, v.file) == (prot, kind, f)
                if f is not None:  # (an anonymous region's offset means nothing)
                    assert v.file_offset(pg * P) // P == fpage

    @invariant()
    def sorted_disjoint_and_merged(self) -> None:
        vs = list(self.vl)
        for a, b in itertools.pairwise(vs):
            assert a.end <= b.start
            if a.end == b.start:  # adjacent regions must differ, or they would be one
                assert (a.prot, a.kind, a.file) != (b.prot, b.kind, b.file) or (
                    a.file is not None and b.offset != a.file_offset(b.start)
                )

    @invariant()
    def one_reference_per_file_region(self) -> None:
        for f in FILES:
            assert self.refs[f] == sum(1 for v in self.vl if v.file is f)


TestVmaModel = VmaModel.TestCase
TestVmaModel.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
