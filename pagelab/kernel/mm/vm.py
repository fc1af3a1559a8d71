"""User page tables, as in xv6's vm.c: walk, mappages, uvmunmap, uvmcopy, copyin/copyout.

Unlike xv6, nothing here panics on a guest's behalf: failures return None/False and the
caller turns them into -1 or a killed process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from pagelab.hw.mmu import Access
from pagelab.hw.sv39 import (
    MAXVA,
    PGSHIFT,
    PGSIZE,
    PTE_A,
    PTE_D,
    PTE_R,
    PTE_RSW0,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    pa2pte,
    pgroundup,
    pte2pa,
    px,
)
from pagelab.kernel.mm.kalloc import Kalloc, OutOfFrames
from pagelab.kernel.mm.swap import is_swap, is_swap_pte, swap_slots, swp_slot

# A private writable page shared after fork: read-only in the PTE until the first store.
PTE_COW = PTE_RSW0

_FEW_FRAMES = 32  # below this many, freeing frames one by one is cheaper than in numpy
_V = np.uint64(PTE_V)
_W = np.uint64(PTE_W)
_W_TO_COW = np.uint64((PTE_W | PTE_COW) // PTE_W)
_NOT_AD = np.uint64(~(PTE_A | PTE_D) & 0xFFFFFFFFFFFFFFFF)
_TEN = np.uint64(10)

L1_SPAN = 1 << (PGSHIFT + 18)  # bytes one root entry covers (1 GiB)
L0_SPAN = 1 << (PGSHIFT + 9)  # bytes one leaf page-table page covers (2 MiB)

# Resolves a fault on behalf of the kernel's own access to user memory (copyin/copyout).
FaultFn = Callable[[int, Access], bool]


def walk(km: Kalloc, pagetable: int, va: int, alloc: bool) -> int | None:
    """The physical address of va's level-0 PTE, creating page-table pages if `alloc`."""
    if va < 0 or va >= MAXVA:
        return None
    words = km.ram.words
    base = km.ram.base
    a = pagetable
    for shift in (30, 21):
        i = ((a - base) >> 3) + ((va >> shift) & 0x1FF)
        pte = words[i]
        if pte & PTE_V:
            a = (pte >> 10) << 12
        else:
            if not alloc:
                return None
            try:
                a = km.kalloc()
            except OutOfFrames:
                return None
            words[i] = pa2pte(a) | PTE_V
    return a + (((va >> 12) & 0x1FF) << 3)


def walkpte(km: Kalloc, pagetable: int, va: int) -> int:
    """The PTE for va, or 0 if none."""
    p = walk(km, pagetable, va, False)
    return 0 if p is None else km.ram.read64(p)


def uvmcreate(km: Kalloc) -> int:
    """An empty user page table. Raises OutOfFrames."""
    return km.kalloc()


def mappages(km: Kalloc, pagetable: int, va: int, size: int, pa: int, perm: int) -> bool:
    """Map [va, va+size) to frames starting at pa. False if a page-table page is lacking."""
    a = va & ~(PGSIZE - 1)
    last = (va + size - 1) & ~(PGSIZE - 1)
    while True:
        p = walk(km, pagetable, a, True)
        if p is None:
            return False
        if km.ram.read64(p) & PTE_V:
            raise AssertionError(f"mappages: remap of {a:#x}")
        km.ram.write64(p, pa2pte(pa) | perm | PTE_V)
        if a == last:
            return True
        a += PGSIZE
        pa += PGSIZE


