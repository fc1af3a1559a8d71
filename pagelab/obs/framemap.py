"""The frame map: what every physical frame is used for, right now.

One code per frame, in this priority order: free, the zero page, a page-table page, the
page cache, COW-shared (mapped by several PTEs marked copy-on-write), shared (several PTEs,
no COW: MAP_SHARED memory), anonymous (one PTE), other (allocated, mapped by nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pagelab.obs.pagescan import Census, census

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine

USES = ("free", "zero page", "page table", "file cache", "COW-shared", "shared", "anonymous", "other")
FREE, ZERO, TABLE, CACHE, COW_SHARED, SHARED, ANON, OTHER = range(len(USES))


@dataclass
class FrameMap:
    """codes[i] is the use of frame i (an index into USES)."""

    codes: np.ndarray  # uint8, one per frame
    base: int  # physical address of frame 0
    now: int  # the clock when it was taken

    def counts(self) -> dict[str, int]:
        got = np.bincount(self.codes, minlength=len(USES))
        return {u: int(got[i]) for i, u in enumerate(USES)}

    @property
    def used(self) -> int:
        return int(np.count_nonzero(self.codes != FREE))


def frame_map(m: Machine, cen: Census | None = None) -> FrameMap:
    cen = cen or census(m)
    ref = m.km.ref
    codes = np.full(len(ref), OTHER, np.uint8)
    many = cen.mapcount > 1
    codes[(cen.mapcount == 1)] = ANON
    codes[many] = SHARED
    codes[many & cen.cow] = COW_SHARED
    codes[cen.cache] = CACHE
    codes[cen.table] = TABLE
    codes[m.km.frame(m.zero_frame)] = ZERO
    codes[ref == 0] = FREE
    return FrameMap(codes, m.ram.base, m.clock.now)
