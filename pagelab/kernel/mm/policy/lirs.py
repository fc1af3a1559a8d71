"""LIRS: keep the pages with low inter-reference recency (LIR); the rest (HIR) share a
small part of memory.

Source: Jiang and Zhang, "LIRS: an efficient low inter-reference recency set replacement
policy to improve buffer cache performance", SIGMETRICS 2002, with its default of 1 % of
memory (at least one frame) for resident HIR pages. The stack S holds pages by recency:
LIR pages, resident HIR pages and non-resident HIR pages, and its bottom is always an LIR
page (stack pruning). The queue Q holds the resident HIR pages; the victim is Q's front.
A HIR page referenced while still in S has a shorter reuse distance than the bottom LIR
page: it becomes LIR and that page becomes HIR. Until the LIR set is full, every page
loaded becomes LIR.

Two parameters give libCacheSim's variant (`lirs:stack=2,demote=1`, docs/policies.md):
`stack` bounds S at that many times memory by forgetting the non-resident HIR page evicted
longest ago (0, the default: unbounded, as in the paper's algorithm); `demote=1` makes a
hit on a resident HIR page outside S demote the bottom LIR page too, as one inside S does
(the paper leaves the LIR set alone there).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class Lirs(Policy):
    name = "lirs"
    wants_references = True
    hir: float = 0.01
    stack: float = 0.0
    demote: int = 0
    PARAMS: ClassVar[Params] = {"hir": (0.0, 1.0), "stack": (0.0, 1000.0), "demote": (0, 1)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.s: dict[int, None] = {}  # the LIRS stack, bottom first
        self.q: dict[int, None] = {}  # resident HIR pages, front first
        self.lir: set[int] = set()
        self.resident: set[int] = set()
        self.gone: dict[int, None] = {}  # non-resident HIR pages in S, by eviction time
        self.fresh = -1

    def _lir_size(self) -> int:
        c = self.frames or len(self.resident)
        return max(c - max(1, int(self.hir * c)), 1)

    def _top(self, frame: int) -> None:
        self.s.pop(frame, None)
        self.s[frame] = None

    def _prune(self) -> None:
        while self.s:
            f = next(iter(self.s))
            if f in self.lir:
                return
            del self.s[f]
            self.gone.pop(f, None)

    def _bound(self) -> None:
        """With `stack`: S holds at most stack x memory entries, past which the
        non-resident HIR page evicted longest ago is forgotten."""
        if self.stack:
            limit = self.stack * (self.frames or len(self.resident))
            while len(self.s) > limit and self.gone:
                f = next(iter(self.gone))
                del self.gone[f]
                del self.s[f]

    def _demote_bottom(self) -> None:
        """The bottom LIR page becomes a resident HIR page at Q's end."""
        f = next(iter(self.s))
        del self.s[f]
        self.lir.discard(f)
        self.q[f] = None
        self._prune()

    def _promote(self, frame: int) -> None:
        full = len(self.lir) >= self._lir_size()
        self.q.pop(frame, None)
        self.lir.add(frame)
        self._top(frame)
        if full or not self.demote:  # (with demote, the LIR set may be one short)
            self._demote_bottom()

    def mapped(self, frame: int) -> None:
        self.resident.add(frame)
        self.gone.pop(frame, None)
        self.fresh = frame
        if len(self.lir) < self._lir_size():
            self.lir.add(frame)
            self._top(frame)
        elif frame in self.s:  # a non-resident HIR page seen recently
            self._promote(frame)
        else:
            self._top(frame)
            self.q[frame] = None
        self._bound()

    def referenced(self, frame: int) -> None:
        if frame == self.fresh or frame not in self.resident:
            self.fresh = -1
            return
        if frame in self.lir:
            bottom = next(iter(self.s)) == frame
            self._top(frame)
            if bottom:
                self._prune()
        elif frame in self.s:
            self._promote(frame)
        else:
            del self.q[frame]
            self.q[frame] = None
            if self.demote and len(self.lir) >= self._lir_size():
                self._demote_bottom()  # Q now holds one page more: its front goes at the next fault
            self._top(frame)
            if not self.lir:  # that was the only LIR page: a HIR page may not be S's bottom
                self._prune()
        self._bound()

    def unmapped(self, frame: int) -> None:
        """Evicted: a HIR page stays in S, non-resident."""
        self.resident.discard(frame)
        self.q.pop(frame, None)
        if frame in self.lir:  # only when Q was empty (the kernel's smaller memory)
            self.lir.discard(frame)
            self.s.pop(frame, None)
            self._prune()
        elif frame in self.s:
            self.gone[frame] = None

    def freed(self, frame: int) -> None:
        self.resident.discard(frame)
        self.gone.pop(frame, None)
        self.q.pop(frame, None)
        self.lir.discard(frame)
        self.s.pop(frame, None)
        self._prune()

    def victim(self, candidates: Collection[int]) -> int:
        for f in self.q:
            if f in candidates:
                return f
        return next((f for f in self.s if f in self.lir and f in candidates), next(iter(candidates)))
