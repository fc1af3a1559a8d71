"""Virtual memory areas: a process's address space as a sorted list of regions.

Linux keeps one `vm_area_struct` per region of a process (text, data, heap, each mmap...)
and the fault handler starts by finding the region of the faulting address: the region,
not the page table, says what the address *should* hold. A page-table entry is only a
cache of that answer, filled at the first touch.

Regions here are page-aligned [start, end), never overlap, and are kept sorted by start.
This module is pure bookkeeping: it never touches page tables or frames. The owner of a
VmaList passes `dup` and `drop` callbacks, which take and release the file reference
each region holds (a split makes two regions out of one, so one more reference).
"""

from __future__ import annotations

import bisect
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

KINDS = ("text", "rodata", "data", "bss", "heap", "stack", "mmap")


@dataclass(frozen=True)
class Piece:
    """File bytes [offset, offset + hi - lo) that appear at virtual addresses [lo, hi)."""

    lo: int
    hi: int
    offset: int


@dataclass(eq=False)
class Vma:
    """One region. `file` is the AddressSpace behind it (None: anonymous memory) and
    `offset` the file offset of `start`.

    `pieces`, when not empty, makes every page of the region private and assembled:
    its bytes are the parts of these file ranges that fall in the page, the rest zero.
    exec uses it where a page holds the end of one ELF segment and the start of the
    next, or the last file bytes of a segment followed by its BSS.
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


class VmaList:
    """A process's regions (Linux's mm_struct), sorted by start address."""

    def __init__(self, dup: Callable[[Vma], None] = _nop, drop: Callable[[Vma], None] = _nop) -> None:
        self._vmas: list[Vma] = []
        self._starts: list[int] = []
        self.dup = dup  # a new region now shares v's file: take a reference
        self.drop = drop  # region v is gone: release its reference

    def __iter__(self) -> Iterator[Vma]:
        return iter(list(self._vmas))

    def __len__(self) -> int:
        return len(self._vmas)

    def find(self, va: int) -> Vma | None:
        """The region holding va, or None."""
        i = bisect.bisect_right(self._starts, va) - 1
        if i >= 0:
            v = self._vmas[i]
            if va < v.end:
                return v
        return None

    def overlaps(self, lo: int, hi: int) -> bool:
        """Does any region intersect [lo, hi)?"""
        i = bisect.bisect_right(self._starts, lo) - 1
        if i >= 0 and self._vmas[i].end > lo:
            return True
        return i + 1 < len(self._vmas) and self._vmas[i + 1].start < hi

    def next_after(self, v: Vma) -> Vma | None:
        i = self._index(v) + 1
        return self._vmas[i] if i < len(self._vmas) else None

    def insert(self, v: Vma) -> Vma:
        """Add a region over free addresses, merged with compatible neighbours.
        Returns the region that now holds v's addresses. An empty region (the heap
        before any sbrk) is kept as it is, to be grown with set_end."""
        if v.start % PGSIZE or v.end % PGSIZE or v.start > v.end:
            raise ValueError(f"bad region [{v.start:#x}, {v.end:#x})")
        if self.overlaps(v.start, v.end) or self.find(v.start) is not None:
            raise ValueError(f"region [{v.start:#x}, {v.end:#x}) overlaps another")
        i = bisect.bisect_right(self._starts, v.start)
        self._vmas.insert(i, v)
        self._starts.insert(i, v.start)
        if v.start == v.end:
            return v
        if i + 1 < len(self._vmas):
            self._merge(i)
        if i > 0:
            self._merge(i - 1)
        got = self.find(v.start)
        assert got is not None
        return got

    def set_end(self, v: Vma, end: int) -> bool:
        """Move v's end (the heap's break; an empty heap keeps its place with end ==
        start). False if it would meet the next region."""
        if end < v.start or end % PGSIZE:
            return False
        nxt = self.next_after(v)
        if nxt is not None and end > nxt.start:
            return False
        v.end = end
        return True

    def unmap(self, lo: int, hi: int) -> list[Vma]:
        """Remove [lo, hi) from every region it touches, splitting as needed. Returns the
        removed parts, each holding a file reference the caller must drop after it has
        unmapped their pages."""
        removed: list[Vma] = []
        if lo >= hi:
            return removed
        i = max(bisect.bisect_right(self._starts, lo) - 1, 0)
        while i < len(self._vmas) and self._vmas[i].start < hi:
            v = self._vmas[i]
            if v.end <= lo:
                i += 1
                continue
            if lo <= v.start and v.end <= hi:  # the whole region goes
                del self._vmas[i], self._starts[i]
                removed.append(v)
                continue
            cut_lo, cut_hi = max(lo, v.start), min(hi, v.end)
            removed.append(self._clip(v, cut_lo, cut_hi))
            if v.start < cut_lo:  # a left part stays: v itself, shortened
                if v.end > cut_hi:  # and a right part too (a hole in the middle)
                    right = self._clip(v, cut_hi, v.end)
                    self._vmas.insert(i + 1, right)
                    self._starts.insert(i + 1, right.start)
                v.end = cut_lo
            else:  # only a right part stays: v itself, starting later
                v.offset = v.file_offset(cut_hi)
                v.start = self._starts[i] = cut_hi
            i += 1
        return removed

    def copy(self) -> VmaList:
        """The regions for a forked child: same addresses, each file referenced again."""
        c = VmaList(self.dup, self.drop)
        for v in self._vmas:
            nv = replace(v)
            self.dup(nv)
            c._vmas.append(nv)
            c._starts.append(nv.start)
        return c

    def clear(self) -> list[Vma]:
        """Remove every region (exit, exec); the caller unmaps and drops them."""
        out, self._vmas, self._starts = self._vmas, [], []
        return out

    def find_free(self, length: int, top: int, floor: int) -> int | None:
        """The highest start address of a free gap of `length` bytes wholly below `top`
        and at or above `floor`, for the kernel to place an mmap (top-down, as Linux)."""
        hi = top
        for v in reversed(self._vmas):
            if v.start >= hi:
                continue
            if v.end <= hi - length:
                break  # the gap [v.end, hi) is big enough
            hi = min(hi, v.start)
        start = hi - length
        return start if start >= floor else None

    # --- internals ------------------------------------------------------------------

    def _index(self, v: Vma) -> int:
        i = bisect.bisect_left(self._starts, v.start)
        if i >= len(self._vmas) or self._vmas[i] is not v:
            raise ValueError("region not in this list")
        return i

    def _clip(self, v: Vma, lo: int, hi: int) -> Vma:
        """A new region for v's addresses [lo, hi), with its own file reference."""
        nv = replace(v, start=lo, end=hi, offset=v.file_offset(lo))
        self.dup(nv)
        return nv

    def _merge(self, i: int) -> bool:
        """Merge region i+1 into region i if they continue each other."""
        a, b = self._vmas[i], self._vmas[i + 1]
        if not mergeable(a, b):
            return False
        a.end = b.end
        del self._vmas[i + 1], self._starts[i + 1]
        self.drop(b)
        return True


def mergeable(a: Vma, b: Vma) -> bool:
    """Adjacent regions that a fault would treat identically (Linux's vma_merge test)."""
    return (
        a.end == b.start
        and a.prot == b.prot
        and a.flags == b.flags
        and a.kind == b.kind
        and a.file is b.file
        and not a.pieces
        and not b.pieces
        and (a.file is None or b.offset == a.file_offset(b.start))
    )
