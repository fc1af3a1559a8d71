"""VMAs (mm/vma.py): find, insert with merge, unmap with split, copy, and a hypothesis
model of mmap/munmap at page granularity, with file references counted."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pagelab.kernel.mm.vma import MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, TooManyRegions, Vma, VmaList

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


def test_copy_is_shared_until_written_and_independent() -> None:
    vl, refs = counted()
    f = F("f")
    refs[f] += 1
    vl.insert(Vma(0, 4 * P, PROT_READ, MAP_PRIVATE, "text", f, P))
    c = vl.copy()
    assert refs[f] == 1 and spans(c) == spans(vl)  # one block, shared: one reference
    for g in c.unmap(0, 2 * P):
        c.drop(g)
    assert spans(c) == [(2, 4)] and spans(vl) == [(0, 4)] and refs[f] == 2
    for lst in (vl, c):
        for g in lst.clear():
            lst.drop(g)
    assert refs[f] == 0


def test_exit_of_a_sharer_hands_out_references() -> None:
    vl, refs = counted()
    f = F("f")
    refs[f] += 1
    vl.insert(Vma(0, 4 * P, PROT_READ, MAP_PRIVATE, "text", f, 0))
    c = vl.copy()
    for g in c.clear():  # the child exits before changing anything
        c.drop(g)
    assert refs[f] == 1 and spans(vl) == [(0, 4)]
    for g in vl.unmap(P, 2 * P):  # the parent's block is its own again: no copy
        vl.drop(g)
    assert refs[f] == 2  # the two halves


def test_cap_on_regions() -> None:
    vl = VmaList(limit=3)
    for i in range(3):
        vl.insert(anon(2 * i, 2 * i + 1))
    with pytest.raises(TooManyRegions):
        vl.insert(anon(10, 11))
    vl.insert(anon(5, 7))  # merges with (4, 5): no new region, so allowed at the cap
    assert spans(vl) == [(0, 1), (2, 3), (4, 7)] and vl.count == 3
    with pytest.raises(TooManyRegions):
        vl.unmap(5 * P, 6 * P)  # a hole in the middle would make a fourth
    assert spans(vl) == [(0, 1), (2, 3), (4, 7)]
    assert len(vl.unmap(4 * P, 5 * P)) == 1 and spans(vl) == [(0, 1), (2, 3), (5, 7)]
    heap = Vma(20 * P, 20 * P, RW, MAP_PRIVATE, "heap")
    vl.insert(heap)  # an empty heap holds no addresses and is not counted
    assert vl.count == 3 and not vl.set_end(heap, 21 * P)
    vl.unmap(0, P)
    assert vl.set_end(heap, 21 * P) and vl.count == 3


def test_heap_grows_until_the_next_region() -> None:
    vl, _ = counted()
    heap = Vma(4 * P, 4 * P, RW, MAP_PRIVATE, "heap")
    vl.insert(heap)
    vl.insert(anon(10, 11))
    assert vl.find(4 * P) is None  # empty until sbrk
    assert vl.set_end(heap, 10 * P) and vl.find(9 * P) is heap is vl.heap
    assert not vl.set_end(heap, 11 * P)
    assert vl.set_end(heap, 4 * P) and vl.find(4 * P) is None
    assert spans(vl) == [(4, 4), (10, 11)]  # the empty heap keeps its place


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
#
# Blocks of two regions (block=1), so that splitting, emptying and sharing blocks happen in
# a few steps; several lists (fork) change independently; each list is checked against its
# own model after every step, and every file reference is accounted for.

N = 40  # pages of address space in the model
FILES = [F("a"), F("b")]
Page = tuple[int, str, F | None, int]  # (prot, kind, file, file page)


def model_free(model: dict[int, Page], n: int, top: int, floor: int) -> int | None:
    """The highest page p >= floor with [p, p + n) free and p + n <= top."""
    for p in range(top - n, floor - 1, -1):
        if all(q not in model for q in range(p, p + n)):
            return p
    return None


class VmaModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.refs: Counter = Counter()
        vl, self.refs = counted()
        self.vl = VmaList(vl.dup, vl.drop, limit=1000, block=1)
        self.lists: list[VmaList] = [self.vl]
        self.models: list[dict[int, Page]] = [{}]

    @rule(
        which=st.integers(0, 2),
        lo=st.integers(0, N - 1),
        n=st.integers(1, 6),
        prot=st.sampled_from([PROT_READ, RW]),
        kind=st.sampled_from(["mmap", "data"]),
        f=st.sampled_from([None, *FILES]),
        off=st.integers(0, 8),
    )
    def mmap(self, which: int, lo: int, n: int, prot: int, kind: str, f: F | None, off: int) -> None:
        vl, model = self.lists[which % len(self.lists)], self.models[which % len(self.lists)]
        hi = min(lo + n, N)
        if any(pg in model for pg in range(lo, hi)):
            with pytest.raises(ValueError):
                vl.insert(Vma(lo * P, hi * P, prot, MAP_SHARED, kind, f, off * P))
            return
        if f is not None:
            self.refs[f] += 1
        vl.insert(Vma(lo * P, hi * P, prot, MAP_SHARED, kind, f, off * P))
        for pg in range(lo, hi):
            model[pg] = (prot, kind, f, off + pg - lo)

    @rule(which=st.integers(0, 2), lo=st.integers(0, N), n=st.integers(0, 8))
    def munmap(self, which: int, lo: int, n: int) -> None:
        vl, model = self.lists[which % len(self.lists)], self.models[which % len(self.lists)]
        for g in vl.unmap(lo * P, (lo + n) * P):
            assert lo * P <= g.start < g.end <= (lo + n) * P
            vl.drop(g)
        for pg in range(lo, lo + n):
            model.pop(pg, None)

    @rule(which=st.integers(0, 2), lo=st.integers(0, N), n=st.integers(1, 8), prot=st.sampled_from([PROT_READ, RW]))
    def protect(self, which: int, lo: int, n: int, prot: int) -> None:
        vl, model = self.lists[which % len(self.lists)], self.models[which % len(self.lists)]
        vl.change(lo * P, (lo + n) * P, prot=prot)
        for pg in range(lo, lo + n):
            if pg in model:
                model[pg] = (prot, *model[pg][1:])

    @rule(
        which=st.integers(0, 2),
        n=st.integers(1, 5),
        top=st.sampled_from([N, N, N // 2, 7]),
        floor=st.integers(0, 10),
        place=st.booleans(),
    )
    def find_free(self, which: int, n: int, top: int, floor: int, place: bool) -> None:
        """Top-down placement, as mmap without an address does (and, with `place`, map there)."""
        vl, model = self.lists[which % len(self.lists)], self.models[which % len(self.lists)]
        got = vl.find_free(n * P, top * P, floor * P)
        want = model_free(model, n, top, floor)
        assert got == (None if want is None else want * P)
        if want is not None and place:
            vl.insert(Vma(want * P, (want + n) * P, RW, MAP_PRIVATE, "mmap"))
            for pg in range(want, want + n):
                model[pg] = (RW, "mmap", None, 0)

    @rule(which=st.integers(0, 2))
    def fork(self, which: int) -> None:
        if len(self.lists) < 3:
            i = which % len(self.lists)
            self.lists.append(self.lists[i].copy())
            self.models.append(dict(self.models[i]))

    @rule(which=st.integers(0, 2))
    def exit(self, which: int) -> None:
        if len(self.lists) > 1:
            i = which % len(self.lists)
            vl = self.lists.pop(i)
            self.models.pop(i)
            for g in vl.clear():
                vl.drop(g)

    @invariant()
    def agrees(self) -> None:
        for vl, model in zip(self.lists, self.models, strict=True):
            for pg in range(N + 8):
                v = vl.find(pg * P)
                want = model.get(pg)
                if want is None:
                    assert v is None
                else:
                    assert v is not None
                    prot, kind, f, fpage = want
                    assert (v.prot, v.kind, v.file) == (prot, kind, f)
                    if f is not None:  # (an anonymous region's offset means nothing)
                        assert v.file_offset(pg * P) // P == fpage
            assert [(v.start, v.end) for v in vl.between(0, N * P)] == [(v.start, v.end) for v in vl]

    @invariant()
    def sorted_disjoint_and_merged(self) -> None:
        for vl in self.lists:
            vs = list(vl)
            assert vl.count == len(vs)
            for a, b in itertools.pairwise(vs):
                assert a.end <= b.start
                if a.end == b.start:  # adjacent regions must differ, or they would be one
                    assert (a.prot, a.flags, a.kind, a.file) != (b.prot, b.flags, b.kind, b.file) or (
                        a.file is not None and b.offset != a.file_offset(b.start)
                    )

    @invariant()
    def one_reference_per_file_region_per_block(self) -> None:
        blocks = {id(b): b for vl in self.lists for b in vl._blocks}
        for f in FILES:
            assert self.refs[f] == sum(1 for b in blocks.values() for v in b.vmas if v.file is f)

    def teardown(self) -> None:
        for vl in self.lists:
            for g in vl.clear():
                vl.drop(g)
        assert all(n == 0 for n in self.refs.values())


TestVmaModel = VmaModel.TestCase
TestVmaModel.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
