"""The swap area: page-sized slots in a host file, each with a reference count.

The file is an anonymous temporary file (created already unlinked), so it disappears when
the machine closes or the host process dies, whatever way it ends. A slot's count is the
number of PTEs that hold it: a page swapped out while shared by a parent and child after
fork, or shared by fork after it was swapped out, is still one slot.

A swapped-out page's PTE (Linux: a swap entry, swp_entry_t) keeps V clear, so any access
faults, and records the slot in the bits where a valid PTE keeps its PPN:

    63          54 53                     10  9    8    7 6  5  4  3  2  1  0
    [  reserved  ][       swap slot       ][SWP][COW][0 0][0][U][X][W][R][V=0]

SWP (bit 9, the second RSW bit) says "this is a swap entry"; R, W, X, U and COW are the
page's permissions before it left, restored when it comes back. A and D are dropped: the
page is clean and unused when it returns.

The swap cache (Linux: mm/swap_state.c) keeps one page of shared anonymous memory
(MAP_SHARED|MAP_ANONYMOUS, shared by fork) one page: when one of its mappers swaps it in
while other PTEs still hold the slot, the frame stays in the cache (slot -> frame, with a
frame reference of its own), and every later swap-in of that slot maps the same frame. The
entry goes when the slot's last reference does; a frame evicted again while cached goes
back to the same slot.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import numpy as np

from pagelab.hw.sv39 import PGSIZE, PTE_R, PTE_RSW0, PTE_RSW1, PTE_U, PTE_V, PTE_W, PTE_X
from pagelab.kernel.mm.kalloc import Unreferenced, drop_refs

PTE_COW = PTE_RSW0  # as in vm.py (which imports this module, so not from there)

PTE_SWAP = PTE_RSW1
SWP_SHIFT = 10
_KEEP = PTE_R | PTE_W | PTE_X | PTE_U | PTE_COW


def is_swap_pte(pte: int) -> bool:
    return pte & (PTE_V | PTE_SWAP) == PTE_SWAP


def swp_entry(slot: int, pte: int) -> int:
    """The PTE that replaces `pte` when its page goes to `slot`."""
    return (slot << SWP_SHIFT) | (pte & _KEEP) | PTE_SWAP


def swp_slot(pte: int) -> int:
    return pte >> SWP_SHIFT


def is_swap(ptes: np.ndarray) -> np.ndarray:
    """Which of an array of PTEs are swap entries."""
    return (ptes & np.uint64(PTE_V | PTE_SWAP)) == np.uint64(PTE_SWAP)


def swap_slots(entries: np.ndarray) -> np.ndarray:
    """The slots held by an array of swap entries."""
    return (entries >> np.uint64(SWP_SHIFT)).astype(np.int64)


class SwapFull(Exception):
    """No free slot."""


class SwapArea:
    def __init__(self, size: int) -> None:
        self.nslots = size // PGSIZE
        self.ref = np.zeros(self.nslots, dtype=np.uint32)
        self._free: list[int] = list(range(self.nslots - 1, -1, -1))  # lowest first
        self.peak = 0
        fd, path = tempfile.mkstemp(prefix="pagelab-swap-")
        os.unlink(path)  # nameless from the start: nothing to clean up, ever
        self.fd = fd
        os.ftruncate(fd, self.nslots * PGSIZE)  # sparse: costs nothing until written
        self.cache: dict[int, int] = {}  # the swap cache: slot -> frame (pa)
        self.cached_slot: dict[int, int] = {}  # and back: frame (pa) -> slot
        # Drops the cache's reference on a frame (km.kfree), when its slot is freed.
        self.uncache: Callable[[int], object] = lambda pa: None
        self.cache_hits = 0  # swap-ins served from the cache: no read

    def add_cache(self, slot: int, pa: int) -> None:
        """Frame pa (which holds one reference for the cache) is slot's page in RAM."""
        self.cache[slot] = pa
        self.cached_slot[pa] = slot

    def forget_cache(self, pa: int) -> int:
        """Take frame pa out of the cache (its caller drops the cache's reference).
        Returns its slot."""
        slot = self.cached_slot.pop(pa)
        del self.cache[slot]
        return slot

    def _freed(self, slot: int) -> None:
        pa = self.cache.pop(slot, None)
        if pa is not None:
            del self.cached_slot[pa]
            self.uncache(pa)

    @property
    def used(self) -> int:
        return self.nslots - len(self._free)

    def alloc(self, refs: int) -> int:
        """A free slot with count `refs`. Raises SwapFull."""
        if not self._free:
            raise SwapFull()
        slot = self._free.pop()
        self.ref[slot] = refs
        self.peak = max(self.peak, self.used)
        return slot

    def write(self, slot: int, data: bytes) -> None:
        os.pwrite(self.fd, data, slot * PGSIZE)

    def read(self, slot: int) -> bytes:
        data = os.pread(self.fd, PGSIZE, slot * PGSIZE)
        return data + bytes(PGSIZE - len(data))

    def get(self, slot: int, n: int) -> None:
        """n more PTEs hold `slot` (a cached page evicted again goes back to it)."""
        if self.ref[slot] == 0:
            raise AssertionError(f"swap_get of free slot {slot}")
        self.ref[slot] += n

    def dup(self, slots: np.ndarray) -> None:
        """One more PTE holds each of `slots` (repeats allowed): fork copied them."""
        if slots.size:
            np.add.at(self.ref, slots, 1)

    def put(self, slot: int) -> None:
        """One PTE fewer holds `slot` (a swap-in)."""
        n = int(self.ref[slot])
        if n == 0:
            raise AssertionError(f"swap_free of free slot {slot}")
        self.ref[slot] = n - 1
        if n == 1:
            self._free.append(slot)
            if self.cache:
                self._freed(slot)

    def free(self, slots: np.ndarray) -> int:
        """One PTE fewer holds each of `slots`; returns how many slots became free."""
        if not slots.size:
            return 0
        try:
            freed = drop_refs(self.ref, self._free, slots)
        except Unreferenced as e:
            raise AssertionError(f"swap_free of free slot {e.args[0]}") from None
        if self.cache and freed:
            for slot in self._free[len(self._free) - freed :]:
                self._freed(slot)
        return freed

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
