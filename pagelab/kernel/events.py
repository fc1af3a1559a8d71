"""What the kernel reports to observers. The kernel emits; it never imports who listens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Fault kinds, as counted in the stats JSON.
KINDS = ("lazy", "zero", "cow", "file", "swap_in", "fatal")
MAJOR_KINDS = frozenset({"file", "swap_in"})  # needed I/O


@dataclass(slots=True)
class FaultEvent:
    """One page fault: where it hit, what kind it was, and how the kernel resolved it."""

    pid: int
    scause: int
    stval: int
    sepc: int
    kind: str
    resolution: str  # mapped-zero, alloc, copy, reuse, killed
    tick: int


@dataclass(slots=True)
class ExitEvent:
    pid: int
    name: str
    status: int
    killed: bool
    faults: int
    rss_peak_pages: int


@dataclass(slots=True)
class ExecEvent:
    """A process has a new image; its page table is valid while listeners run."""

    pid: int
    name: str
    pagetable: int
    sz: int


Event = FaultEvent | ExitEvent | ExecEvent
Listener = Callable[[Event], None]
