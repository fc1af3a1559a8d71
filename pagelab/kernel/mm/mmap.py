"""A process's address space as a whole (Linux's mm/mmap.c): creating, copying and
tearing down its regions together with their page-table entries, and the mmap and
munmap services (mprotect, mremap, madvise and msync have files of their own).

Where things are, from address 0 up, for an xv6 image: the ELF's segments, one guard page
(no region), one stack page, then the heap, which sbrk grows upward. The kernel places an
mmap top-down below MMAP_TOP (128 GiB), one page clear of the heap, unless the caller's
address hint is free (the xv6 ABI never gives one): the heap can grow until it meets the
lowest mmap.

Services return a value >= 0, or -errno (mm/errno.py); each ABI makes its own convention
of that. Every call is counted in the stats and reported to observers (note()).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSHIFT, PGSIZE, PTE_D, PTE_V, PTE_W, pa2pte, pgroundup
from pagelab.kernel.events import MmEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.errno import Errno, err
from pagelab.kernel.mm.fault import pte_perm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.vma import (
    MAP_ANONYMOUS,
    MAP_DENYWRITE,
    MAP_EXECUTABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NONBLOCK,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_STACK,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    TooManyRegions,
    Vma,
    VmaList,
)

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

MMAP_TOP = 1 << 37  # 128 GiB: the highest mmap ends here; MAXVA is 256 GiB


def new_vmas(m: Machine) -> VmaList:
    """An empty region list whose file references are counted in the page cache."""

    def dup(v: Vma) -> None:
        if v.file is not None:
            m.pagecache.get(v.file)

    def drop(v: Vma) -> None:
        if v.file is not None:
            m.pagecache.put(v.file)  # the last user writes dirty pages back

    return VmaList(dup, drop, m.config.max_map_count)


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
    new one): shared file regions first, one by one, so their stores reach the file;
    then every page below the top at once (holes are skipped a page-table page at a
    time, so this costs what is mapped, not one call per region), then the page-table
    pages, and last the regions' file references."""
    last = vmas.last()
    top = max(pgroundup(sz), last.end if last is not None else 0)
    for v in vmas.shared_regions():
        if v.file is not None:
            unmap_region(m, pagetable, v)
    regions = vmas.clear()
    vm.uvmfree(m.km, pagetable, top)
    for v in regions:
        if v.file is not None:
            vmas.drop(v)


def exit_mmap(m: Machine, p: Proc) -> None:
    """Release a process's whole address space."""
    if not p.pagetable:
        return
    free_image(m, p.pagetable, p.vmas, p.sz)
    p.pagetable = 0
    p.sz = 0
    p.rss = 0


def dup_mmap(m: Machine, p: Proc, c: Proc) -> bool:
    """fork: give child c a copy of p's regions and page table. Private pages become
    copy-on-write (or are copied, without COW); shared ones stay shared. False if memory
    ran out; c then holds what was copied, for freeproc."""
    c.vmas = p.vmas.copy()  # shared copy-on-write: no region is copied now
    c.sz = p.sz
    last = p.vmas.last()
    end = max(pgroundup(p.sz), last.end if last is not None else 0)
    shared = p.vmas.shared_regions()
    ok = _populate_shared_anon(m, p, shared) and vm.uvmcopy(
        m.km, p.pagetable, c.pagetable, end, m.config.cow, m.zero_frame
    )
    if ok:
        for v in shared:
            vm.uvmshare(m.km, p.pagetable, c.pagetable, v.start, v.end)
    # The parent's writable pages just lost PTE_W: drop stale TLB entries (sfence.vma).
    m.hart.flush_tlb()
    return ok


def _populate_shared_anon(m: Machine, p: Proc, shared: list[Vma]) -> bool:
    """Give every untouched page of p's shared anonymous regions a zeroed frame before a
    fork, so that parent and child share it (uvmshare) and a store by either after the
    fork is seen by both. Linux keeps such a region in a shmem object that later faults
    find; pagelab has none, so a page left untouched would get one private frame per
    process at its first fault. False if memory ran out (fork then fails, as on xv6)."""
    for v in shared:
        if v.file is not None:
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

