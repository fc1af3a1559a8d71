"""A process's address space as a whole (Linux's mm/mmap.c): creating, copying and
tearing down its regions together with their page-table entries, and the mmap and
munmap system calls.

Where things are, from address 0 up: the ELF's segments, one guard page (no VMA), one
stack page, the heap (which sbrk grows upward); mmaps are placed by the kernel top-down
from MMAP_TOP, so the heap can grow to 128 GiB before it meets them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import pgroundup
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.vma import Vma, VmaList

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MMAP_TOP = 1 << 37  # 128 GiB: the highest mmap ends here; MAXVA is 256 GiB


def new_vmas(m: Machine) -> VmaList:
    """An empty region list whose file references are counted in the page cache."""
    return VmaList()


def unmap_region(m: Machine, pagetable: int, v: Vma) -> int:
    """Remove region v's pages from a page table and drop v's file reference. Returns the
    frames unmapped (the shared zero frame is not counted), for rss."""
    n = vm.uvmunmap(m.km, pagetable, v.start, v.pages(), True, m.zero_frame)
    return n


def exit_mmap(m: Machine, p: Proc) -> None:
    """Release a whole address space: every region, then whatever else is mapped below
    p.sz (the guard page), then the page-table pages."""
    if not p.pagetable:
        return
    free_image(m, p.pagetable, p.vmas, p.sz)
    p.heap = None
    p.pagetable = 0
    p.sz = 0
    p.rss = 0


def free_image(m: Machine, pagetable: int, vmas: VmaList, sz: int) -> None:
    """Free a page table and the regions it maps (also a half-built exec image)."""
    for v in vmas.clear():
        unmap_region(m, pagetable, v)
    vm.uvmfree(m.km, pagetable, sz)


def dup_mmap(m: Machine, p: Proc, c: Proc) -> bool:
    """fork: give child c a copy of p's regions and page table. Private pages become
    copy-on-write (or are copied, without COW); shared ones stay shared. False if memory
    ran out; c then holds what was copied, for freeproc."""
    c.vmas = p.vmas.copy()
    c.heap = next((v for v in c.vmas if v.kind == "heap"), None)
    c.sz = p.sz
    end = max([pgroundup(p.sz), *(v.end for v in p.vmas)])
    ok = vm.uvmcopy(m.km, p.pagetable, c.pagetable, end, m.config.cow, m.zero_frame)
    if ok:
        for v in p.vmas:
            if v.shared:
                vm.uvmshare(m.km, p.pagetable, c.pagetable, v.start, v.end)
    # The parent's writable pages just lost PTE_W: drop stale TLB entries (sfence.vma).
    m.hart.flush_tlb()
    return ok