def uvmunmap(km: Kalloc, pagetable: int, va: int, npages: int, do_free: bool = True, shared: int = -1) -> int:
    """Remove the mappings of npages pages from va, dropping a frame reference for each if
    `do_free`. Pages with no PTE (never touched, under lazy allocation) are skipped, a whole
    missing page-table page at a time, and each leaf page is cleared as one array.
    Returns how many pages were unmapped, not counting those that mapped frame `shared`
    (the zero frame, which no process owns)."""
    n = 0
    shared_pfn = km.frame(shared) if shared >= 0 else -1
    for _, start, ptes in leaf_runs(km, pagetable, va, va + npages * PGSIZE):
        if ptes.size <= _FEW_FRAMES:
            n += _unmap_few(km, start, ptes.size, do_free, shared_pfn)
            continue
        valid = (ptes & np.uint64(PTE_V)) != 0
        if valid.any():
            frames = _frames(km, ptes[valid])
            if do_free:
                _kfree_frames(km, frames)
            n += int(frames.size) - int((frames == shared_pfn).sum())
            ptes[valid] = 0
        if km.swap is not None:  # swapped-out pages hold a slot instead of a frame
            swapped = is_swap(ptes)
            if swapped.any():
                km.swap.free(swap_slots(ptes[swapped]))
                ptes[swapped] = 0
    return n


def _unmap_few(km: Kalloc, start: int, count: int, do_free: bool, shared_pfn: int) -> int:
    """uvmunmap's work on the `count` PTEs at km.ptes[start:], word by word: for the few
    pages of a small region, numpy's per-call cost is most of the time. The same steps in
    the same order: free the frames (as _kfree_frames), clear their PTEs, then free the
    swap slots (in PTE order) and clear theirs."""
    words = km.ram.words
    pfn0 = km.ram.base >> PGSHIFT
    mapped = [i for i in range(start, start + count) if words[i] & PTE_V]
    frames = [(words[i] >> 10) - pfn0 for i in mapped]
    if frames:
        if do_free:
            _kfree_frames(km, np.array(frames, dtype=np.int64))
        for i in mapped:
            words[i] = 0
    if km.swap is not None:
        swapped = [i for i in range(start, start + count) if is_swap_pte(words[i])]
        if swapped:
            km.swap.free(np.array([swp_slot(words[i]) for i in swapped], dtype=np.int64))
            for i in swapped:
                words[i] = 0
    return len(frames) - frames.count(shared_pfn)


def _kfree_frames(km: Kalloc, frames: np.ndarray) -> None:
    """km.kfree_frames(frames), with a plain loop for the few frames of a small region,
    where numpy's unique costs more than the loop. Same result: all or nothing (checked
    first), and freed frames join the free list in ascending order."""
    if frames.size > _FEW_FRAMES:
        km.kfree_frames(frames)
        return
    want: dict[int, int] = {}
    for f in sorted(frames.tolist()):
        want[f] = want.get(f, 0) + 1
    for f, k in want.items():
        if km.ref[f] < k:
            raise AssertionError(f"kfree of free frame {km.pa(f):#x}")
    for f, k in want.items():
        for _ in range(k):
            km.kfree(km.pa(f))


def present(km: Kalloc, pagetable: int, va: int, end: int) -> Iterator[tuple[int, int]]:
    """(va, PTE address) of every valid leaf PTE in [va, end), skipping holes whole."""
    for run_va, start, ptes in leaf_runs(km, pagetable, va, end):
        for i in np.flatnonzero(ptes & np.uint64(PTE_V)).tolist():
            yield run_va + (i << PGSHIFT), (start + i) * 8 + km.ram.base


