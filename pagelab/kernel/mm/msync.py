"""msync: make a shared file mapping's stores reach the file now (Linux's mm/msync.c).

A store through a MAP_SHARED mapping sets the D bit of its PTE and nothing else. msync
moves that fact to the page cache (the page is marked dirty and D is cleared, with a TLB
flush so that the next store sets it again) and writes the file's dirty pages back.
MS_ASYNC does the same as MS_SYNC here (the write is modeled, not queued); MS_INVALIDATE
has nothing to do, since every mapping of a file maps the page cache's one copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSHIFT, PTE_D
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.mmap import note
from pagelab.kernel.mm.mprotect import covers, page_range

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MS_ASYNC = 1
MS_INVALIDATE = 2
MS_SYNC = 4


def do_msync(m: Machine, p: Proc, addr: int, length: int, flags: int) -> int:
    """msync(addr, length, flags): 0, or -EINVAL (bad address or flags), -ENOMEM (part of
    the range is not mapped; the mapped part is still written)."""
    written: list[int] = [0]
    r = _msync(m, p, addr, length, flags, written)
    return note(m, p, "msync", addr, length, r, arg=flags, pages=written[0])


def _msync(m: Machine, p: Proc, addr: int, length: int, flags: int, written: list[int]) -> int:
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or (flags & MS_ASYNC and flags & MS_SYNC):
        return err(Errno.EINVAL)
    hi = page_range(addr, length)
    if hi < 0:
        return hi
    regions = p.vmas.between(addr, hi)
    for v in regions:
        if v.file is None or not v.shared:
            continue
        for va, pte_pa in vm.present(m.km, p.pagetable, max(addr, v.start), min(hi, v.end)):
            pte = m.ram.read64(pte_pa)
            if pte & PTE_D:
                m.pagecache.set_page_dirty(v.file, v.file_offset(va) >> PGSHIFT)
                m.ram.write64(pte_pa, pte & ~PTE_D)
                written[0] += 1
        m.pagecache.writeback(v.file)
    if written[0]:
        m.hart.flush_tlb()  # the next store must set D again
    m.vmstat.msync_written += written[0]
    return 0 if covers(regions, addr, hi) else err(Errno.ENOMEM)
