"""mremap: grow, shrink or move a region (Linux's mm/mremap.c).

musl's realloc and sort grow big blocks with mremap(MREMAP_MAYMOVE), and databases grow a
mapping of their file the same way, so growing must not cost a copy of the data:
  - shrinking unmaps the tail;
  - growing happens in place when the range ends its region and the pages after it are
    free: the region is simply longer;
  - otherwise, with MREMAP_MAYMOVE, the region gets a new place and the page-table entries
    move there (vm.move_ptes): frames, swap entries, COW bits and D bits go along, and not
    one byte of data is copied. Untouched pages stay lazy.
MREMAP_FIXED moves to a given address, replacing what is mapped there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSHIFT, PGSIZE, pgroundup
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.mmap import MMAP_TOP, note, unmap_range
from pagelab.kernel.mm.vma import TooManyRegions, Vma

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4


def do_mremap(m: Machine, p: Proc, addr: int, old_len: int, new_len: int, flags: int, new_addr: int = 0) -> int:
    """mremap(addr, old_len, new_len, flags, new_addr): the region's address afterwards,
    or -EINVAL (bad arguments; MREMAP_DONTUNMAP and old_len 0 are not supported), -EFAULT
    (the old range is not inside one region), -ENOMEM (no room to grow and may not move,
    or out of memory or regions)."""
    moved: list[int] = [0]
    r = _mremap(m, p, addr, old_len, new_len, flags, new_addr, moved)
    return note(m, p, "mremap", addr, old_len, r, arg=new_len, flags=flags, new_addr=max(r, 0), pages=moved[0])


def _mremap(
    m: Machine, p: Proc, addr: int, old_len: int, new_len: int, flags: int, new_addr: int, moved: list[int]
) -> int:
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or (flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE):
        return err(Errno.EINVAL)
    if addr % PGSIZE or old_len <= 0 or new_len <= 0:
        return err(Errno.EINVAL)
    old_len, new_len = pgroundup(old_len), pgroundup(new_len)
    old_end = addr + old_len
    if old_end > MAXVA:
        return err(Errno.EINVAL)
    v = p.vmas.find(addr)
    if v is None or old_end > v.end:
        return err(Errno.EFAULT)
    if v.pieces:
        return err(Errno.EINVAL)  # exec's assembled pages know their own addresses
    if flags & MREMAP_FIXED:
        if new_addr % PGSIZE or new_addr + new_len > MAXVA or (new_addr < old_end and addr < new_addr + new_len):
            return err(Errno.EINVAL)
        if new_len < old_len:
            r = unmap_range(m, p, addr + new_len, old_end)
            if r < 0:
                return r
            old_len = new_len
        r = unmap_range(m, p, new_addr, new_addr + new_len)
        if r < 0:
            return r
        v = p.vmas.find(addr)
        assert v is not None
        return _move(m, p, v, addr, old_len, new_addr, new_len, moved)
    if new_len <= old_len:
        if new_len < old_len:
            r = unmap_range(m, p, addr + new_len, old_end)
            if r < 0:
                return r
        return addr
    new_end = addr + new_len
    if old_end == v.end and new_end <= MAXVA and not p.vmas.overlaps(old_end, new_end):
        grown = _continuation(v, old_end, new_end)
        p.vmas.dup(grown)
        try:
            p.vmas.insert(grown)  # merges with v: the region is longer
        except TooManyRegions:
            p.vmas.drop(grown)
            return err(Errno.ENOMEM)
        return addr
    if not flags & MREMAP_MAYMOVE:
        return err(Errno.ENOMEM)
    heap_top = pgroundup(p.sz) + PGSIZE
    dest = p.vmas.find_free(new_len, MMAP_TOP, heap_top)
    if dest is None:
        return err(Errno.ENOMEM)
    return _move(m, p, v, addr, old_len, dest, new_len, moved)


def _continuation(v: Vma, lo: int, hi: int) -> Vma:
    """A region that continues v over [lo, hi): the same attributes and file, at the
    file offsets that follow."""
    offset = v.file_offset(lo) if v.file is not None else 0
    kind = "mmap" if v.kind == "heap" else v.kind  # the heap stays where brk keeps it
    return Vma(lo, hi, v.prot, v.flags, kind, v.file, offset, label=v.label, maywrite=v.maywrite)


def _move(m: Machine, p: Proc, v: Vma, addr: int, old_len: int, dest: int, new_len: int, moved: list[int]) -> int:
    """Give [addr, addr + old_len) of region v the new place [dest, dest + new_len) (the
    caller made sure it is free), moving its page-table entries there."""
    if p.vmas.count + 2 > p.vmas.limit:
        return err(Errno.ENOMEM)  # a hole in v and the new region: checked before any change
    new = _continuation(v, addr, addr + new_len)
    new.start, new.end = dest, dest + new_len  # (not in any list yet)
    n = vm.move_ptes(m.km, p.pagetable, addr, dest, old_len >> PGSHIFT)
    if n < 0:
        return err(Errno.ENOMEM)
    moved[0] = n
    m.vmstat.mremap_moved += n
    for g in p.vmas.unmap(addr, addr + old_len):  # its entries are gone already
        p.vmas.drop(g)
    p.vmas.dup(new)
    p.vmas.insert(new)
    m.hart.flush_tlb()  # the old addresses lost their translations
    return dest
