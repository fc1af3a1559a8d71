"""The program break (Linux's brk in mm/mmap.c, xv6's growproc): the heap region's end.

Both personalities move it through here: xv6's sbrk(n) by a difference, Linux's brk(addr)
to an address. Growing only moves the region's end (pages arrive at their first touch),
unless lazy allocation is off; shrinking frees the pages above the new end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSHIFT, PTE_W, pgroundup
from pagelab.kernel.mm import vm

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


def do_brk(m: Machine, p: Proc, new: int, eager: bool | None = None) -> bool:
    """Move p's break to `new`; False, with nothing changed, if it cannot be done. Growth
    maps frames at once if `eager`, else lazily; None: as the configuration says."""
    if eager is None:
        eager = not m.config.lazy
    old = p.sz
    heap = p.heap
    if heap is None:
        return False
    if new > old:
        # The heap's region grows first; it may not run into an mmap.
        if new >= MAXVA or not p.vmas.set_end(heap, pgroundup(new)):
            return False
        if eager:
            if vm.uvmalloc(m.km, p.pagetable, old, new, PTE_W) is None:
                p.vmas.set_end(heap, pgroundup(old))
                return False
            p.grow_rss((pgroundup(new) - pgroundup(old)) >> PGSHIFT)
        # (lazily, pages arrive on first touch, in the fault handler)
    elif new < old:
        if new < p.heap_base:
            return False
        lo, hi = pgroundup(new), pgroundup(old)
        p.rss -= vm.uvmunmap(m.km, p.pagetable, lo, (hi - lo) >> PGSHIFT, True, m.zero_frame)
        p.vmas.set_end(heap, lo)
        m.hart.flush_tlb()  # those pages lost validity
    p.sz = new
    return True
