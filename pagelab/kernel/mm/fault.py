"""The page-fault handler: the lecture's one function, split into cases as Linux does.

handle_fault runs inside the hart's TLB-fill hook (a guest access) or inside copyin/copyout
(the kernel touching user memory). It fixes the page table and returns True, and the
access is retried: "restart the instruction". False means the fault is fatal.

As Linux's handle_mm_fault, it first finds the region (VMA) of the address: the region
says what the page should hold, the page-table entry only caches it.
  - no region, or a region whose protection forbids the access: fatal;
  - a present page: only a store to a copy-on-write page is legal -> do_wp_page;
  - an absent page of anonymous memory (heap, BSS, stack, MAP_ANONYMOUS) -> do_anonymous_page;
  - an absent page of a file (text, data, mmap of a file) -> do_file_page.
  - a page evicted to swap (its PTE is a swap entry) -> do_swap_page (mm/vmscan.py).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from pagelab.hw.hart import Trap
from pagelab.hw.sv39 import (
    MAXVA,
    PGSHIFT,
    PGSIZE,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    SCAUSE_INST_PAGE_FAULT,
    SCAUSE_LOAD_PAGE_FAULT,
    SCAUSE_STORE_PAGE_FAULT,
    pa2pte,
    pte2pa,
)
from pagelab.kernel.events import FaultEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.swap import is_swap_pte
from pagelab.kernel.mm.vm import PTE_COW
from pagelab.kernel.mm.vma import MAP_GROWSDOWN, PROT_EXEC, PROT_READ, PROT_WRITE, TooManyRegions, Vma
from pagelab.kernel.mm.vmscan import INSNS_PER_US

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

# The protection an access needs, by scause.
_NEEDS = {SCAUSE_LOAD_PAGE_FAULT: PROT_READ, SCAUSE_STORE_PAGE_FAULT: PROT_WRITE, SCAUSE_INST_PAGE_FAULT: PROT_EXEC}


def handle_fault(m: Machine, p: Proc, trap: Trap) -> bool:
    """Resolve a page fault of process p, or report it fatal."""
    va = trap.stval & ~(PGSIZE - 1)  # pgrounddown
    vma = p.vmas.find(va) if va < MAXVA else None
    if vma is None:
        vma = expand_stack(p, va) if va < MAXVA else None
        if vma is None:
            return _fatal(m, p, trap, None, "no VMA")  # above the heap, the guard page, a wild pointer
    if not vma.prot & _NEEDS[trap.scause]:
        return _fatal(m, p, trap, vma, "PROT")  # a store to text, executing data...
    pte_pa = vm.walk(m.km, p.pagetable, va, True)  # allocates page-table pages
    if pte_pa is None:
        return _oom(m, p, trap, vma)
    pte = m.ram.words[(pte_pa - m.ram.base) >> 3]
    if pte & PTE_V:
        # Present, so a protection fault the region allows: a store to a COW page.
        if trap.scause == SCAUSE_STORE_PAGE_FAULT and pte & PTE_COW and pte & PTE_U:
            return do_wp_page(m, p, trap, vma, pte_pa, pte)
        return _fatal(m, p, trap, vma, "PROT")
    if is_swap_pte(pte):
        return do_swap_page(m, p, trap, vma, pte_pa, pte)
    if vma.file is None:
        return do_anonymous_page(m, p, trap, vma, pte_pa)
    return do_file_page(m, p, trap, vma, va, pte_pa)


STACK_GUARD_GAP = 256 * PGSIZE  # Linux's stack_guard_gap: a growing stack stays this far away


def expand_stack(p: Proc, va: int) -> Vma | None:
    """A fault just below a MAP_GROWSDOWN region grows the region down to va's page (Linux's
    expand_stack), unless that would come within STACK_GUARD_GAP of the region below.
    Returns the grown region, or None."""
    above = p.vmas.next_of(va)
    if above is None or not above.flags & MAP_GROWSDOWN or above.file is not None:
        return None
    below = p.vmas.prev_of(va)
    if below is not None and va < below.end + STACK_GUARD_GAP:
        return None
    try:
        return p.vmas.insert(replace(above, start=va, end=above.start, offset=0, pieces=()))  # merges
    except TooManyRegions:
        return None


def pte_perm(prot: int) -> int:
    """PTE bits for a region's protection (xv6's flags2perm; every page is readable). A
    PROT_NONE page keeps its frame but not U, so no user access reaches it."""
    if not prot:
        return PTE_R
    return PTE_R | PTE_U | (PTE_W if prot & PROT_WRITE else 0) | (PTE_X if prot & PROT_EXEC else 0)


def do_anonymous_page(m: Machine, p: Proc, trap: Trap, vma: Vma, pte_pa: int) -> bool:
    """First touch of anonymous memory: the lazy heap, BSS, an anonymous mmap."""
    if trap.scause != SCAUSE_STORE_PAGE_FAULT and _zero_page_ok(m, vma):
        # Zero-fill on demand: reading needs no memory of its own, so share the one zero
        # frame read-only. It is marked COW, so the first store gets a private frame.
        m.km.incref(m.zero_frame)
        m.ram.write64(pte_pa, pa2pte(m.zero_frame) | PTE_R | PTE_U | PTE_COW | PTE_V)
        return _resolved(m, p, trap, vma, "zero", "mapped-zero", m.zero_frame)
    try:
        mem = m.km.kalloc()  # kalloc hands out zeroed frames
    except OutOfFrames:
        return _oom(m, p, trap, vma)
    m.ram.write64(pte_pa, pa2pte(mem) | pte_perm(vma.prot) | PTE_V)
    p.grow_rss(1)
    # The heap's first touch is the lazy-allocation lab; anything else is zero-fill.
    return _resolved(m, p, trap, vma, "lazy" if vma.kind == "heap" else "zero", "alloc", mem)


def _zero_page_ok(m: Machine, vma: Vma) -> bool:
    """May a read fault map the shared zero frame? Never for shared memory (the frame
    must be the one every sharer stores into); for the heap only with --zero-heap, since
    xv6's lazy lab gives every touched heap page a frame of its own."""
    if not m.config.zero_page or vma.shared:
        return False
    return vma.kind != "heap" or m.config.zero_heap


