"""System-wide paging counters, like Linux's /proc/vmstat."""

from __future__ import annotations

from dataclasses import dataclass, field

from pagelab.kernel.events import KINDS


@dataclass
class VmStat:
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    minor: int = 0
    major: int = 0
    cow_copies: int = 0
    page_ins: int = 0
    page_outs: int = 0
