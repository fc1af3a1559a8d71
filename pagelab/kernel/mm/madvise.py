"""madvise: what a process tells the kernel about its use of a range (Linux's mm/madvise.c).

MADV_DONTNEED takes the pages away now: the next touch of an anonymous private page is a
zero-fill fault, and a file page comes back from the page cache (a private copy made by an
earlier store is gone, so the file's bytes show again). A shared file page's stores reach
the page cache first. MADV_FREE, allowed on private anonymous memory only, says the
contents may go; pagelab drops them at once, as memory pressure would. A shared anonymous
page is left in place by both: pagelab keeps such a page in its PTEs alone (there is no
shmem object behind it), so dropping it would lose data the other sharers still see.
MADV_POPULATE_READ and MADV_POPULATE_WRITE fault pages in now. Every other advice is
accepted and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSHIFT, PTE_D
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.mmap import note, populate
from pagelab.kernel.mm.mprotect import covers, page_range
from pagelab.kernel.mm.vma import MAP_ANONYMOUS, Vma

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MADV_NORMAL = 0
MADV_RANDOM = 1
MADV_SEQUENTIAL = 2
MADV_WILLNEED = 3
MADV_DONTNEED = 4
MADV_FREE = 8
MADV_REMOVE = 9
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_DONTDUMP = 16
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19
MADV_COLD = 20
MADV_PAGEOUT = 21
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
MADV_DONTNEED_LOCKED = 24
MADV_COLLAPSE = 25
ADVICE = frozenset(range(0, 26)) - {5, 6, 7}


def do_madvise(m: Machine, p: Proc, addr: int, length: int, advice: int) -> int:
    """madvise(addr, length, advice): 0, or -EINVAL (bad address or advice; MADV_FREE on
    memory that is not private and anonymous), -ENOMEM (part of the range is not mapped:
    the advice still applies to the mapped part, as on Linux)."""
    dropped: list[int] = [0]
    r = _madvise(m, p, addr, length, advice, dropped)
    return note(m, p, "madvise", addr, length, r, arg=advice, pages=dropped[0])


def _madvise(m: Machine, p: Proc, addr: int, length: int, advice: int, dropped: list[int]) -> int:
    if advice not in ADVICE:
        return err(Errno.EINVAL)
    hi = page_range(addr, length)
    if hi <= addr:
        return min(hi, 0)  # an error, or nothing to do
    regions = p.vmas.between(addr, hi)
    holes = not covers(regions, addr, hi)
    if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE):
        if advice == MADV_FREE and any(v.shared or not v.flags & MAP_ANONYMOUS for v in regions):
            return err(Errno.EINVAL)
        for v in regions:
            if not (v.shared and v.file is None):
                dropped[0] += zap(m, p, v, max(addr, v.start), min(hi, v.end))
        m.vmstat.madvise_dropped += dropped[0]
        if regions:
            m.hart.flush_tlb()  # those pages lost validity
    elif advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        dropped[0] = populate(m, p, addr, hi, write=advice == MADV_POPULATE_WRITE)
    return err(Errno.ENOMEM) if holes else 0


def zap(m: Machine, p: Proc, v: Vma, lo: int, hi: int) -> int:
    """Unmap the pages of [lo, hi) of region v, which stays (Linux's zap_page_range). A
    shared file page whose PTE has D set is marked dirty in the page cache first. Returns
    the frames unmapped."""
    if v.file is not None and v.shared:
        for va, pte_pa in vm.present(m.km, p.pagetable, lo, hi):
            if m.ram.read64(pte_pa) & PTE_D:
                m.pagecache.set_page_dirty(v.file, v.file_offset(va) >> PGSHIFT)
    n = vm.uvmunmap(m.km, p.pagetable, lo, (hi - lo) >> PGSHIFT, True, m.zero_frame)
    p.rss -= n
    return n