def leaf_runs(km: Kalloc, pagetable: int, va: int, end: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(va, index in km.ptes, the PTEs as a writable view) for each run of level-0 PTEs in
    [va, end) held by one leaf page-table page; missing tables are skipped whole."""
    while va < end:
        leaf, span = _leaf_or_hole(km, pagetable, va)
        stop = min(end, (va | (span - 1)) + 1)
        if leaf is not None:
            start = ((leaf - km.ram.base) >> 3) + px(0, va)
            yield va, start, km.ptes[start : start + ((stop - va) >> PGSHIFT)]
        va = stop


def _leaf_or_hole(km: Kalloc, pagetable: int, va: int) -> tuple[int | None, int]:
    """The leaf page-table page covering va, with the span it covers; or None and the
    span of the missing upper-level entry (1 GiB or 2 MiB), which can be skipped whole."""
    ram = km.ram
    pte = ram.read64(pagetable + (px(2, va) << 3))
    if not pte & PTE_V:
        return None, L1_SPAN
    pte = ram.read64(pte2pa(pte) + (px(1, va) << 3))
    if not pte & PTE_V:
        return None, L0_SPAN
    return pte2pa(pte), L0_SPAN


def move_ptes(km: Kalloc, pagetable: int, old: int, new: int, npages: int) -> int:
    """Move the entries of npages pages from old to new, frames and swap entries alike
    (mremap: the data stays where it is, only its address changes; reference counts do
    not change). The destination must hold no entries. Page-table pages for the
    destination are allocated first, so that an allocation (which may evict pages and so
    change the source's entries) comes before any entry is read. Returns the entries
    moved, or -1 (nothing moved) if page-table pages ran out."""
    span = npages << PGSHIFT
    for run_va, _, ptes in leaf_runs(km, pagetable, old, old + span):
        for i in np.flatnonzero(ptes).tolist():
            if walk(km, pagetable, new + (run_va - old) + (i << PGSHIFT), True) is None:
                return -1
    moved = 0
    words = km.ram.words
    base = km.ram.base
    for run_va, start, ptes in leaf_runs(km, pagetable, old, old + span):
        for i in np.flatnonzero(ptes).tolist():
            dst = walk(km, pagetable, new + (run_va - old) + (i << PGSHIFT), False)
            assert dst is not None
            j = (dst - base) >> 3
            if words[j]:
                raise AssertionError(f"move_ptes: {new + (run_va - old) + (i << PGSHIFT):#x} is mapped")
            words[j] = words[start + i]
            words[start + i] = 0
            moved += 1
    return moved


def uvmalloc(km: Kalloc, pagetable: int, oldsz: int, newsz: int, xperm: int) -> int | None:
    """Allocate and map frames to grow from oldsz to newsz; None (and no change) if out of memory."""
    if newsz < oldsz:
        return oldsz
    a = pgroundup(oldsz)
    while a < newsz:
        try:
            mem = km.kalloc()
        except OutOfFrames:
            uvmdealloc(km, pagetable, a, oldsz)
            return None
        if not mappages(km, pagetable, a, PGSIZE, mem, PTE_R | PTE_U | xperm):
            km.kfree(mem)
            uvmdealloc(km, pagetable, a, oldsz)
            return None
        a += PGSIZE
    return newsz


def uvmdealloc(km: Kalloc, pagetable: int, oldsz: int, newsz: int) -> int:
    """Shrink from oldsz to newsz, freeing whole pages above newsz."""
    if newsz >= oldsz:
        return oldsz
    lo, hi = pgroundup(newsz), pgroundup(oldsz)
    if lo < hi:
        uvmunmap(km, pagetable, lo, (hi - lo) >> PGSHIFT, True)
    return newsz


def freewalk(km: Kalloc, pagetable: int, level: int = 2) -> None:
    """Free page-table pages; every leaf mapping must already be gone.

    The valid entries of each page are found with one numpy scan of its 512 words (a
    process uses a handful of them), then visited in index order, as xv6's loop does."""
    i0 = (pagetable - km.ram.base) >> 3
    table = km.ptes[i0 : i0 + 512]
    for i in np.flatnonzero(table & _V).tolist():
        pte = int(table[i])
        if pte & (PTE_R | PTE_W | PTE_X) or level == 0:
            raise AssertionError("freewalk: leaf still mapped")
        freewalk(km, pte2pa(pte), level - 1)
        table[i] = 0
    km.kfree(pagetable)


def uvmfree(km: Kalloc, pagetable: int, sz: int) -> None:
    """Free a whole user address space: its frames, then its page-table pages."""
    uvmunmap(km, pagetable, 0, pgroundup(sz) >> PGSHIFT, True)
    freewalk(km, pagetable)


def uvmclear(km: Kalloc, pagetable: int, va: int) -> None:
    """Make a page inaccessible to user code: the stack guard page."""
    p = walk(km, pagetable, va, False)
    if p is not None:
        km.ram.write64(p, km.ram.read64(p) & ~PTE_U)


def uvmcopy(km: Kalloc, old: int, new: int, sz: int, cow: bool, zero_frame: int = 0) -> bool:
    """Copy a parent's mappings below sz into a child's page table, for fork.

    With `cow`, frames are shared: writable pages lose W in both parent and child and are
    marked COW, and each frame gains a reference. Leaf page-table pages are handled as
    arrays of 512 PTEs, all of them in one step. Without `cow` every page is copied,
    except the shared zero frame. The caller must flush the TLB afterwards: the parent
    lost write permission. Returns False if memory ran out (the caller frees the child).
    """
    pairs = _leaf_pairs(km, old, new, pgroundup(sz))
    if pairs is None:
        return False
    if not pairs:
        return True
    # Each leaf page is one row of 512 PTEs in the page-indexed view of RAM.
    rows = km.ptes.reshape(-1, 512)
    src_rows = np.array([s for s, _ in pairs], dtype=np.int64)
    dst_rows = np.array([d for _, d in pairs], dtype=np.int64)
    src = rows[src_rows]
    valid = (src & PTE_V) != 0
    if not cow:
        return _copy_pages(km, rows, src_rows, dst_rows, zero_frame)
    if km.swap is not None:
        # A swapped-out page stays one slot, now held by both PTEs (swap entries are
        # copied below as they are; they lose W and gain COW like the others).
        km.swap.dup(swap_slots(src[is_swap(src)]))
    # W -> COW on every writable page, in one pass: (src & W) is 0 or W, and W * 65 is
    # W | COW (COW is bit 8, W bit 2), so the XOR clears W and sets COW exactly there.
    src ^= (src & _W) * _W_TO_COW
    rows[src_rows] = src
    # The child's copy: A and D start clear. (Invalid entries stay invalid.)
    rows[dst_rows] = src & _NOT_AD
    _incref_all(km, _frames(km, src[valid]))
    return True


def _incref_all(km: Kalloc, frames: np.ndarray) -> None:
    """One more reference per entry of frames. A process may map a frame more than once
    (the zero frame; a page-cache frame under two mappings of one file page), and
    ref[frames] += 1 adds only once per distinct frame. np.add.at is exact but 20x slower,
    so do the fast increment, then find the repeats with one scatter and one gather (each
    position that a later one overwrote is a repeat) and add those."""
    km.ref[frames] += 1
    pos = np.arange(frames.size)
    last = np.empty(km.nframes, dtype=np.int64)
    last[frames] = pos  # for repeated indices the last assignment wins
    repeats = frames[last[frames] != pos]
    if repeats.size:
        np.add.at(km.ref, repeats, 1)


def uvmshare(km: Kalloc, old: int, new: int, va: int, end: int) -> None:
    """After uvmcopy, make [va, end) shared again between parent and child: a MAP_SHARED
    region must reach the same frames, writable, in both (undo COW, or an eager copy).

    Reclaim may have run during the copy (kalloc) and turned either side's page into a
    swap entry: the child then gets whatever the parent has, the parent's frame or its
    swap entry (one slot for both, shared anonymous memory comes back through the swap
    cache), and what the child held instead (a private copy, or its own slot) is
    released."""
    for run_va, _, ptes in leaf_runs(km, old, va, end):
        for i in np.flatnonzero(ptes).tolist():
            a = run_va + (i << PGSHIFT)
            pte = int(ptes[i])
            if pte & PTE_COW:  # fork made it COW: give W back (to a swap entry too)
                pte = pte & ~PTE_COW | PTE_W
                ptes[i] = pte
            child = walk(km, new, a, False)
            if child is None:
                continue
            cpte = km.ram.read64(child)
            swapped = is_swap_pte(pte)
            if swapped and cpte == pte:
                continue  # evicted while shared: already one slot
            if pte & PTE_V and cpte & PTE_V and pte2pa(cpte) == pte2pa(pte):
                km.ram.write64(child, pte & ~(PTE_A | PTE_D))
                continue
            # The child holds something else: its own copy or slot, or nothing.
            if cpte & PTE_V:
                km.kfree(pte2pa(cpte))
            elif km.swap is not None and is_swap_pte(cpte):
                km.swap.free(np.array([swp_slot(cpte)], dtype=np.int64))
            if swapped:
                assert km.swap is not None
                km.swap.get(swp_slot(pte), 1)
                km.ram.write64(child, pte)
            elif pte & PTE_V:
                km.incref(pte2pa(pte))
                km.ram.write64(child, pte & ~(PTE_A | PTE_D))
            else:
                km.ram.write64(child, 0)


def _leaf_pairs(km: Kalloc, old: int, new: int, end: int) -> list[tuple[int, int]] | None:
    """For each leaf page-table page of `old` below end, its frame number and that of a
    new, empty leaf page at the same place in `new`. Only the valid entries of the upper
    two levels are visited, so a sparse address space costs what it maps. None if
    page-table pages ran out."""
    pairs: list[tuple[int, int]] = []
    ram = km.ram
    last = (end - 1) >> PGSHIFT if end else -1  # the last page number to copy
    new_words = ram.page_words(new)
    old_top = km.ptes[_row(km, old)]
    for i2 in np.flatnonzero(old_top & np.uint64(PTE_V)).tolist():
        if i2 << 18 > last:
            break
        old_mid = km.ptes[_row(km, pte2pa(int(old_top[i2])))]
        try:
            new_mid = km.kalloc()
        except OutOfFrames:
            return None
        new_words[i2] = pa2pte(new_mid) | PTE_V
        mid_words = ram.page_words(new_mid)
        for i1 in np.flatnonzero(old_mid & np.uint64(PTE_V)).tolist():
            if (i2 << 18 | i1 << 9) > last:
                break
            try:
                new_leaf = km.kalloc()
            except OutOfFrames:
                return None
            mid_words[i1] = pa2pte(new_leaf) | PTE_V
            pairs.append((km.frame(pte2pa(int(old_mid[i1]))), km.frame(new_leaf)))
    return pairs


def _frames(km: Kalloc, ptes: np.ndarray) -> np.ndarray:
    """The frame numbers (indices into km.ref) that an array of valid PTEs point at."""
    return (ptes >> _TEN).astype(np.int64) - (km.ram.base >> PGSHIFT)


def _row(km: Kalloc, table: int) -> slice:
    """The 512 words of a page-table page in km.ptes."""
    i = (table - km.ram.base) >> 3
    return slice(i, i + 512)


def _copy_pages(km: Kalloc, rows: np.ndarray, src_rows: np.ndarray, dst_rows: np.ndarray, zero_frame: int) -> bool:
    """The eager fork of stock xv6: a new frame and a copy for every page. Each parent PTE
    is read when its page is copied and the child's is written at once, because the
    kalloc for one page may evict others (the parent's, or the child's copies); the page
    being copied is pinned meanwhile. A swapped-out page's slot is shared, not read."""
    for s, d in zip(src_rows.tolist(), dst_rows.tolist(), strict=True):
        for i in np.flatnonzero(rows[s]).tolist():
            pte = int(rows[s, i])
            if not pte & PTE_V:
                if km.swap is not None and is_swap_pte(pte):
                    km.swap.dup(np.array([swp_slot(pte)]))
                    rows[d, i] = pte
                continue
            pa = pte2pa(pte)
            flags = pte & 0x3FF & ~(PTE_A | PTE_D)
            if pa == zero_frame:
                km.incref(pa)
                rows[d, i] = pte & ~(PTE_A | PTE_D)
                continue
            km.incref(pa)  # pinned: reclaim must not evict the page being copied
            try:
                mem = km.kalloc()
            except OutOfFrames:
                km.kfree(pa)
                return False
            km.ram.copy_page(mem, pa)
            km.kfree(pa)
            rows[d, i] = pa2pte(mem) | flags
    return True


# --- the kernel's access to user memory ----------------------------------------------


def user_page(km: Kalloc, pagetable: int, va: int, access: Access, fault: FaultFn | None) -> int | None:
    """The frame behind user page va for a kernel access, resolving a fault as the hardware
    would trap one: a copyout into a lazy or COW page faults it in exactly like a store."""
    if va < 0 or va >= MAXVA:
        return None
    write = access == Access.WRITE
    need = PTE_V | PTE_U | (PTE_W if write else PTE_R)
    # Set A and D as the walker does, so replacement and dirty tracking see it.
    bits = PTE_A | PTE_D if write else PTE_A
    words = km.ram.words
    base = km.ram.base
    for attempt in (0, 1):
        # walk(), unrolled: this runs for every read() and write() a process makes.
        pte = words[((pagetable - base) >> 3) + ((va >> 30) & 0x1FF)]
        if pte & PTE_V:
            pte = words[((((pte >> 10) << 12) - base) >> 3) + ((va >> 21) & 0x1FF)]
            if pte & PTE_V:
                i = ((((pte >> 10) << 12) - base) >> 3) + ((va >> 12) & 0x1FF)
                pte = words[i]
                if pte & need == need:
                    if pte & bits != bits:
                        words[i] = pte | bits
                    return (pte >> 10) << 12  # pte2pa
        if attempt == 0 and (fault is None or not fault(va, access)):
            return None
    return None


def copyout(km: Kalloc, pagetable: int, dstva: int, data: bytes, fault: FaultFn | None = None) -> bool:
    """Copy from the kernel to user address dstva."""
    n = len(data)
    if 0 < n <= PGSIZE - (dstva & (PGSIZE - 1)):
        # Within one page, the usual case.
        pa = user_page(km, pagetable, dstva & ~(PGSIZE - 1), Access.WRITE, fault)
        if pa is None:
            return False
        km.frame_written(pa)  # a read() into a writable and executable page
        km.ram.write(pa + (dstva & (PGSIZE - 1)), data)
        return True
    mv = memoryview(data)
    off = 0
    while off < len(mv):
        va0 = dstva & ~(PGSIZE - 1)
        pa0 = user_page(km, pagetable, va0, Access.WRITE, fault)
        if pa0 is None:
            return False
        n = min(PGSIZE - (dstva - va0), len(mv) - off)
        km.frame_written(pa0)  # a read() into a writable and executable page
        km.ram.write(pa0 + (dstva - va0), mv[off : off + n])
        off += n
        dstva = va0 + PGSIZE
    return True


def copyin(km: Kalloc, pagetable: int, srcva: int, n: int, fault: FaultFn | None = None) -> bytes | None:
    """Copy n bytes from user address srcva to the kernel."""
    if 0 < n <= PGSIZE - (srcva & (PGSIZE - 1)):
        # Within one page, the usual case: no buffer to grow.
        pa = user_page(km, pagetable, srcva & ~(PGSIZE - 1), Access.READ, fault)
        return None if pa is None else km.ram.read(pa + (srcva & (PGSIZE - 1)), n)
    out = bytearray()
    while n > 0:
        va0 = srcva & ~(PGSIZE - 1)
        pa0 = user_page(km, pagetable, va0, Access.READ, fault)
        if pa0 is None:
            return None
        m = min(PGSIZE - (srcva - va0), n)
        out += km.ram.read(pa0 + (srcva - va0), m)
        n -= m
        srcva = va0 + PGSIZE
    return bytes(out)


def copyinstr(km: Kalloc, pagetable: int, srcva: int, maxlen: int, fault: FaultFn | None = None) -> bytes | None:
    """Copy a NUL-terminated string of at most maxlen bytes (NUL included); None if too long."""
    out = bytearray()
    while len(out) < maxlen:
        va0 = srcva & ~(PGSIZE - 1)
        pa0 = user_page(km, pagetable, va0, Access.READ, fault)
        if pa0 is None:
            return None
        m = min(PGSIZE - (srcva - va0), maxlen - len(out))
        chunk = km.ram.read(pa0 + (srcva - va0), m)
        nul = chunk.find(b"\0")
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
        srcva = va0 + PGSIZE
    return None
