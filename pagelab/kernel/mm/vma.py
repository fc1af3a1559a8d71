"""Virtual memory areas: a process's address space as a sorted set of regions.

Linux keeps one `vm_area_struct` per region of a process (text, data, heap, each mmap...)
and the fault handler starts by finding the region of the faulting address: the region,
not the page table, says what the address *should* hold. A page-table entry is only a
cache of that answer, filled at the first touch.

Regions here are page-aligned [start, end), never overlap, and are kept sorted by start.
This module is pure bookkeeping: it never touches page tables or frames. The owner of a
VmaList passes `dup` and `drop` callbacks, which take and release the file reference
each region holds (a split makes two regions out of one, so one more reference); they
need only act on regions with a file, and the list may skip calling them for the rest.

The set is stored as Linux's maple tree is used, with a simpler shape: a list of blocks
of at most 2 * BLOCK regions each, found by bisecting the blocks' first addresses, then
the addresses inside one block. Finding, inserting, splitting and removing a region cost
O(log n + BLOCK), and a process may hold up to MAX_MAP_COUNT regions (Linux's
vm.max_map_count). fork shares the blocks copy-on-write: the child's list points at the
parent's blocks, and whichever side changes a block first gets its own copy of that
block alone, so a fork costs one pointer per block, not a record per region.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pagelab.hw.sv39 import PGSIZE

# Protections and flags, with the values of the mmap system call (xv6 mmap lab, Linux).
PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
MAP_SHARED = 1
MAP_PRIVATE = 2
MAP_ANONYMOUS = 0x20
# The rest of Linux's mmap flags (asm-generic/mman*.h), which mm/mmap.py understands.
MAP_SHARED_VALIDATE = 0x03
MAP_FIXED = 0x10
MAP_GROWSDOWN = 0x100
MAP_DENYWRITE = 0x800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_FIXED_NOREPLACE = 0x100000

KINDS = ("text", "rodata", "data", "bss", "heap", "stack", "mmap")

MAX_MAP_COUNT = 65530  # Linux's default vm.max_map_count
BLOCK = 64  # a block splits in two when it holds more than 2 * BLOCK regions


class TooManyRegions(Exception):
    """The change would give the process more regions than its limit (Linux: ENOMEM)."""


@dataclass(frozen=True)
class Piece:
    """File bytes [offset, offset + hi - lo) that appear at virtual addresses [lo, hi)."""

    lo: int
    hi: int
    offset: int


@dataclass(eq=False, slots=True)
class Vma:
    """One region. `file` is the AddressSpace behind it (None: anonymous memory) and
    `offset` the file offset of `start`.

    `pieces`, when not empty, makes every page of the region private and assembled:
    its bytes are the parts of these file ranges that fall in the page, the rest zero.
    exec uses it where a page holds the end of one ELF segment and the start of the
    next, or the last file bytes of a segment followed by its BSS.

    A region inside a VmaList belongs to it: change it only through the list's methods
    (after a fork the object may be shared with the child's list).
    """

    start: int
    end: int
    prot: int
    flags: int
    kind: str
    file: Any = None
    offset: int = 0
    pieces: tuple[Piece, ...] = ()
    label: str = ""  # what the file is, for people: the program's name, "inode 7"
    maywrite: bool = True  # may mprotect add PROT_WRITE (no: a shared map of a read-only fd)

    @property
    def shared(self) -> bool:
        return bool(self.flags & MAP_SHARED)

    def file_offset(self, va: int) -> int:
        return self.offset + (va - self.start)

    def pages(self) -> int:
        return (self.end - self.start) // PGSIZE


def mapping(v: Vma) -> dict[str, object]:
    """A region as the stats report it (/proc/PID/maps in spirit)."""
    prot = "".join(ch if v.prot & bit else "-" for bit, ch in ((PROT_READ, "r"), (PROT_WRITE, "w"), (PROT_EXEC, "x")))
    return {
        "start": hex(v.start),
        "end": hex(v.end),
        "prot": prot,
        "flags": ("shared" if v.shared else "private") + ("|anonymous" if v.flags & MAP_ANONYMOUS else ""),
        "file": v.label if v.file is not None else "",
        "kind": v.kind,
    }


def _nop(v: Vma) -> None:
    return None


class _Block:
    """Up to 2 * BLOCK consecutive regions and their starts (for bisect). `users` counts
    the lists that point at it; only a block with one user may change. `gap` (the largest
    hole between two of its regions), `nshared` (its MAP_SHARED regions) and `nfiles` (its
    file regions) are worked out when first asked for and forgotten at every change."""

    __slots__ = ("gap", "nfiles", "nshared", "starts", "users", "vmas")

    def __init__(self, vmas: list[Vma]) -> None:
        self.vmas = vmas
        self.starts = [v.start for v in vmas]
        self.users = 1
        self.gap: int | None = None
        self.nshared: int | None = None
        self.nfiles: int | None = None

    def max_gap(self) -> int:
        if self.gap is None:
            vs = self.vmas
            self.gap = max((vs[i].start - vs[i - 1].end for i in range(1, len(vs))), default=0)
        return self.gap

    def file_count(self) -> int:
        if self.nfiles is None:
            self.nfiles = sum(1 for v in self.vmas if v.file is not None)
        return self.nfiles

    def shared_count(self) -> int:
        if self.nshared is None:
            self.nshared = sum(1 for v in self.vmas if v.flags & MAP_SHARED)
        return self.nshared


class VmaList:
    """A process's regions (Linux's mm_struct), sorted by start address.

    The heap is tracked by the list (`heap`): while it is empty (before the first sbrk,
    or after munmap removed all of it) it holds no addresses and stays out of the
    sorted set, but it keeps its place for set_end to grow it again."""

    def __init__(
        self,
        dup: Callable[[Vma], None] = _nop,
        drop: Callable[[Vma], None] = _nop,
        limit: int = MAX_MAP_COUNT,
        block: int = BLOCK,
    ) -> None:
        self._blocks: list[_Block] = []
        self._firsts: list[int] = []  # the first start of each block
        self._n = 0  # regions in the blocks
        self._heap: Vma | None = None
        self.dup = dup  # a new region now shares v's file: take a reference
        self.drop = drop  # region v is gone: release its reference
        self.limit = limit  # the most regions the set may hold (vm.max_map_count)
        self.block = block  # a block splits when it holds more than 2 * block regions
        # find_free's hint, as Linux's free_area_cache was: below `top`, no free gap above
        # _hint_hi is `_hint_len` bytes or longer. Searches with length >= _hint_len start
        # at _hint_hi instead of the top; a gap that grows above it moves it up.
        self._hint: tuple[int, int, int] | None = None  # (top, _hint_hi, _hint_len)

    # --- reading ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Vma]:
        """Every region in address order, an empty heap at its place (a snapshot: the
        caller may change the list while it iterates)."""
        return iter(list(self._ordered()))

    def head(self, n: int) -> list[Vma]:
        """The first n regions of __iter__'s order, without going through the others."""
        return list(itertools.islice(self._ordered(), n))

    def _ordered(self) -> Iterator[Vma]:
        h = self._heap
        pending = h if h is not None and h.start == h.end else None
        for b in self._blocks:
            for v in b.vmas:
                if pending is not None and pending.start <= v.start:
                    yield pending
                    pending = None
                yield v
        if pending is not None:
            yield pending

    def __len__(self) -> int:
        h = self._heap
        return self._n + (1 if h is not None and h.start == h.end else 0)

    @property
    def count(self) -> int:
        """Regions that hold addresses: what the limit counts (Linux's map_count)."""
        return self._n

    @property
    def heap(self) -> Vma | None:
        return self._heap

    def find(self, va: int) -> Vma | None:
        """The region holding va, or None."""
        firsts = self._firsts
        b = bisect.bisect_right(firsts, va) - 1
        if b < 0:
            return None
        blk = self._blocks[b]
        v = blk.vmas[bisect.bisect_right(blk.starts, va) - 1]
        return v if va < v.end else None

    def overlaps(self, lo: int, hi: int) -> bool:
        """Does any region intersect [lo, hi)?"""
        if lo >= hi:
            return False
        v = self.find(lo)
        if v is not None:
            return True
        nxt = self._at(self._first_at_or_after(lo))
        return nxt is not None and nxt.start < hi

    def between(self, lo: int, hi: int) -> list[Vma]:
        """The regions that intersect [lo, hi), in address order."""
        out: list[Vma] = []
        if lo >= hi or not self._blocks:
            return out
        b, i = self._last_at_or_before(lo)
        if b < 0:
            b, i = 0, 0
        blocks = self._blocks
        while b < len(blocks):
            vs = blocks[b].vmas
            while i < len(vs):
                v = vs[i]
                if v.start >= hi:
                    return out
                if v.end > lo:
                    out.append(v)
                i += 1
            b, i = b + 1, 0
        return out

    def prev_of(self, va: int) -> Vma | None:
        """The last region that starts below va."""
        b, i = self._last_at_or_before(va - 1)
        return None if b < 0 else self._blocks[b].vmas[i]

    def next_of(self, va: int) -> Vma | None:
        """The first region that starts at or above va."""
        return self._at(self._first_at_or_after(va))

    def next_after(self, v: Vma) -> Vma | None:
        return self.next_of(v.start + 1) if v.start < v.end else self.next_of(v.start)

    def last(self) -> Vma | None:
        return self._blocks[-1].vmas[-1] if self._blocks else None

    def shared_regions(self) -> list[Vma]:
        """The MAP_SHARED regions, skipping whole blocks that have none (fork looks at
        these alone)."""
        return [v for b in self._blocks if b.shared_count() for v in b.vmas if v.flags & MAP_SHARED]

    def find_free(self, length: int, top: int, floor: int) -> int | None:
        """The highest start address of a free gap of `length` bytes wholly below `top`
        and at or above `floor`, for the kernel to place an mmap (top-down, as Linux).
        Blocks whose own holes are all too small are passed over whole, and the search
        starts below the gaps an earlier search found too small (the hint)."""
        hint = self._hint
        hi = hint[1] if hint is not None and hint[0] == top and length >= hint[2] else top
        found = self._search_down(length, hi, floor)
        if found is not None:
            self._hint = (top, found + length, length)  # every gap above is shorter
        return found

    def _search_down(self, length: int, hi: int, floor: int) -> int | None:
        blocks = self._blocks
        b, i = self._last_at_or_before(hi - 1)
        while b >= 0:
            vs = blocks[b].vmas
            if i == len(vs) - 1 and vs[i].end <= hi - length:
                break  # the gap above this block is big enough
            if i == len(vs) - 1 and blocks[b].max_gap() < length:
                hi = min(hi, vs[0].start)  # no hole inside this block is big enough
            else:
                while i >= 0:
                    v = vs[i]
                    if v.end <= hi - length:
                        return hi - length if hi - length >= floor else None
                    hi = min(hi, v.start)
                    i -= 1
            if hi - length < floor:
                return None
            b -= 1
            i = len(blocks[b].vmas) - 1 if b >= 0 else -1
        start = hi - length
        return start if start >= floor else None

    def _freed(self, lo: int, hi: int) -> None:
        """Addresses [lo, hi) became free: the gap around them grew, so the hint must now
        lie at or above that gap's top."""
        if self._hint is None:
            return
        top, hint_hi, n = self._hint
        nxt = self.next_of(hi)
        gap_top = min(nxt.start, top) if nxt is not None else top
        if gap_top > hint_hi:
            self._hint = (top, gap_top, n) if gap_top < top else None

    # --- changing -----------------------------------------------------------------------

    def insert(self, v: Vma) -> Vma:
        """Add a region over free addresses, merged with compatible neighbours.
        Returns the region that now holds v's addresses. An empty region is only allowed
        for the heap (before its first sbrk): it is kept aside, to be grown with set_end.
        Raises ValueError for a bad or overlapping region, TooManyRegions at the limit."""
        if v.start % PGSIZE or v.end % PGSIZE or v.start > v.end:
            raise ValueError(f"bad region [{v.start:#x}, {v.end:#x})")
        if v.start == v.end:
            if v.kind != "heap" or self.find(v.start) is not None:
                raise ValueError(f"empty region at {v.start:#x}")
            self._heap = v
            return v
        if self.overlaps(v.start, v.end):
            raise ValueError(f"region [{v.start:#x}, {v.end:#x}) overlaps another")
        prev = self.prev_of(v.start)
        nxt = self.next_of(v.start)
        into_prev = prev is not None and mergeable(prev, v)
        into_next = nxt is not None and mergeable(v, nxt)
        if not into_prev and not into_next and self._n >= self.limit:
            raise TooManyRegions(f"more than {self.limit} regions")
        if v.kind == "heap":
            self._heap = v
        if into_prev:
            assert prev is not None
            prev = self._owned(prev)
            self._set_end(prev, v.end)
            self._forget(v, prev)
            self.drop(v)
            self._merge_next(prev)
            return prev
        self._insert(v)
        self._merge_next(v)
        return v

    def set_end(self, v: Vma, end: int) -> bool:
        """Move region v's end: the heap's break (an empty heap keeps its place, with
        end == start). False if it would meet the next region."""
        if end < v.start or end % PGSIZE:
            return False
        nxt = self.next_of(v.end if v.start < v.end else v.start)
        if nxt is not None and end > nxt.start:
            return False
        if v.start == v.end:  # an empty heap: not in the set yet
            if end == v.start:
                return True
            if self.find(v.start) is not None:
                return False
            if self._n >= self.limit:
                return False
            if self._heap is not v:
                raise ValueError("region not in this list")
            v.end = end
            self._insert(v)
            return True
        v = self._owned(v)
        if end == v.start:  # the heap becomes empty: it leaves the set and keeps its place
            if v is not self._heap:
                return False
            old = v.end
            self._remove(v)
            v.end = end
            self._freed(end, old)
            return True
        old = v.end
        self._set_end(v, end)
        if end < old:
            self._freed(end, old)
        return True

    def unmap(self, lo: int, hi: int) -> list[Vma]:
        """Remove [lo, hi) from every region it touches, splitting as needed. Returns the
        removed parts, each holding a file reference the caller must drop after it has
        unmapped their pages. Raises TooManyRegions (nothing changed) if a hole in the
        middle of a region would pass the limit."""
        removed: list[Vma] = []
        if lo >= hi:
            return removed
        inner = self.find(lo)
        if inner is not None and inner.start < lo and hi < inner.end and self._n >= self.limit:
            raise TooManyRegions(f"more than {self.limit} regions")
        self.split(lo)
        self.split(hi)
        for v in self.between(lo, hi):
            v = self._owned(v)
            if v is self._heap:  # the heap keeps its place, empty
                removed.append(self._clip(v, v.start, v.end))
                self._remove(v)
                v.end = v.start
                continue
            self._remove(v)
            removed.append(v)
        if removed:
            self._freed(lo, hi)
        return removed

    def change(self, lo: int, hi: int, **changes: Any) -> None:
        """Give every address of [lo, hi) that a region holds new attributes (mprotect):
        the regions at both ends are split, each region inside is updated and merged
        with its neighbours where they now match. Raises TooManyRegions (nothing
        changed) if the splits could pass the limit."""
        if lo >= hi:
            return
        extra = 0
        for a in (lo, hi):
            v = self.find(a)
            if v is not None and v.start < a:
                extra += 1
        if extra and self._n + extra > self.limit:
            raise TooManyRegions(f"more than {self.limit} regions")
        self.split(lo)
        self.split(hi)
        addr = lo
        while addr < hi:
            v = self.find(addr)
            if v is None:
                nxt = self.next_of(addr)
                if nxt is None:
                    return
                addr = nxt.start
                continue
            addr = self.update(v, **changes).end  # (a merged region already had them)

    def split(self, addr: int) -> Vma | None:
        """Make addr a region boundary: the region around addr becomes two (the right part
        is new, with its own file reference). Returns the right part, or None if addr
        was no region's inside. Callers check the limit first."""
        v = self.find(addr)
        if v is None or v.start == addr:
            return None
        v = self._owned(v)
        right = self._clip(v, addr, v.end)
        self._set_end(v, addr)
        self._insert(right)
        return right

    def update(self, v: Vma, **changes: Any) -> Vma:
        """Change attributes of region v (prot, flags, kind...), then merge it with its
        neighbours if they now match. Returns the region that holds v's addresses."""
        v = self._owned(v)
        if "start" in changes or "end" in changes:
            raise ValueError("update cannot move a region; use unmap and insert")
        for k, val in changes.items():
            setattr(v, k, val)
        self._touch(v)
        prev = self.prev_of(v.start)
        if prev is not None and mergeable(prev, v):
            prev = self._owned(prev)
            self._remove(v)
            self._set_end(prev, v.end)
            self._forget(v, prev)
            self.drop(v)
            v = prev
        self._merge_next(v)
        return v

    def copy(self) -> VmaList:
        """The regions for a forked child: the same blocks, shared copy-on-write. Each
        block holds one file reference per file region for all the lists that use it."""
        c = VmaList(self.dup, self.drop, self.limit, self.block)
        for b in self._blocks:
            b.users += 1
        c._blocks = list(self._blocks)
        c._firsts = list(self._firsts)
        c._n = self._n
        c._hint = self._hint
        h = self._heap
        if h is not None and h.start == h.end:
            h = replace(h)  # not in any block: each list has its own
        c._heap = h
        return c

    def clear(self) -> list[Vma]:
        """Remove every region (exit, exec); the caller unmaps and drops them. Regions of
        blocks still used by another list are handed out with a new file reference."""
        out: list[Vma] = []
        for b in self._blocks:
            if b.users > 1:
                b.users -= 1
                if b.file_count():
                    for v in b.vmas:
                        if v.file is not None:
                            self.dup(v)
            out.extend(b.vmas)
        h = self._heap
        if h is not None and h.start == h.end:
            out.append(h)
        self._blocks, self._firsts, self._n, self._heap, self._hint = [], [], 0, None, None
        return out

    # --- internals ------------------------------------------------------------------

    def _at(self, pos: tuple[int, int]) -> Vma | None:
        b, i = pos
        return None if b < 0 or b >= len(self._blocks) else self._blocks[b].vmas[i]

    def _last_at_or_before(self, va: int) -> tuple[int, int]:
        """(block, index) of the last region with start <= va, or (-1, -1)."""
        b = bisect.bisect_right(self._firsts, va) - 1
        if b < 0:
            return -1, -1
        return b, bisect.bisect_right(self._blocks[b].starts, va) - 1

    def _first_at_or_after(self, va: int) -> tuple[int, int]:
        """(block, index) of the first region with start >= va, or (len(blocks), 0)."""
        b, i = self._last_at_or_before(va - 1)
        if b < 0:
            return (0, 0) if self._blocks else (len(self._blocks), 0)
        i += 1
        if i == len(self._blocks[b].vmas):
            return b + 1, 0
        return b, i

    def _pos(self, v: Vma) -> tuple[int, int]:
        """Where region v sits. Raises ValueError if it is not in this list."""
        b, i = self._last_at_or_before(v.start)
        if b < 0 or self._blocks[b].vmas[i] is not v:
            raise ValueError("region not in this list")
        return b, i

    def _owned(self, v: Vma) -> Vma:
        """v's block made this list's own (copied if shared), and v's object in it: the
        same object, or its copy. Also accepts a stale object from before the copy."""
        b, i = self._last_at_or_before(v.start)
        if b < 0:
            raise ValueError("region not in this list")
        blk = self._blocks[b]
        w = blk.vmas[i]
        if w.start != v.start:
            raise ValueError("region not in this list")
        if blk.users > 1:
            blk.users -= 1
            vs = [replace(x) for x in blk.vmas]
            for x in vs:
                if x.file is not None:
                    self.dup(x)
            if self._heap is not None and self._heap in blk.vmas:  # (identity: eq=False)
                self._heap = vs[blk.vmas.index(self._heap)]
            blk = self._blocks[b] = _Block(vs)
            w = vs[i]
        blk.gap = blk.nshared = blk.nfiles = None
        return w

    def _touch(self, v: Vma) -> None:
        b, _ = self._pos(v)
        blk = self._blocks[b]
        blk.gap = blk.nshared = blk.nfiles = None

    def _insert(self, v: Vma) -> None:
        """Put non-empty region v at its place (the caller checked it is free)."""
        blocks = self._blocks
        self._n += 1
        if not blocks:
            blocks.append(_Block([v]))
            self._firsts.append(v.start)
            return
        b = max(bisect.bisect_right(self._firsts, v.start) - 1, 0)
        blk = blocks[b]
        if blk.users > 1:
            self._owned(blk.vmas[0])
            blk = blocks[b]
        i = bisect.bisect_right(blk.starts, v.start)
        blk.vmas.insert(i, v)
        blk.starts.insert(i, v.start)
        blk.gap = blk.nshared = blk.nfiles = None
        if i == 0:
            self._firsts[b] = v.start
        half = self.block
        if len(blk.vmas) > 2 * half:  # split in two halves
            upper = _Block(blk.vmas[half:])
            del blk.vmas[half:], blk.starts[half:]
            blocks.insert(b + 1, upper)
            self._firsts.insert(b + 1, upper.starts[0])

    def _remove(self, v: Vma) -> None:
        """Take region v (in an owned block) out of the set; its reference goes with it."""
        b, i = self._pos(v)
        blk = self._blocks[b]
        del blk.vmas[i], blk.starts[i]
        blk.gap = blk.nshared = blk.nfiles = None
        self._n -= 1
        if not blk.vmas:
            del self._blocks[b], self._firsts[b]
        elif i == 0:
            self._firsts[b] = blk.starts[0]

    def _set_end(self, v: Vma, end: int) -> None:
        v.end = end  # (an owned block's region: its start and order do not change)
        b, _ = self._pos(v)
        self._blocks[b].gap = None

    def _forget(self, gone: Vma, into: Vma) -> None:
        if self._heap is gone:
            self._heap = into

    def _clip(self, v: Vma, lo: int, hi: int) -> Vma:
        """A new region for v's addresses [lo, hi), with its own file reference."""
        nv = replace(v, start=lo, end=hi, offset=v.file_offset(lo))
        self.dup(nv)
        return nv

    def _merge_next(self, v: Vma) -> None:
        """Merge the regions after v into v while they continue each other."""
        while True:
            nxt = self.next_of(v.start + 1)
            if nxt is None or not mergeable(v, nxt):
                return
            nxt = self._owned(nxt)
            v = self._owned(v)
            self._remove(nxt)
            self._set_end(v, nxt.end)
            self._forget(nxt, v)
            self.drop(nxt)


def mergeable(a: Vma, b: Vma) -> bool:
    """Adjacent regions that a fault would treat identically (Linux's vma_merge test)."""
    return (
        a.end == b.start
        and a.start < a.end
        and b.start < b.end
        and a.prot == b.prot
        and a.flags == b.flags
        and a.kind == b.kind
        and a.maywrite == b.maywrite
        and a.file is b.file
        and not a.pieces
        and not b.pieces
        and (a.file is None or b.offset == a.file_offset(b.start))
    )
