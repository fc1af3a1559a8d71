"""The page-fault handler: the lecture's one function, split into cases as Linux does.

handle_fault runs inside the hart's TLB-fill hook (a guest access) or inside copyin/copyout
(the kernel touching user memory). It fixes the page table and returns True, and the
access is retried: "restart the instruction". False means the fault is fatal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pagelab.hw.hart import Trap
from pagelab.hw.sv39 import (
    MAXVA,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    SCAUSE_INST_PAGE_FAULT,
    SCAUSE_STORE_PAGE_FAULT,
    pa2pte,
    pgrounddown,
    pte2pa,
)
from pagelab.kernel.events import MAJOR_KINDS, FaultEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.vm import PTE_COW

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


def handle_fault(m: Machine, p: Proc, trap: Trap) -> bool:
    """Resolve a page fault of process p, or report it fatal."""
    va = pgrounddown(trap.stval)
    store = trap.scause == SCAUSE_STORE_PAGE_FAULT
    if va >= MAXVA:
        return _fatal(m, p, trap)
    pte_pa = vm.walk(m.km, p.pagetable, va, False)
    pte = m.ram.read64(pte_pa) if pte_pa is not None else 0
    if pte & PTE_V:
        # Mapped, so this is a protection fault. Only a store to a COW page is legal.
        if store and pte & PTE_COW and pte & PTE_U and pte_pa is not None:
            return do_wp_page(m, p, trap, pte_pa, pte)
        return _fatal(m, p, trap)
    if p.heap_base <= va < p.sz and trap.scause != SCAUSE_INST_PAGE_FAULT:
        return do_anonymous_page(m, p, trap, va, store, pte_pa)
    # Above the heap, in the guard page, or executing data: a real error.
    return _fatal(m, p, trap)


def do_anonymous_page(m: Machine, p: Proc, trap: Trap, va: int, store: bool, pte_pa: int | None) -> bool:
    """First touch of a lazily allocated heap page. pte_pa is its empty PTE, if the
    page-table pages that hold it exist already."""
    if pte_pa is None:
        pte_pa = vm.walk(m.km, p.pagetable, va, True)  # allocates page-table pages
    if pte_pa is None:
        return _oom(m, p, trap)
    if not store and m.config.zero_page and m.config.zero_heap:
        # --zero-heap (Linux): a heap read needs no memory of its own, so share the one zero
        # frame read-only. It is marked COW, so the first store gets a private frame.
        # Without it, as in the xv6 lazy lab, a read gets a real zeroed frame like a store.
        # (BSS is mapped to the zero frame at exec time, so every page here is heap.)
        m.km.incref(m.zero_frame)
        m.ram.write64(pte_pa, pa2pte(m.zero_frame) | PTE_R | PTE_U | PTE_COW | PTE_V)
        return _resolved(m, p, trap, "zero", "mapped-zero")
    try:
        mem = m.km.kalloc()  # kalloc hands out zeroed frames
    except OutOfFrames:
        return _oom(m, p, trap)
    m.ram.write64(pte_pa, pa2pte(mem) | PTE_R | PTE_W | PTE_U | PTE_V)
    p.grow_rss(1)
    return _resolved(m, p, trap, "lazy", "alloc")


def do_wp_page(m: Machine, p: Proc, trap: Trap, pte_pa: int, pte: int) -> bool:
    """A store to a copy-on-write page: copy the frame, or reuse it if nobody else has it."""
    pa = pte2pa(pte)
    flags = (pte & 0x3FF & ~PTE_COW) | PTE_W
    if pa != m.zero_frame and m.km.refcount(pa) == 1:
        # The other sharers are gone: this frame is ours alone, so just allow the store.
        # (Permission only grows, so no TLB entry can be stale.)
        m.ram.write64(pte_pa, pte & ~PTE_COW | PTE_W)
        return _resolved(m, p, trap, "cow", "reuse")
    try:
        mem = m.km.kalloc()
    except OutOfFrames:
        return _oom(m, p, trap)
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
    return _resolved(m, p, trap, kind, "alloc" if kind == "zero" else "copy")


def _resolved(m: Machine, p: Proc, trap: Trap, kind: str, resolution: str) -> bool:
    _count(m, p, trap, kind, resolution)
    return True


def _oom(m: Machine, p: Proc, trap: Trap) -> bool:
    p.oom = True
    return _fatal(m, p, trap)


def _fatal(m: Machine, p: Proc, trap: Trap) -> bool:
    if m.in_uaccess:
        # A bad pointer given to a system call: the call returns -1, nobody is killed.
        _count(m, p, trap, "efault", "error")
    else:
        _count(m, p, trap, "fatal", "killed")
    return False


def _count(m: Machine, p: Proc, trap: Trap, kind: str, resolution: str) -> None:
    st = m.vmstat
    st.faults[kind] += 1
    if kind not in ("fatal", "efault"):
        if kind in MAJOR_KINDS:
            st.major += 1
        else:
            st.minor += 1
    p.faults += 1
    if m.fault_stamps is not None:
        m.fault_stamps.append(time.perf_counter())
    if m.listeners:  # building the event costs time: only when someone watches
        stval = m.hart.stval(trap)
        m.emit(FaultEvent(p.pid, trap.scause, stval, trap.sepc, kind, resolution, m.clock.ticks))
