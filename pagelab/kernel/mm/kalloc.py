"""The physical frame allocator, with a reference count per frame (for COW and the zero page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import PGSHIFT, PGSIZE

if TYPE_CHECKING:
    from pagelab.kernel.mm.swap import SwapArea

RECLAIM_BATCH = 32  # frames reclaimed at once when the free list runs dry


def _no_code(pa: int) -> None:
    return None


def _no_release(frame: int, left: int) -> None:
    return None


class Unreferenced(LookupError):
    """drop_refs met an item with fewer references than it was asked to drop."""


def drop_refs(ref: np.ndarray, free: list[int], items: np.ndarray) -> int:
    """Drop one reference per entry of `items` (indexes into `ref`; repeats allowed) all at
    once, and push those that reach 0 on the free list; returns how many did. Raises
    Unreferenced(item), changing nothing, if an item has too few references. Used for
    frames here and for swap slots (swap.py)."""
    uniq, counts = np.unique(items, return_counts=True)
    have = ref[uniq]
    if (have < counts).any():
        raise Unreferenced(int(uniq[np.argmax(have < counts)]))
    have = have - counts.astype(ref.dtype)
    ref[uniq] = have
    freed = uniq[have == 0].tolist()
    free.extend(freed)
    return len(freed)


class OutOfFrames(Exception):
    """No free frame: the caller decides whether that fails a syscall or kills a process."""


class Kalloc:
    """Every RAM frame is allocatable: the Python kernel keeps its own data off guest RAM.

    A frame is free exactly when its count is 0. Page-table pages come from here too.
    """

    def __init__(self, ram: PhysMem) -> None:
        self.ram = ram
        self.nframes = ram.size // PGSIZE
        self.ref = np.zeros(self.nframes, dtype=np.uint32)
        # All of RAM as 64-bit words, so page-table pages can be handled as arrays.
        self.ptes = np.frombuffer(ram.buf, dtype=np.uint64)
        # A stack of free frame numbers; lowest addresses are handed out first.
        self._free: list[int] = list(range(self.nframes - 1, -1, -1))
        self.free_min = self.nframes
        self.peak_used = 0
        # Called with a number of frames wanted when none is free, before giving up: the
        # page cache sets it to its shrink(), which frees frames only it holds.
        self.reclaim: Callable[[int], int] | None = None
        # The one place for the rule "a kernel write into a frame that may be executed
        # invalidates its translated code": every frame handed out here is about to be
        # written (zeroed, then filled: fork and COW copies, exec, demand paging, swap-in),
        # so kalloc calls this first. The Machine sets it to the hart's code_written, which
        # costs a byte lookup unless the frame really held translated code.
        self.frame_written: Callable[[int], None] = _no_code
        # The swap area, if any (mm/swap.py): unmapping and fork free and share the slots
        # that swapped-out pages' PTEs hold, as they do frames.
        self.swap: SwapArea | None = None
        # Frames a replacement policy holds as resident, one byte each (mm/vmscan.py keeps
        # it). When the count of such a frame drops to 1 or 0, `released(frame, count)` is
        # called at once: its last mapping may be gone, and the policy must hear `freed`
        # before the frame can be handed out again. A byte lookup on every kfree.
        self.watched = bytearray(self.nframes)
        self._watched = np.frombuffer(self.watched, dtype=np.uint8)
        self.released: Callable[[int, int], None] = _no_release

    def frame(self, pa: int) -> int:
        """The index of the frame holding pa."""
        return (pa - self.ram.base) >> PGSHIFT

    def pa(self, frame: int) -> int:
        return self.ram.base + (frame << PGSHIFT)

    @property
    def nfree(self) -> int:
        return len(self._free)

    def kalloc(self) -> int:
        """A zeroed frame with count 1. Raises OutOfFrames."""
        if not self._free and (self.reclaim is None or self.reclaim(RECLAIM_BATCH) == 0):
            raise OutOfFrames()
        f = self._free.pop()
        self.ref[f] = 1
        used = self.nframes - len(self._free)
        if used > self.peak_used:
            self.peak_used = used
        if len(self._free) < self.free_min:
            self.free_min = len(self._free)
        pa = self.pa(f)
        self.frame_written(pa)
        self.ram.zero_page(pa)
        return pa

    def incref(self, pa: int) -> None:
        f = self.frame(pa)
        if self.ref[f] == 0:
            raise AssertionError(f"incref of free frame {pa:#x}")
        self.ref[f] += 1

    def kfree(self, pa: int) -> bool:
        """Drop one reference; the frame is freed when none remain. Returns True if freed."""
        f = self.frame(pa)
        n = int(self.ref[f])
        if n == 0:
            raise AssertionError(f"kfree of free frame {pa:#x}")
        self.ref[f] = n - 1
        if n <= 2 and self.watched[f]:
            self.released(f, n - 1)
        if n == 1:
            self._free.append(f)
            return True
        return False

    def kfree_frames(self, frames: np.ndarray) -> int:
        """Drop one reference per entry of `frames` (frame numbers; repeats allowed), all
        at once. Returns how many frames became free."""
        watched = frames[self._watched[frames] != 0]
        try:
            freed = drop_refs(self.ref, self._free, frames)
        except Unreferenced as e:
            raise AssertionError(f"kfree of free frame {self.pa(e.args[0]):#x}") from None
        if watched.size:
            for f in np.unique(watched).tolist():
                left = int(self.ref[f])
                if left <= 1:
                    self.released(f, left)
        return freed

    def refcount(self, pa: int) -> int:
        return int(self.ref[self.frame(pa)])

    def free_frames(self) -> set[int]:
        return set(self._free)
