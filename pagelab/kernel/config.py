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
    zero_heap: bool = False  # heap read faults map the zero page too (Linux); off = xv6 lazy lab
    sbrk_type: bool = False  # sbrk(n, type) as xv6-riscv since 2024: 1 eager, 2 lazy; off = a1 ignored
    demand: bool = True  # exec maps the file and reads each page on its first fault
    swap: int = 0  # bytes of swap; 0 = no swap, OOM kills
    policy: str = "clock"  # page replacement policy: a built-in name, FILE.py:Class or module:Class
    alloc: str = "global"  # frame allocation between processes: global, equal, proportional, ws, pff (mm/alloc.py)
    disk_latency_us: int = 0  # modeled device time per page-in/page-out, added to the clock
    disk: int = 1 << 30  # quota on the bytes the guest may store under its root
    quantum: int = 100_000  # instructions a process runs before the scheduler steps in
    tick_insns: int = 100_000  # instructions per clock tick
    seed: int = 0
    abi: str = "auto"  # system-call personality: "auto" (chosen per ELF), "linux" or "xv6"
    env: tuple[str, ...] = ()  # K=V pairs added to a Linux program's default environment
    max_map_count: int = 65530  # regions per process at most (Linux's vm.max_map_count)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def eager(cls, **kw: Any) -> Config:
        """Stock xv6: every mechanism off (demand paging too)."""
        return cls(lazy=False, zero_page=False, cow=False, demand=False, **kw)
