"""A read-only census of physical memory, from the real page tables of every live process:
which frames hold page tables, which PTEs map each frame, and with which bits.

This is what Linux's reverse map (rmap) answers per page; here it is recomputed, vectorised,
whenever an observer asks (smaps, the frame map), and never on the fault path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X
from pagelab.kernel.mm.kalloc import Kalloc
from pagelab.kernel.mm.rmap import leaf_tables
from pagelab.kernel.mm.swap import is_swap
from pagelab.kernel.mm.vm import PTE_COW

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine

_LEAF = np.uint64(PTE_R | PTE_W | PTE_X)
_V = np.uint64(PTE_V)


@dataclass
class Mappings:
    """The leaf PTEs of one page table: virtual page addresses, PTEs and frame numbers."""

    va: np.ndarray  # int64, sorted
    pte: np.ndarray  # uint64
    frame: np.ndarray  # int64 index into Kalloc.ref; -1 if outside RAM
    tables: list[int]  # frame numbers of the page-table pages themselves
    swap_va: np.ndarray  # pages whose PTE is a swap entry (evicted to swap)


def scan(m: Machine, root: int) -> Mappings:
    """Every valid leaf PTE under root, and every swap entry, read directly from RAM
    through the leaf page-table pages the reverse map walks (mm/rmap.leaf_tables)."""
    km = m.km
    n = km.nframes
    top = km.ptes[_words(km, root)]
    tables = [km.frame(root)]
    tables += [f for f in _frames(km, top[((top & _V) != 0) & ((top & _LEAF) == 0)]).tolist() if 0 <= f < n]
    vas: list[np.ndarray] = []
    ptes: list[np.ndarray] = []
    swapped: list[np.ndarray] = []
    for w, va0 in leaf_tables(m, root):
        tables.append(w >> 9)  # 512 words per page-table page
        leaf = km.ptes[w : w + 512]
        idx = np.flatnonzero((leaf & _V) != 0)
        vas.append(va0 + (idx.astype(np.int64) << PGSHIFT))
        ptes.append(leaf[idx])
        swapped.append(va0 + (np.flatnonzero(is_swap(leaf)).astype(np.int64) << PGSHIFT))
    va = np.concatenate(vas) if vas else np.zeros(0, np.int64)
    pte = np.concatenate(ptes) if ptes else np.zeros(0, np.uint64)
    frame = _frames(km, pte)
    frame[(frame < 0) | (frame >= n)] = -1
    swap_va = np.concatenate(swapped) if swapped else np.zeros(0, np.int64)
    return Mappings(va, pte, frame, tables, swap_va)


def _words(km: Kalloc, table: int) -> slice:
    i = (table - km.ram.base) >> 3
    return slice(i, i + 512)


def _frames(km: Kalloc, ptes: np.ndarray) -> np.ndarray:
    return (ptes >> np.uint64(10)).astype(np.int64) - (km.ram.base >> PGSHIFT)


@dataclass
class Census:
    """System-wide facts per frame, from every live page table."""

    mapcount: np.ndarray  # PTEs mapping each frame
    dirty: np.ndarray  # bool: some PTE mapping it has D (Linux: PageDirty via rmap)
    cow: np.ndarray  # bool: some PTE mapping it is marked copy-on-write
    table: np.ndarray  # bool: a page-table page
    cache: np.ndarray  # bool: held by the page cache
    per_pid: dict[int, Mappings]


def census(m: Machine) -> Census:
    km = m.km
    n = km.nframes
    mapcount = np.zeros(n, np.int64)
    dirty = np.zeros(n, bool)
    cow = np.zeros(n, bool)
    table = np.zeros(n, bool)
    per_pid: dict[int, Mappings] = {}
    for p in m.procs:
        if p is None or not p.pagetable:
            continue
        mp = scan(m, p.pagetable)
        per_pid[p.pid] = mp
        ok = mp.frame >= 0
        f = mp.frame[ok]
        mapcount += np.bincount(f, minlength=n)
        dirty[f[(mp.pte[ok] & np.uint64(PTE_D)) != 0]] = True
        cow[f[(mp.pte[ok] & np.uint64(PTE_COW)) != 0]] = True
        table[mp.tables] = True
    cache = np.zeros(n, bool)
    cached = [km.frame(pa) for pa in m.pagecache.cached_frames()]
    if cached:
        cache[cached] = True
    return Census(mapcount, dirty, cow, table, cache, per_pid)
