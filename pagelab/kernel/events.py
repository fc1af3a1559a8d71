"""What the kernel reports to observers. The kernel emits; it never imports who listens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Fault kinds, as counted in the stats JSON. "efault" is a system call's bad user pointer:
# the call fails with -1 and the process goes on, so "fatal" counts only the faults that kill.
KINDS = ("lazy", "zero", "cow", "file", "swap_in", "fatal", "efault")
MAJOR_KINDS = frozenset({"file", "swap_in"})  # needed I/O


@dataclass(slots=True)
class FaultEvent:
    """One page fault: where it hit, what kind it was, and how the kernel resolved it."""

    pid: int
    scause: int
    stval: int
    sepc: int
    kind: str
    resolution: str  # mapped-zero, alloc, copy, reuse, killed, error (efault)
    tick: int
    vma: str = ""  # the region's kind: text, rodata, data, bss, heap, stack, mmap ("" = none)
    pa: int = 0  # the frame mapped by the resolution (0 if none)
    old_pa: int = 0  # the frame copied from (cow, private file page), or 0
    reason: str = ""  # why a fatal fault was fatal: "no VMA", "PROT", "out of memory"
    major: bool = False  # the host file or swap had to be read
    # The faulting instruction's bits (2 or 4 bytes), filled in only when an observer asked
    # for it (Machine.want_insn): reading them walks the page table once more.
    insn: int | None = None


@dataclass(slots=True)
class ExitEvent:
    pid: int
    name: str
    status: int
    killed: bool
    faults: int
    rss_peak_pages: int
    swap_pages: int = 0  # pages written to swap for this process over its life
    mappings: tuple[dict[str, object], ...] = ()  # the process's regions as it exited
    abi: str = ""  # the personality it last ran ("xv6", "linux")
    signal: int = 0  # the signal that killed it (Linux personality), else 0
    mappings_total: int = 0  # its regions; `mappings` lists the first 1,000
    suspensions: int = 0  # times load control suspended it (--alloc ws, pff)


@dataclass(slots=True)
class ExecEvent:
    """A process has a new image; its page table is valid while listeners run."""

    pid: int
    name: str
    pagetable: int
    sz: int
    abi: str = "xv6"  # the personality the new image speaks


@dataclass(slots=True)
class EvictEvent:
    """A page left memory: one event per PTE that mapped the frame."""

    pid: int
    va: int
    pa: int  # the frame it left
    kind: str  # anon, file-clean, file-dirty
    where: str  # "swap:SLOT", "file" (written back) or "dropped" (clean file page)
    tick: int


@dataclass(slots=True)
class TeardownEvent:
    """Process pid is exiting: its page table is still valid while listeners run, and is
    freed right after (smaps and vmprint snapshots are taken here)."""

    pid: int
    name: str


@dataclass(slots=True)
class SyscallEvent:
    """A system call entered ("enter"), returned ("exit", with its result), or put its
    process to sleep to be executed again when it wakes ("block")."""

    pid: int
    num: int
    phase: str
    now: int  # the clock (instructions, plus skipped idle time)
    ret: int = 0
    abi: str = "xv6"  # the personality whose number `num` is


@dataclass(slots=True)
class QuantumEvent:
    """The scheduler put pid on the hart ("start") or took it off ("end")."""

    pid: int
    phase: str
    now: int


@dataclass(slots=True)
class SampleEvent:
    """The machine's counters, sampled at the end of every quantum: coarse enough to cost
    nothing measurable, fine enough for plots and a progress line."""

    now: int
    instructions: int
    frames_total: int
    frames_free: int
    cache: int  # frames held only by the page cache
    swap: int  # pages in swap
    faults: dict[str, int]  # by kind, since boot
    rss: dict[int, int]  # resident pages, by live pid


@dataclass(slots=True)
class LoadEvent:
    """Load control (--alloc ws, pff) suspended pid ("suspend", with the pages it swapped
    out) or let it run again ("resume")."""

    pid: int
    action: str
    pages: int
    tick: int


# The memory services a process can call (mm/mmap.py, mprotect.py, mremap.py, madvise.py).
MM_CALLS = ("mmap", "munmap", "mprotect", "mremap", "madvise", "msync")


@dataclass(slots=True)
class MmEvent:
    """A memory service ran for pid: `call` (one of MM_CALLS) over [addr, addr + length),
    with its result: an address or 0, or a negative errno (mm/errno.py). `arg` is the
    call's own argument (prot, advice, msync flags, mremap's new length), `flags` its
    flags, and `new_addr` where mremap put the region."""

    pid: int
    call: str
    addr: int
    length: int
    ret: int
    tick: int
    arg: int = 0
    flags: int = 0
    new_addr: int = 0
    pages: int = 0  # pages the call dropped (madvise), wrote (msync), moved (mremap) or populated


class StopRun(BaseException):
    """Raised by a listener to end the run early. A BaseException, so that the kernel's own
    safety nets (which turn a Python error into a killed process) let it through."""


class ListenerError(BaseException):
    """A listener raised: an observer's bug is its caller's error, not the kernel's. A
    BaseException, so that the kernel's safety nets (which turn a Python error into an oops
    and a killed process) let it through; api.run raises the listener's own exception."""

    def __init__(self, error: Exception, listener: object = None) -> None:
        super().__init__(error)
        self.error = error
        self.listener = listener  # the one that raised


Event = (
    FaultEvent
    | ExitEvent
    | ExecEvent
    | EvictEvent
    | TeardownEvent
    | SyscallEvent
    | QuantumEvent
    | SampleEvent
    | MmEvent
    | LoadEvent
)
Listener = Callable[[Event], None]
Ticker = Callable[[Callable[[], SampleEvent]], None]  # called with Machine.sample
