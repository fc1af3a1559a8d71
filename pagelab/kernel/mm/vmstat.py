"""System-wide paging counters, like Linux's /proc/vmstat."""

from __future__ import annotations

from dataclasses import dataclass, field

from pagelab.kernel.events import KINDS, MM_CALLS


@dataclass
class VmStat:
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    minor: int = 0
    major: int = 0
    cow_copies: int = 0
    page_ins: int = 0
    page_outs: int = 0
    mm_calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MM_CALLS, 0))
    mm_failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MM_CALLS, 0))
    madvise_dropped: int = 0  # pages MADV_DONTNEED / MADV_FREE took away
    msync_written: int = 0  # dirty pages msync marked and wrote back
    mremap_moved: int = 0  # page-table entries mremap moved (no data copied)
    populated: int = 0  # pages MAP_POPULATE / MADV_POPULATE_* faulted in ahead
