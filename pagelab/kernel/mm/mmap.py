"""A process's address space as a whole (Linux's mm/mmap.c): creating, copying and
tearing down its regions together with their page-table entries, and the mmap and
munmap system calls.

Where things are, from address 0 up: the ELF's segments, one guard page (no region), one
stack page, then the heap, which sbrk grows upward. The kernel places each mmap itself,
top-down below MMAP_TOP (128 GiB), one page clear of the heap: the heap can grow until it
meets the lowest mmap, and an address given to mmap is only a hint, never used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSHIFT, PGSIZE, PTE_D, PTE_V, pa2pte, pgroundup
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.fault import pte_perm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.vma import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    Vma,
    VmaList,
)

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MMAP_TOP = 1 << 37  # 128 GiB: the highest mmap ends here; MAXVA is 256 GiB
MAP_FAILED = -1  # 0xffffffffffffffff in a0


def new_vmas(m: Machine) -> VmaList:
    """An empty region list whose file references are counted in the page cache."""

    def dup(v: Vma) -> None:
        if v.file is not None:
            m.pagecache.get(v.file)

    def drop(v: Vma) -> None:
        if v.file is not None:
            m.pagecache.put(v.file)  # the last user writes dirty pages back

    return VmaList(dup, drop)


def unmap_region(m: Machine, pagetable: int, v: Vma) -> int:
    """Remove region v's pages from a page table. A shared file region's stores reach
    the file first: each page whose PTE has D set is marked dirty in the page cache and
    written back. Returns the frames unmapped (the zero frame not counted), for rss.
    The caller drops v's file reference."""
    shared_file = v.file is not None and v.shared
    if shared_file:
        for va, pte_pa in vm.present(m.km, pagetable, v.start, v.end):
            if m.ram.read64(pte_pa) & PTE_D:
                m.pagecache.set_page_dirty(v.file, v.file_offset(va) >> PGSHIFT)
    n = vm.uvmunmap(m.km, pagetable, v.start, v.pages(), True, m.zero_frame)
    if shared_file:
        m.pagecache.writeback(v.file)
    return n


def free_image(m: Machine, pagetable: int, vmas: VmaList, sz: int) -> None:
    """Free a page table and the regions it maps (exit, exec's old image, or a half-built
    new one): every region, whatever else is mapped below sz (the guard page), then the
    page-table pages."""
    for v in vmas.clear():
        unmap_region(m, pagetable, v)
        vmas.drop(v)
    vm.uvmfree(m.km, pagetable, sz)


def exit_mmap(m: Machine, p: Proc) -> None:
    """Release a process's whole address space."""
    if not p.pagetable:
        return
    free_image(m, p.pagetable, p.vmas, p.sz)
    p.heap = None
    p.pagetable = 0
    p.sz = 0
    p.rss = 0


def dup_mmap(m: Machine, p: Proc, c: Proc) -> bool:
    """fork: give child c a copy of p's regions and page table. Private pages become
    copy-on-write (or are copied, without COW); shared ones stay shared. False if memory
    ran out; c then holds what was copied, for freeproc."""
    c.vmas = p.vmas.copy()
    c.heap = next((v for v in c.vmas if v.kind == "heap"), None)
    c.sz = p.sz
    end = max([pgroundup(p.sz), *(v.end for v in p.vmas)])
    ok = _populate_shared_anon(m, p) and vm.uvmcopy(m.km, p.pagetable, c.pagetable, end, m.config.cow, m.zero_frame)
    if ok:
        for v in p.vmas:
            if v.shared:
                vm.uvmshare(m.km, p.pagetable, c.pagetable, v.start, v.end)
    # The parent's writable pages just lost PTE_W: drop stale TLB entries (sfence.vma).
    m.hart.flush_tlb()
    return ok


def _populate_shared_anon(m: Machine, p: Proc) -> bool:
    """Give every untouched page of p's shared anonymous regions a zeroed frame before a
    fork, so that parent and child share it (uvmshare) and a store by either after the
    fork is seen by both. Linux keeps such a region in a shmem object that later faults
    find; pagelab has none, so a page left untouched would get one private frame per
    process at its first fault. False if memory ran out (fork then fails, as on xv6)."""
    for v in p.vmas:
        if not v.shared or v.file is not None:
            continue
        for va in range(v.start, v.end, PGSIZE):
            pte_pa = vm.walk(m.km, p.pagetable, va, True)
            if pte_pa is None:
                return False
            if m.ram.read64(pte_pa):
                continue  # a frame, or a swap entry (one slot for both after the fork)
            try:
                mem = m.km.kalloc()  # zeroed: the page reads as zero, as it would at a fault
            except OutOfFrames:
                return False
            m.ram.write64(pte_pa, pa2pte(mem) | pte_perm(v.prot) | PTE_V)
            p.grow_rss(1)
            m.reclaim.page_mapped(mem)
    return True


# --- the system calls ---------------------------------------------------------------------


def do_mmap(m: Machine, p: Proc, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """mmap(addr, length, prot, flags, fd, offset) without its hint: the address of a new
    region, or -1. Nothing is read now: pages arrive at their first fault."""
    kind = flags & (MAP_SHARED | MAP_PRIVATE)
    if kind not in (MAP_SHARED, MAP_PRIVATE) or flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS):
        return MAP_FAILED
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) or length <= 0 or offset % PGSIZE:
        return MAP_FAILED
    length = pgroundup(length)
    if length >= MMAP_TOP:
        return MAP_FAILED
    a = None
    label = ""
    if not flags & MAP_ANONYMOUS:
        f = p.ofile[fd] if 0 <= fd < len(p.ofile) else None
        if f is None or f.mapping is None or not f.readable:
            return MAP_FAILED  # not a regular file open for reading (Linux: EACCES)
        if kind == MAP_SHARED and prot & PROT_WRITE and not f.writable:
            return MAP_FAILED  # stores would have to reach a file opened read-only
        if offset + length > 1 << 62:
            return MAP_FAILED
        a = f.mapping
        label = f"inode {f.ip.ino}" if f.ip is not None else ""
    heap_top = pgroundup(p.sz) + PGSIZE  # one page clear of the heap
    start = p.vmas.find_free(length, MMAP_TOP, heap_top)
    if start is None:
        return MAP_FAILED
    if a is not None:
        m.pagecache.get(a)  # the region's own reference: it outlives close() of fd
    p.vmas.insert(Vma(start, start + length, prot, flags, "mmap", a, offset if a is not None else 0, label=label))
    return start


def do_munmap(m: Machine, p: Proc, addr: int, length: int) -> int:
    """Unmap [addr, addr+length) of mmap regions: the start, end or middle of one, or
    several. 0 even if nothing was mapped there; -1 for a bad range or one that touches
    a region that is not an mmap (text, data, heap, stack)."""
    if addr % PGSIZE or length <= 0 or addr + length > MMAP_TOP:
        return -1
    end = addr + pgroundup(length)
    touched = [v for v in p.vmas if v.start < end and addr < v.end]
    if any(v.kind != "mmap" for v in touched):
        return -1
    for v in p.vmas.unmap(addr, end):
        p.rss -= unmap_region(m, p.pagetable, v)
        p.vmas.drop(v)
    m.hart.flush_tlb()  # those pages lost validity
    return 0