def do_file_page(m: Machine, p: Proc, trap: Trap, vma: Vma, va: int, pte_pa: int) -> bool:
    """First touch of a page backed by a file: demand paging of exec, and mmap. The page
    comes from the page cache (Linux's do_fault), read from the file if not cached.
      - shared, or read-only (text, rodata): map the cache's frame itself;
      - private and writable (data, MAP_PRIVATE): map it copy-on-write, so the first
        store copies it (do_wp_page) and no store ever reaches the file; if this first
        touch is the store, copy at once;
      - a private page assembled from pieces (exec: a page shared by two segments, or
        file bytes then BSS): a frame of its own, filled now."""
    store = trap.scause == SCAUSE_STORE_PAGE_FAULT
    perm = pte_perm(vma.prot) | PTE_V
    try:
        if vma.pieces or (store and not vma.shared):
            mem = m.km.kalloc()
            try:
                major = fill_private(m, vma, va, mem)
            except BaseException:
                m.km.kfree(mem)
                raise
            m.ram.write64(pte_pa, pa2pte(mem) | perm)
            resolution = "copy"
        else:
            mem, major = m.pagecache.get_page(vma.file, vma.file_offset(va) >> PGSHIFT)
            if not vma.shared and perm & PTE_W:
                perm = perm & ~PTE_W | PTE_COW
            m.ram.write64(pte_pa, pa2pte(mem) | perm)
            resolution = "mapped"
    except OutOfFrames:
        return _oom(m, p, trap, vma)
    except OSError:  # the host could not read the file
        return _fatal(m, p, trap, vma, "I/O error")
    p.grow_rss(1)
    if major:  # the file had to be read: modeled device time, as for a swap-in
        m.vmstat.page_ins += 1
        m.clock.now += m.config.disk_latency_us * INSNS_PER_US
    return _resolved(m, p, trap, vma, "file", resolution, mem, 0, major)


def fill_private(m: Machine, vma: Vma, va: int, dst: int) -> bool:
    """Fill the private frame dst with page va of file region vma: the file's bytes where
    the region has them, zero elsewhere (dst comes zeroed from kalloc). Returns True if
    the file had to be read (a major fault). Each cache page is copied at once, before
    anything else can allocate (and so reclaim it)."""
    major = False
    for lo, off, n in file_runs(vma, va):
        while n > 0:
            start = off & (PGSIZE - 1)
            k = min(PGSIZE - start, n)
            src, got = m.pagecache.find_page(vma.file, off >> PGSHIFT)
            major |= got
            if k == PGSIZE:
                m.ram.copy_page(dst, src)
            else:
                m.ram.write(dst + (lo - va), m.ram.read(src + start, k))
            lo, off, n = lo + k, off + k, n - k
    return major


