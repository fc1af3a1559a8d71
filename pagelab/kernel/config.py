"""What a run is configured with: every mechanism can be switched off for comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_MEM = 128 << 20  # xv6: PHYSTOP - KERNBASE


@dataclass(frozen=True)
class Config:
    mem: int = DEFAULT_MEM
    lazy: bool = True  # sbrk only raises the size; pages arrive on first touch
    zero_page: bool = True  # read faults map one shared zero frame
    cow: bool = True  # fork shares frames copy-on-write
    quantum: int = 100_000  # instructions a process runs before the scheduler steps in
    tick_insns: int = 100_000  # instructions per clock tick
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def eager(cls, **kw: Any) -> Config:
        """Stock xv6: every mechanism off."""
        return cls(lazy=False, zero_page=False, cow=False, **kw)
