"""Idle page tracking (Linux: mm/page_idle.c): which pages a process used since the last look.

An observer measuring working sets reads the PTEs' A bits and clears them, so that the next
look sees only new uses. The replacement policy reads the same A bits. So that it still sees
a harvested page as used, the kernel remembers the page per frame as young (Linux's
PG_young, which page_referenced counts as a reference) until the policy's own clear_young
takes it: the policy's view, and so the run's faults, stay what they would have been.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PTE_A, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X
from pagelab.kernel.mm.rmap import leaf_tables

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

_USED = np.uint64(PTE_V | PTE_U | PTE_A)
_LEAF = np.uint64(PTE_R | PTE_W | PTE_X)
_NOT_A = np.uint64(~PTE_A & 0xFFFFFFFFFFFFFFFF)
_TEN = np.uint64(10)
_SLOTS = np.arange(512, dtype=np.int64)
_NONE = np.zeros(0, np.int64)


def harvest(m: Machine, p: Proc) -> np.ndarray:
    """The user pages of p (virtual addresses, sorted) whose A bit is set; the bits are
    cleared and their frames marked young. The caller flushes the TLB once it has
    harvested every process (else cached translations keep A from being set again)."""
    km = m.km
    # Every leaf page-table page of p as one block of PTEs: one pass of numpy, not one per
    # table (a recorded run harvests every process every sampling period).
    tables = leaf_tables(m, p.pagetable)
    if not tables:
        return _NONE
    firsts = np.array(tables, np.int64)  # (first word, va of its first entry)
    words = (firsts[:, :1] + _SLOTS).ravel()
    ptes = km.ptes[words]
    hit = np.flatnonzero(((ptes & _USED) == _USED) & ((ptes & _LEAF) != 0))
    if not hit.size:
        return _NONE
    used = ptes[hit]
    km.ptes[words[hit]] = used & _NOT_A
    frames = (used >> _TEN).astype(np.int64) - (km.ram.base >> PGSHIFT)
    m.reclaim.page_young[frames[(frames >= 0) & (frames < km.nframes)]] = 1
    return firsts[hit >> 9, 1] + ((hit & 511) << PGSHIFT)
