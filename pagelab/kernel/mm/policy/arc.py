"""ARC: adaptive replacement between a recency list and a frequency list.

Source: Megiddo and Modha, "ARC: a self-tuning, low overhead replacement cache", FAST
2003 (figure 4). T1 holds pages seen once recently, T2 pages seen at least twice; B1 and
B2 remember pages recently evicted from each. A miss on a page in B1 means T1 was too
small: the target size p of T1 grows (in B2: shrinks). To make room, REPLACE takes T1's
LRU page if T1 exceeds p (or equals p and the missing page is in B2), else T2's.
The choice depends on the missing page: replay says it through `missed`. The kernel
does not (it reclaims ahead of need), so there the tie goes to T2, and the ghosts are frame
numbers, not pages (docs/policies.md).
"""

from __future__ import annotations

from collections.abc import Collection

from pagelab.kernel.mm.policy.base import AccessBits, Policy


class Arc(Policy):
    name = "arc"
    wants_references = True

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.t1: dict[int, None] = {}  # LRU first
        self.t2: dict[int, None] = {}
        self.b1: dict[int, None] = {}
        self.b2: dict[int, None] = {}
        self.p = 0.0
        self.incoming = -1  # the page `missed` announced, until it is mapped
        self.forget = -1  # a victim that goes without a ghost (case IV.A)
        self.fresh = -1  # its loading reference is not a second use

    def _size(self) -> int:
        return self.frames or len(self.t1) + len(self.t2)

    def missed(self, frame: int) -> None:
        self.incoming = frame
        self._adapt(frame, ahead=True)

    def _adapt(self, frame: int, ahead: bool) -> None:
        """ARC's cases II-IV before REPLACE. `ahead`: a victim is chosen next (replay)."""
        c = self._size()
        b1, b2 = len(self.b1), len(self.b2)
        if frame in self.b1:
            self.p = min(self.p + (1 if b1 >= b2 else b2 / b1), c)
        elif frame in self.b2:
            self.p = max(self.p - (1 if b2 >= b1 else b1 / b2), 0)
        elif len(self.t1) + b1 >= c:
            if len(self.t1) < c and self.b1:
                del self.b1[next(iter(self.b1))]
            elif ahead and self.t1:
                self.forget = next(iter(self.t1))
        elif len(self.t1) + len(self.t2) + b1 + b2 >= 2 * c and self.b2:
            del self.b2[next(iter(self.b2))]

    def mapped(self, frame: int) -> None:
        if frame != self.incoming:
            self._adapt(frame, ahead=False)  # the kernel: adapt now
        self.incoming = -1
        if frame in self.b1 or frame in self.b2:
            self.b1.pop(frame, None)
            self.b2.pop(frame, None)
            self.t2[frame] = None
        else:
            self.t1[frame] = None
        self.fresh = frame

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.fresh = -1
        elif frame in self.t1:
            del self.t1[frame]
            self.t2[frame] = None
        elif frame in self.t2:
            del self.t2[frame]
            self.t2[frame] = None

    def freed(self, frame: int) -> None:
        self.t1.pop(frame, None)
        self.t2.pop(frame, None)

    def unmapped(self, frame: int) -> None:
        if frame == self.forget:
            self.forget = -1
        elif frame in self.t1:
            self.b1[frame] = None
        elif frame in self.t2:
            self.b2[frame] = None
        self.freed(frame)

    def victim(self, candidates: Collection[int]) -> int:
        if self.forget in candidates:
            return self.forget
        self.forget = -1
        t1 = len(self.t1)
        if t1 and (t1 > self.p or (self.incoming in self.b2 and t1 == self.p)):
            order = (self.t1, self.t2)
        else:
            order = (self.t2, self.t1)
        for lst in order:
            for f in lst:
                if f in candidates:
                    return f
        return next(iter(candidates))