def file_runs(vma: Vma, va: int) -> list[tuple[int, int, int]]:
    """The file bytes of page va of a file region, as (address, file offset, length)."""
    if not vma.pieces:
        return [(va, vma.file_offset(va), PGSIZE)]
    out = []
    for pc in vma.pieces:
        lo, hi = max(va, pc.lo), min(va + PGSIZE, pc.hi)
        if lo < hi:
            out.append((lo, pc.offset + (lo - pc.lo), hi - lo))
    return out


def do_swap_page(m: Machine, p: Proc, trap: Trap, vma: Vma, pte_pa: int, pte: int) -> bool:
    """The page was evicted to swap: read it back (a major fault), or map it from the swap
    cache (shared anonymous memory another process swapped in: minor). See mm/vmscan.py."""
    try:
        mem, major = m.reclaim.swap_in(p, pte_pa, pte, vma.shared and vma.file is None)
    except OutOfFrames:
        return _oom(m, p, trap, vma)
    return _resolved(m, p, trap, vma, "swap_in", "swap-in", mem, major=major)


def do_wp_page(m: Machine, p: Proc, trap: Trap, vma: Vma, pte_pa: int, pte: int) -> bool:
    """A store to a copy-on-write page: copy the frame, or reuse it if nobody else has it."""
    pa = pte2pa(pte)
    flags = (pte & 0x3FF & ~PTE_COW) | PTE_W
    if pa != m.zero_frame and m.km.refcount(pa) == 1:
        # The other sharers are gone: this frame is ours alone, so just allow the store.
        # (Permission only grows, so no TLB entry can be stale.)
        m.ram.write64(pte_pa, pa2pte(pa) | flags)
        return _resolved(m, p, trap, vma, "cow", "reuse", pa)
    m.km.incref(pa)  # pinned while we copy: reclaim must not evict it meanwhile
    try:
        mem = m.km.kalloc()
    except OutOfFrames:
        m.km.kfree(pa)
        return _oom(m, p, trap, vma)
    m.km.kfree(pa)
    if pa == m.zero_frame:
        kind = "zero"  # the new frame is already zero: nothing to copy
        p.grow_rss(1)
    else:
        m.ram.copy_page(mem, pa)
        m.vmstat.cow_copies += 1
        kind = "cow"
    m.ram.write64(pte_pa, pa2pte(mem) | flags)
    m.km.kfree(pa)
    # The TLB may still map this page to the shared frame (a read before the store).
    m.hart.flush_tlb()
    return _resolved(m, p, trap, vma, kind, "alloc" if kind == "zero" else "copy", mem, pa)


def _resolved(
    m: Machine, p: Proc, trap: Trap, vma: Vma, kind: str, resolution: str, pa: int, old_pa: int = 0, major: bool = False
) -> bool:
    if pa != m.zero_frame and resolution != "reuse":
        m.reclaim.page_mapped(pa)  # a page arrived in frame pa: the policy hears of it
    if m.alloc.samples:
        m.alloc.faulted(p, trap.stval)  # a reference, even if the page leaves before a sample
    _count(m, p, trap, vma, kind, resolution, pa, old_pa, "", major)
    return True


def _oom(m: Machine, p: Proc, trap: Trap, vma: Vma) -> bool:
    p.oom = True
    return _fatal(m, p, trap, vma, "out of memory")


def _fatal(m: Machine, p: Proc, trap: Trap, vma: Vma | None, reason: str) -> bool:
    if m.in_uaccess:
        # A bad pointer given to a system call: the call returns -1, nobody is killed.
        _count(m, p, trap, vma, "efault", "error", 0, 0, reason, False)
    else:
        _count(m, p, trap, vma, "fatal", "killed", 0, 0, reason, False)
    return False


def _count(
    m: Machine,
    p: Proc,
    trap: Trap,
    vma: Vma | None,
    kind: str,
    resolution: str,
    pa: int,
    old_pa: int,
    reason: str,
    major: bool,
) -> None:
    st = m.vmstat
    st.faults[kind] += 1
    if kind not in ("fatal", "efault"):
        if major:
            st.major += 1
        else:
            st.minor += 1
    p.faults += 1
    if m.fault_stamps is not None:
        m.fault_stamps.append(time.perf_counter())
    if m.listeners:  # building the event costs time: only when someone watches
        stval = m.hart.stval(trap)
        vname = vma.kind if vma is not None else ""
        m.emit(
            FaultEvent(
                p.pid, trap.scause, stval, trap.sepc, kind, resolution, m.clock.ticks, vname, pa, old_pa, reason, major
            )
        )
