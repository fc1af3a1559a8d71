"""The reverse map: from a frame to every PTE that maps it (Linux: mm/rmap.c).

Eviction must change every PTE that maps the victim frame, in every process: a page shared
after fork, or a file page mapped by several processes. Linux keeps per-page lists for this.
pagelab builds the map when it needs it, by scanning the leaf page-table pages of every
process as numpy arrays: it costs one pass over the page tables per reclaim batch, and no
bookkeeping on the fault path, so nothing can fall out of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PTE_R, PTE_V, PTE_W, PTE_X

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

_V = np.uint64(PTE_V)
_LEAF = np.uint64(PTE_R | PTE_W | PTE_X)
_TEN = np.uint64(10)
_KIND = np.uint64(PTE_V | PTE_R | PTE_W | PTE_X)


@dataclass
class Rmap:
    """Every valid leaf PTE of every process, sorted by the frame it maps."""

    frames: np.ndarray  # frame number (index into km.ref) of each mapping
    words: np.ndarray  # index of the PTE in km.ptes (RAM as 64-bit words)
    owners: np.ndarray  # index into `procs` of the process the PTE belongs to
    vas: np.ndarray  # the virtual address each PTE maps
    procs: list[Proc]

    def lookup(self, frame: int) -> slice:
        """The rows of the mappings of `frame` (an empty slice if none)."""
        lo = int(np.searchsorted(self.frames, frame, "left"))
        hi = int(np.searchsorted(self.frames, frame, "right"))
        return slice(lo, hi)

    def mapped_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """Each mapped frame once, with its number of mappings."""
        return np.unique(self.frames, return_counts=True)


def leaf_tables(m: Machine, root: int) -> list[tuple[int, int]]:
    """(first word in km.ptes, va of its first entry) of each leaf page-table page under
    root. Only valid pointer entries of the two upper levels are visited: one numpy pass
    over each upper table, the few pointers found followed in Python (an observer calls
    this for every process every sampling period: kernel/mm/page_idle.py)."""
    km = m.km
    base = km.ram.base
    last = km.ptes.size - 512
    out = []
    r = (root - base) >> 3
    top = km.ptes[r : r + 512]
    i2s = np.flatnonzero((top & _KIND) == _V)  # pointers: V, no R/W/X (no 1 GiB superpage)
    for i2, pte in zip(i2s.tolist(), top[i2s].tolist(), strict=True):
        mid_w = (((pte >> 10) << PGSHIFT) - base) >> 3
        if not 0 <= mid_w <= last:
            continue  # outside RAM: never in a table the kernel built
        mid = km.ptes[mid_w : mid_w + 512]
        i1s = np.flatnonzero((mid & _KIND) == _V)
        for i1, leaf in zip(i1s.tolist(), mid[i1s].tolist(), strict=True):
            out.append(((((leaf >> 10) << PGSHIFT) - base) >> 3, (i2 << 30) | (i1 << 21)))
    return out


def build(m: Machine) -> Rmap:
    km = m.km
    pfn0 = km.ram.base >> PGSHIFT
    procs: list[Proc] = [p for p in m.procs if p is not None and p.pagetable]
    words, owners, vas = [], [], []
    for k, p in enumerate(procs):
        for w, va in leaf_tables(m, p.pagetable):
            ptes = km.ptes[w : w + 512]
            idx = np.flatnonzero((ptes & _V) != 0)
            if idx.size:
                words.append(w + idx)
                owners.append(np.full(idx.size, k, dtype=np.int64))
                vas.append(va + (idx << PGSHIFT))
    if not words:
        empty = np.empty(0, dtype=np.int64)
        return Rmap(empty, empty, empty, empty, procs)
    w_all = np.concatenate(words)
    frames = (km.ptes[w_all] >> _TEN).astype(np.int64) - pfn0
    inside = (frames >= 0) & (frames < km.nframes)
    order = np.argsort(frames[inside], kind="stable")
    return Rmap(
        frames[inside][order],
        w_all[inside][order],
        np.concatenate(owners)[inside][order],
        np.concatenate(vas)[inside][order],
        procs,
    )
