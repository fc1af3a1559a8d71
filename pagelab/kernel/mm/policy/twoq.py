"""2Q: a FIFO probation queue (A1in), a ghost queue of pages evicted from it (A1out), and
an LRU list (Am) for pages referenced again after leaving A1in.

Source: Johnson and Shasha, "2Q: a low overhead high performance buffer management
replacement algorithm", VLDB 1994 (the full version, with Kin = 25 % and Kout = 50 % of
memory, the paper's tuning). A new page enters A1in; a hit there does nothing; a miss
on a page remembered in A1out enters Am; a hit in Am moves the page to its MRU end. To
make room, A1in's oldest page goes (into A1out) while A1in holds more than Kin pages,
else Am's LRU page (forgotten).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class TwoQ(Policy):
    name = "2q"
    wants_references = True
    kin: float = 0.25
    kout: float = 0.5
    PARAMS: ClassVar[Params] = {"kin": (0.0, 1.0), "kout": (0.0, 10.0)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.a1in: dict[int, None] = {}  # FIFO, oldest first
        self.a1out: dict[int, None] = {}  # ghosts, oldest first
        self.am: dict[int, None] = {}  # LRU first
        self.returning = -1  # the missing page was in A1out (replay's `missed`)

    def _size(self) -> int:
        return self.frames or len(self.a1in) + len(self.am)

    def missed(self, frame: int) -> None:
        # Looked up before making room, which may push the page out of A1out.
        self.returning = frame if self.a1out.pop(frame, 0) is None else -1

    def mapped(self, frame: int) -> None:
        if frame == self.returning or self.a1out.pop(frame, 0) is None:
            self.am[frame] = None
        else:
            self.a1in[frame] = None
        self.returning = -1

    def referenced(self, frame: int) -> None:
        if frame in self.am:
            del self.am[frame]
            self.am[frame] = None

    def freed(self, frame: int) -> None:
        self.a1in.pop(frame, None)
        self.am.pop(frame, None)

    def unmapped(self, frame: int) -> None:
        if frame in self.a1in:
            del self.a1in[frame]
            self.a1out[frame] = None
            while len(self.a1out) > max(1, int(self.kout * self._size())):
                del self.a1out[next(iter(self.a1out))]
        self.am.pop(frame, None)

    def victim(self, candidates: Collection[int]) -> int:
        order = (
            (self.a1in, self.am)
            if len(self.a1in) > max(1, int(self.kin * self._size())) or not self.am
            else (self.am, self.a1in)
        )
        for queue in order:
            for f in queue:
                if f in candidates:
                    return f
        return next(iter(candidates))
