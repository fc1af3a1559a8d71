"""mincore: which pages of a range are resident (Linux's mm/mincore.c).

A page is resident when its PTE maps a frame; a page never touched, dropped or swapped
out is not. Programs (and tests) use it to see MAP_POPULATE, MADV_DONTNEED and eviction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSIZE, PTE_V
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.mprotect import covers, page_range

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


def do_mincore(m: Machine, p: Proc, addr: int, length: int) -> bytes | int:
    """One byte per page of [addr, addr + length): 1 if resident, else 0; or -EINVAL
    (unaligned), -ENOMEM (part of the range is not mapped)."""
    hi = page_range(addr, length)
    if hi < 0:
        return hi
    if not covers(p.vmas.between(addr, hi), addr, hi):
        return err(Errno.ENOMEM)
    return bytes(1 if vm.walkpte(m.km, p.pagetable, va) & PTE_V else 0 for va in range(addr, hi, PGSIZE))
