"""The frame map: what every physical frame is used for, right now.

One code per frame, in this priority order: free, the zero page, a page-table page, the
page cache, COW-shared (mapped by several PTEs marked copy-on-write), shared (several PTEs,
no COW: MAP_SHARED memory), anonymous (one PTE), other (allocated, mapped by nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PTE_R, PTE_V, PTE_W, PTE_X
from pagelab.kernel.mm.rmap import leaf_tables
from pagelab.kernel.mm.vm import PTE_COW
from pagelab.obs.pagescan import Census

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine

USES = ("free", "zero page", "page table", "file cache", "COW-shared", "shared", "anonymous", "other")
FREE, ZERO, TABLE, CACHE, COW_SHARED, SHARED, ANON, OTHER = range(len(USES))

_V = np.uint64(PTE_V)
_LEAF = np.uint64(PTE_R | PTE_W | PTE_X)
_COW = np.uint64(PTE_COW)
_TEN = np.uint64(10)
_SLOTS = np.arange(512, dtype=np.int64)


@dataclass
class FrameMap:
    """codes[i] is the use of frame i (an index into USES)."""

    codes: np.ndarray  # uint8, one per frame
    base: int  # physical address of frame 0
    now: int  # the clock when it was taken

    def counts(self) -> dict[str, int]:
        got = np.bincount(self.codes, minlength=len(USES))
        return {u: int(got[i]) for i, u in enumerate(USES)}

    @property
    def used(self) -> int:
        return int(np.count_nonzero(self.codes != FREE))


def frame_map(m: Machine, cen: Census | None = None) -> FrameMap:
    """The map from a census (pagescan.py) if one was taken anyway, else from a lighter
    scan of its own (a recorded run takes one at new peaks of frames in use)."""
    if cen is None:
        return _scan(m)
    ref = m.km.ref
    codes = np.full(len(ref), OTHER, np.uint8)
    many = cen.mapcount > 1
    codes[(cen.mapcount == 1)] = ANON
    codes[many] = SHARED
    codes[many & cen.cow] = COW_SHARED
    codes[cen.cache] = CACHE
    codes[cen.table] = TABLE
    codes[m.km.frame(m.zero_frame)] = ZERO
    codes[ref == 0] = FREE
    return FrameMap(codes, m.ram.base, m.clock.now)


def _scan(m: Machine) -> FrameMap:
    """The census's codes, worked out only for the frames in use: the leaf page-table
    pages of every process are read as one block of PTEs, and no array of the size of
    RAM is built but the map itself."""
    km = m.km
    n = km.nframes
    base = km.ram.base
    pfn0 = base >> PGSHIFT
    tables: list[np.ndarray] = []
    leaves: list[np.ndarray] = []
    for p in m.procs:
        if p is None or not p.pagetable:
            continue
        root = (p.pagetable - base) >> 3
        top = km.ptes[root : root + 512]
        leaf_w = np.array([w for w, _va in leaf_tables(m, p.pagetable)], np.int64)
        leaves.append(leaf_w)
        tables += [
            np.array([root >> 9]),  # 512 words per page-table page
            (top[((top & _V) != 0) & ((top & _LEAF) == 0)] >> _TEN).astype(np.int64) - pfn0,
            leaf_w >> 9,
        ]
    words = np.concatenate(leaves) if leaves else np.zeros(0, np.int64)
    ref = km.ref
    codes = np.multiply(ref != 0, np.uint8(OTHER), dtype=np.uint8)  # FREE is 0

    def put(frames: np.ndarray, code: int) -> None:
        codes[frames[ref[frames] != 0]] = code  # a free frame stays free

    if words.size:
        block = km.ptes[(words[:, None] + _SLOTS).ravel()]
        ptes = block[(block & _V) != 0]
        frames = (ptes >> _TEN).astype(np.int64) - pfn0
        inside = (frames >= 0) & (frames < n)
        frames, ptes = frames[inside], ptes[inside]
        mapped, count = np.unique(frames, return_counts=True)
        many = mapped[count > 1]
        put(mapped[count == 1], ANON)
        put(many, SHARED)
        put(many[np.isin(many, frames[(ptes & _COW) != 0])], COW_SHARED)
    put(m.pagecache.frame_numbers(), CACHE)
    t = np.concatenate(tables) if tables else np.zeros(0, np.int64)
    put(t[(t >= 0) & (t < n)], TABLE)
    put(np.array([km.frame(m.zero_frame)], np.int64), ZERO)
    return FrameMap(codes, m.ram.base, m.clock.now)
