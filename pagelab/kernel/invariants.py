"""Kernel memory invariants, checked by the tests after every run.

- every frame's reference count equals the number of PTEs (and page-table links)
  pointing at it, plus the kernel's own hold on the zero frame, plus one if the page
  cache holds it, plus one if the swap cache does;
- no frame is both free and mapped;
- with no processes left, the free count plus the cache-only frames is back to the free
  count at boot (free_end + cache == boot_free);
- every swap slot's reference count equals the number of swap entries holding it, and with
  no processes left no slot is in use; the swap cache holds only slots in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.mmu import entries
from pagelab.hw.sv39 import PTE_R, PTE_W, PTE_X, pte2pa
from pagelab.kernel.mm.rmap import leaf_tables
from pagelab.kernel.mm.swap import is_swap, swap_slots

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine


class InvariantError(AssertionError):
    pass


def count_references(m: Machine) -> np.ndarray:
    """Count, for each frame, the page-table entries and page-table roots that use it."""
    refs = np.zeros(m.km.nframes, dtype=np.int64)
    refs[m.km.frame(m.zero_frame)] += 1  # the kernel's own reference
    for pa in m.pagecache.cached_frames():
        refs[m.km.frame(pa)] += 1  # the page cache's reference
    if m.reclaim.swap is not None:
        for pa in m.reclaim.swap.cached_slot:
            refs[m.km.frame(pa)] += 1  # the swap cache's reference

    for p in m.procs:
        if p is None or not p.pagetable:
            continue
        refs[m.km.frame(p.pagetable)] += 1
        for depth, _i, _va, pte in entries(m.ram, p.pagetable):
            pa = pte2pa(pte)
            if not m.ram.contains(pa, 4096):
                raise InvariantError(f"PTE points outside RAM: {pte:#x}")
            if not pte & (PTE_R | PTE_W | PTE_X) and depth == 2:
                raise InvariantError("pointer PTE at level 0")
            refs[m.km.frame(pa)] += 1  # a mapped frame, or a page-table page
    return refs


def check_invariants(m: Machine, expect_empty: bool | None = None) -> None:
    if m.oopses:
        raise InvariantError(f"{m.oopses} kernel oops(es): see the log")
    refs = count_references(m)
    have = m.km.ref.astype(np.int64)
    bad = np.flatnonzero(refs != have)
    if bad.size:
        f = int(bad[0])
        raise InvariantError(
            f"frame {m.km.pa(f):#x}: refcount {have[f]} but {refs[f]} references ({bad.size} frames wrong)"
        )
    free = m.km.free_frames()
    if len(free) != m.km.nfree:
        raise InvariantError("a frame is on the free list twice")
    mapped_free = [f for f in free if refs[f]]
    if mapped_free:
        raise InvariantError(f"frame {m.km.pa(mapped_free[0]):#x} is both free and mapped")
    if expect_empty is None:
        expect_empty = all(p is None for p in m.procs)
    cache = m.pagecache.cache_only_frames()
    if expect_empty and m.km.nfree + cache != m.boot_free:
        raise InvariantError(f"leak: {m.boot_free - m.km.nfree - cache} frames not returned")
    check_swap(m, expect_empty)


def check_swap(m: Machine, expect_empty: bool) -> None:
    swap = m.reclaim.swap
    if swap is None:
        return
    held = np.zeros(swap.nslots, dtype=np.int64)
    for p in m.procs:
        if p is not None and p.pagetable:
            for w, _va in leaf_tables(m, p.pagetable):
                ptes = m.km.ptes[w : w + 512]
                np.add.at(held, swap_slots(ptes[is_swap(ptes)]), 1)
    bad = np.flatnonzero(held != swap.ref)
    if bad.size:
        s = int(bad[0])
        raise InvariantError(f"swap slot {s}: count {swap.ref[s]} but {held[s]} swap entries")
    if swap.used != int(np.count_nonzero(swap.ref)):
        raise InvariantError("swap free list disagrees with the slot counts")
    if expect_empty and swap.used:
        raise InvariantError(f"leak: {swap.used} swap slots not freed")
    for slot, pa in swap.cache.items():
        if not swap.ref[slot] or swap.cached_slot.get(pa) != slot:
            raise InvariantError(f"swap cache: slot {slot} (frame {pa:#x}) is free or not its frame's")
