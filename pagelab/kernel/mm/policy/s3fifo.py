"""S3-FIFO: a small probation FIFO, a main FIFO, and a ghost FIFO of recent evictees.

Source: Yang, Zhang, Qiu, Yue and Rashmi, "FIFO queues are all you need for cache
eviction", SOSP 2023, with its defaults: the small queue holds 10 % of memory, the ghost
queue remembers as many pages as the main queue holds (90 %), and a page moves from small
to main once it was used at least twice (`threshold`) beyond its loading reference. Each
page has a 2-bit use counter (capped at 3). A new page enters small, unless the ghost
queue remembers it: then main. To make room: while small holds at least its share, its
oldest page moves to main if used enough (main then makes room itself when full), else it
is evicted and remembered; otherwise main's oldest page is evicted if unused, or reinserted
with its counter decremented.

`fill_main=1` is libCacheSim's S3FIFO.c (its comment says so): while memory is not yet
full, a new page goes to main once small holds its share, where the paper's goes to small.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from pagelab.kernel.mm.policy.base import AccessBits, Params, Policy


class S3Fifo(Policy):
    name = "s3fifo"
    wants_references = True
    small: float = 0.1
    ghost: float = 0.9
    threshold: int = 2
    fill_main: int = 0
    PARAMS: ClassVar[Params] = {"small": (0.0, 1.0), "ghost": (0.0, 10.0), "threshold": (1, 4), "fill_main": (0, 1)}

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.s: dict[int, None] = {}  # oldest first
        self.m: dict[int, None] = {}
        self.g: dict[int, None] = {}
        self.freq: dict[int, int] = {}
        self.fresh = -1
        self.to_ghost = -1  # the victim comes from small: remember it
        self.returning = -1  # the missing page was a ghost (replay's `missed`)

    def _size(self) -> int:
        return self.frames or len(self.s) + len(self.m)

    def missed(self, frame: int) -> None:
        # Looked up before making room, which may push the page out of the ghosts.
        self.returning = frame if self.g.pop(frame, 0) is None else -1

    def mapped(self, frame: int) -> None:
        size = self._size()
        if frame == self.returning or self.g.pop(frame, 0) is None:
            self.returning = -1
            self.m[frame] = None
        elif self.fill_main and len(self.s) >= self.small * size and len(self.s) + len(self.m) < size:
            self.m[frame] = None  # libCacheSim's variant: memory is not full yet
        else:
            self.s[frame] = None
        self.freq[frame] = 0
        self.fresh = frame

    def referenced(self, frame: int) -> None:
        if frame == self.fresh:
            self.fresh = -1  # the loading reference does not count
        elif frame in self.freq:
            self.freq[frame] = min(self.freq[frame] + 1, 3)

    def freed(self, frame: int) -> None:
        self.s.pop(frame, None)
        self.m.pop(frame, None)
        self.freq.pop(frame, None)

    def unmapped(self, frame: int) -> None:
        if frame == self.to_ghost:
            self.g[frame] = None
            while len(self.g) > int(self.ghost * self._size()):
                del self.g[next(iter(self.g))]
        self.to_ghost = -1
        self.freed(frame)

    def victim(self, candidates: Collection[int]) -> int:
        size = self._size()
        if self.s and (len(self.s) >= self.small * size or not self.m):
            main_size = size - int(self.small * size)
            for f in list(self.s):
                del self.s[f]
                if self.freq[f] >= self.threshold:
                    self.m[f] = None  # used enough: promoted, its count starts over
                    self.freq[f] = 0
                    if not self.fill_main and len(self.m) >= main_size and (v := self._main(candidates)) >= 0:
                        return v
                elif f in candidates:
                    self.to_ghost = f
                    return f
                else:
                    self.s[f] = None  # pinned (kernel): pass over it
        v = self._main(candidates)
        return v if v >= 0 else next(iter(candidates))

    def _main(self, candidates: Collection[int]) -> int:
        """Main's oldest unused page (reinserting used ones), or -1."""
        for _ in range(4 * len(self.m)):
            f = next(iter(self.m))
            del self.m[f]
            self.m[f] = None
            if self.freq[f] == 0 and f in candidates:
                return f
            self.freq[f] = max(self.freq[f] - 1, 0)
        return -1
