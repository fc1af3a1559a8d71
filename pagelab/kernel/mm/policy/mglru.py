"""A small multi-generational LRU, after Linux's MGLRU.

Source: Linux mm/vmscan.c (the lru_gen code) and Documentation/mm/multigen_lru.rst. Pages
sit in generations numbered by a sequence: max_seq the youngest, min_seq the oldest, with
between MIN_NR_GENS (2) and MAX_NR_GENS (4, `gens`) of them. A faulted-in page joins the
youngest generation. Eviction takes the oldest generation in load order: a page whose A
bit is set is promoted to the youngest (the rmap look-around of lru_gen_look_around);
the first unused one is the victim. When the oldest generation empties, min_seq advances.
When only MIN_NR_GENS remain, and at each sampling tick while fewer than `gens` exist,
aging (try_to_inc_max_seq) opens a new youngest generation and moves every page used since
the last aging into it (Linux finds them by walking page tables). Differences: one list (Linux keeps anon and file types and tiers of file pages
accessed through file descriptors, with a PID controller between them); no Bloom filter
for the page-table walk; no refault-based protection.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy

MIN_NR_GENS = 2


class Mglru(Policy):
    name = "mglru"
    gens: int = 4
    PARAMS: ClassVar[Params] = {"gens": (MIN_NR_GENS + 1, 16)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.min_seq = 0
        self.max_seq = MIN_NR_GENS - 1
        self.lists: dict[int, dict[int, None]] = {s: {} for s in range(MIN_NR_GENS)}
        self.gen: dict[int, int] = {}  # frame -> its generation's seq

    def _put(self, frame: int, seq: int) -> None:
        old = self.gen.get(frame)
        if old is not None:
            del self.lists[old][frame]
        self.gen[frame] = seq
        self.lists[seq][frame] = None

    def mapped(self, frame: int) -> None:
        self._put(frame, self.max_seq)

    def freed(self, frame: int) -> None:
        seq = self.gen.pop(frame, None)
        if seq is not None:
            del self.lists[seq][frame]

    def tick(self) -> None:
        self._age()  # proactive aging, as kswapd's: up to `gens` generations

    def _age(self) -> None:
        """try_to_inc_max_seq: a new youngest generation takes every page used since."""
        if self.max_seq - self.min_seq + 1 >= self.gens:
            return
        self.max_seq += 1
        self.lists[self.max_seq] = {}
        for f in list(self.gen):
            if self.bits.clear_young(f):
                self._put(f, self.max_seq)

    def victim(self, candidates: Collection[int]) -> int:
        for _ in range(4 * (len(self.gen) + self.gens) + 4):
            if self.max_seq - self.min_seq + 1 <= MIN_NR_GENS:
                self._age()
            oldest = self.lists[self.min_seq]
            if not oldest:
                if self.max_seq - self.min_seq + 1 > MIN_NR_GENS:
                    del self.lists[self.min_seq]
                    self.min_seq += 1  # inc_min_seq
                else:
                    self._age()
                continue
            f = next(iter(oldest))
            if self.bits.clear_young(f):
                self._put(f, self.max_seq)  # promoted: used since it was last looked at
            elif f in candidates:
                return f
            else:
                del oldest[f]
                oldest[f] = None  # pinned (kernel): to the back of its generation
        return next(iter(candidates))