_KNOWN_FLAGS = (
    MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_GROWSDOWN
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_FIXED_NOREPLACE
)
_KEPT_FLAGS = MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN  # what a region remembers
MMAP_MIN_ADDR = PGSIZE  # Linux's vm.mmap_min_addr: page 0 is never mapped on request
PROTS = PROT_READ | PROT_WRITE | PROT_EXEC


def note(m: Machine, p: Proc, call: str, addr: int, length: int, ret: int, **extra: int) -> int:
    """Count a memory service in the stats and tell observers (--trace); returns ret."""
    st = m.vmstat
    st.mm_calls[call] += 1
    if ret < 0:
        st.mm_failed[call] += 1
    if m.listeners:
        m.emit(MmEvent(p.pid, call, addr, length, ret, m.clock.ticks, **extra))
    return ret


def do_mmap(m: Machine, p: Proc, length: int, prot: int, flags: int, fd: int, offset: int, addr: int = 0) -> int:
    """mmap(addr, length, prot, flags, fd, offset), as Linux does it: the address of a new
    region, or -errno. Nothing is read now (pages arrive at their first fault) unless
    MAP_POPULATE asks for it. Without MAP_FIXED, addr is a hint, taken when the range is
    free; otherwise the region goes top-down below MMAP_TOP, one page clear of the heap.
    MAP_FIXED replaces whatever was mapped there; MAP_FIXED_NOREPLACE fails with EEXIST.
    MAP_NORESERVE and MAP_STACK change nothing here (no overcommit accounting)."""
    r = _mmap(m, p, length, prot, flags, fd, offset, addr)
    return note(m, p, "mmap", addr, length, r, arg=prot, flags=flags)


def _mmap(m: Machine, p: Proc, length: int, prot: int, flags: int, fd: int, offset: int, addr: int) -> int:
    kind = flags & MAP_SHARED_VALIDATE
    if kind == MAP_SHARED_VALIDATE:
        if flags & ~_KNOWN_FLAGS:
            return err(Errno.EOPNOTSUPP)
        kind = MAP_SHARED
    if kind not in (MAP_SHARED, MAP_PRIVATE) or length <= 0 or offset % PGSIZE or offset < 0:
        return err(Errno.EINVAL)
    if prot & ~PROTS:
        return err(Errno.EINVAL)
    if flags & MAP_HUGETLB:
        return err(Errno.ENOMEM)  # no huge pages are reserved (Linux, with none configured)
    length = pgroundup(length)
    if length >= MAXVA:
        return err(Errno.ENOMEM)
    fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
    if fixed and (addr % PGSIZE or addr + length > MAXVA):
        return err(Errno.EINVAL)
    if fixed and addr < MMAP_MIN_ADDR:
        return err(Errno.EPERM)
    a = None
    label = ""
    maywrite = True
    if not flags & MAP_ANONYMOUS:
        f = p.ofile[fd] if 0 <= fd < len(p.ofile) else None
        if f is None:
            return err(Errno.EBADF)
        if f.mapping is None:
            return err(Errno.ENODEV)  # not a regular file: a pipe, the console
        if not f.readable:
            return err(Errno.EACCES)
        if kind == MAP_SHARED and prot & PROT_WRITE and not f.writable:
            return err(Errno.EACCES)  # stores would have to reach a file opened read-only
        if offset + length > 1 << 62:
            return err(Errno.EOVERFLOW)
        a = f.mapping
        label = f"inode {f.ip.ino}" if f.ip is not None else ""
        maywrite = kind == MAP_PRIVATE or f.writable
    start = addr
    if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED:
        if p.vmas.overlaps(addr, addr + length):
            return err(Errno.EEXIST)
    elif flags & MAP_FIXED:
        r = unmap_range(m, p, addr, addr + length)  # MAP_FIXED replaces what is there
        if r < 0:
            return r
    else:
        placed = _place(p, length, addr)
        if placed is None:
            return err(Errno.ENOMEM)
        start = placed
    if p.vmas.count >= p.vmas.limit:
        return err(Errno.ENOMEM)  # (a region that would merge is refused too, as Linux does)
    vflags = kind | (flags & _KEPT_FLAGS & ~(MAP_SHARED | MAP_PRIVATE))
    v = Vma(
        start, start + length, prot, vflags, "mmap", a, offset if a is not None else 0, label=label, maywrite=maywrite
    )
    if a is not None:
        m.pagecache.get(a)  # the region's own reference: it outlives close() of fd
    try:
        p.vmas.insert(v)
    except TooManyRegions:
        p.vmas.drop(v)
        return err(Errno.ENOMEM)
    if flags & MAP_POPULATE:
        populate(m, p, start, start + length)
    return start


