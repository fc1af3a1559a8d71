"""mprotect: change the protection of a range of pages (Linux's mm/mprotect.c).

The regions of the range are split at its ends and given the new protection; the pages
already mapped get new PTE bits, and the TLB is flushed, since a cached translation may
still allow what is now forbidden. Pages not yet touched need nothing: their first fault
reads the region's new protection.

Copy-on-write stays correct because W is never simply handed back to a private page:
  - removing PROT_WRITE clears W (and COW) from every PTE of the range;
  - adding it to a private region marks each present page that is not writable COW, so
    the first store goes through do_wp_page, which reuses the frame only if nobody else
    maps it (a page shared after fork, the zero page or a page-cache frame is copied);
  - a shared region gets W back directly: its frames are meant to be shared;
  - PROT_NONE clears U, which keeps the frame mapped but out of the user's reach (the
    region's protection already makes every fault on it fatal).
A swapped-out page keeps the same bits in its swap entry and gets them back at swap-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSIZE, PTE_U, PTE_V, PTE_W, PTE_X, pgroundup
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.mmap import PROTS, note
from pagelab.kernel.mm.swap import is_swap_pte
from pagelab.kernel.mm.vm import PTE_COW
from pagelab.kernel.mm.vma import PROT_EXEC, PROT_WRITE, TooManyRegions, Vma

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


def do_mprotect(m: Machine, p: Proc, addr: int, length: int, prot: int) -> int:
    """mprotect(addr, length, prot): 0, or -EINVAL (bad address or prot), -ENOMEM (part of
    the range is not mapped, or the splits would pass the region cap: nothing changes),
    -EACCES (write to a shared file mapping opened read-only)."""
    r = _mprotect(m, p, addr, length, prot)
    return note(m, p, "mprotect", addr, length, r, arg=prot)


def _mprotect(m: Machine, p: Proc, addr: int, length: int, prot: int) -> int:
    if prot & ~PROTS:
        return err(Errno.EINVAL)
    hi = page_range(addr, length)
    if hi <= addr:
        return min(hi, 0)  # an error, or nothing to do
    regions = p.vmas.between(addr, hi)
    if not covers(regions, addr, hi):
        return err(Errno.ENOMEM)
    if prot & PROT_WRITE and any(v.shared and not v.maywrite for v in regions):
        return err(Errno.EACCES)
    parts = [(max(addr, v.start), min(hi, v.end), v.shared) for v in regions]
    try:
        p.vmas.change(addr, hi, prot=prot)
    except TooManyRegions:
        return err(Errno.ENOMEM)
    for lo, end, shared in parts:
        for _, _, ptes in vm.leaf_runs(m.km, p.pagetable, lo, end):
            for i, pte in enumerate(ptes.tolist()):
                if pte & PTE_V or is_swap_pte(pte):
                    ptes[i] = protect_bits(pte, prot, shared)
    m.hart.flush_tlb()  # a cached translation may allow what is now forbidden
    return 0


def page_range(addr: int, length: int) -> int:
    """The end of the pages [addr, addr + length) that mprotect, madvise, msync and mincore
    act on; -EINVAL for an unaligned start or a negative length, -ENOMEM past the user
    range (as Linux answers each)."""
    if addr % PGSIZE or length < 0:
        return err(Errno.EINVAL)
    hi = addr + pgroundup(length)
    return err(Errno.ENOMEM) if hi > MAXVA else hi


def covers(regions: list[Vma], lo: int, hi: int) -> bool:
    """Do these regions (sorted, as VmaList.between gives them) hold every page of [lo, hi)?"""
    at = lo
    for v in regions:
        if v.start > at:
            return False
        at = max(at, v.end)
    return at >= hi


def protect_bits(pte: int, prot: int, shared: bool) -> int:
    """A present PTE's (or swap entry's) bits under a new protection."""
    pte = pte | PTE_U if prot else pte & ~PTE_U
    pte = pte | PTE_X if prot & PROT_EXEC else pte & ~PTE_X
    if not prot & PROT_WRITE:
        return pte & ~(PTE_W | PTE_COW)
    if shared:
        return pte & ~PTE_COW | PTE_W
    if not pte & PTE_W:
        pte |= PTE_COW  # the first store decides: reuse the frame or copy it
    return pte