def _place(p: Proc, length: int, hint: int) -> int | None:
    """Where a new region of `length` bytes goes: at the hint if that range is free and
    allowed, else top-down below MMAP_TOP, one page clear of the heap."""
    hint = hint & ~(PGSIZE - 1)
    if hint >= MMAP_MIN_ADDR and hint + length <= MAXVA and not p.vmas.overlaps(hint, hint + length):
        return hint
    heap_top = pgroundup(p.sz) + PGSIZE  # one page clear of the heap
    return p.vmas.find_free(length, MMAP_TOP, heap_top)


def populate(m: Machine, p: Proc, lo: int, hi: int, write: bool | None = None) -> int:
    """Fault in the pages of [lo, hi) now (MAP_POPULATE, MADV_POPULATE_*), as the first touch
    would: a store for a private writable region (so COW is broken now), a read otherwise.
    Stops quietly at the first page that cannot be had (memory is short): populating is
    advice, and it never kills the process. Returns the pages faulted in."""
    from pagelab.hw.hart import Trap
    from pagelab.hw.sv39 import SCAUSE_LOAD_PAGE_FAULT, SCAUSE_STORE_PAGE_FAULT
    from pagelab.kernel.mm.fault import handle_fault

    n = 0
    for v in p.vmas.between(lo, hi):
        if not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
            continue
        store = (v.prot & PROT_WRITE and not v.shared) if write is None else write and v.prot & PROT_WRITE
        scause = SCAUSE_STORE_PAGE_FAULT if store else SCAUSE_LOAD_PAGE_FAULT
        for va in range(max(lo, v.start), min(hi, v.end), PGSIZE):
            pte = vm.walkpte(m.km, p.pagetable, va)
            if pte & PTE_V and (not store or pte & PTE_W):
                continue  # already there (and writable, if a store was wanted)
            oom, uaccess = p.oom, m.in_uaccess
            m.in_uaccess = True  # a failure is not fatal to the process
            try:
                ok = handle_fault(m, p, Trap(scause, va, 0))
            finally:
                m.in_uaccess, p.oom = uaccess, oom
            if not ok:
                m.vmstat.populated += n
                return n
            n += 1
    m.vmstat.populated += n
    return n


def unmap_range(m: Machine, p: Proc, lo: int, hi: int) -> int:
    """Remove [lo, hi) from p's address space, whatever is mapped there (text, data,
    heap, stack, mmaps): regions split, their pages unmapped (shared file stores reach
    the file first), the TLB flushed. 0, or -ENOMEM if a hole would pass the region cap."""
    try:
        gone = p.vmas.unmap(lo, hi)
    except TooManyRegions:
        return err(Errno.ENOMEM)
    for v in gone:
        p.rss -= unmap_region(m, p.pagetable, v)
        p.vmas.drop(v)
    if gone:
        m.hart.flush_tlb()  # those pages lost validity
    return 0


def do_munmap(m: Machine, p: Proc, addr: int, length: int) -> int:
    """munmap(addr, length) of any range: the start, end or middle of a region, several
    regions, text, data, heap or stack. 0 even if nothing was mapped there; -EINVAL for
    a bad range, -ENOMEM if a hole would pass the region cap."""
    if addr % PGSIZE or length <= 0 or addr + length > MAXVA:
        r = err(Errno.EINVAL)
    else:
        r = unmap_range(m, p, addr, addr + pgroundup(length))
    return note(m, p, "munmap", addr, length, r)
