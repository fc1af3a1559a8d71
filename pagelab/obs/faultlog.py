"""The live fault log (`-v`, `--show-faults[=N]`): each page fault as one line, as a lecture
slide would narrate it: who, what access, where, which instruction, and what the kernel did."""

from __future__ import annotations

from typing import IO

from pagelab.kernel.events import Event, FaultEvent
from pagelab.obs.disasm import SCAUSE_NAMES, disasm


def _at(pa: int) -> str:
    return f" {pa:#x}" if pa else ""  # 0: the kernel did not say which frame


def outcome(ev: FaultEvent) -> str:
    """The kernel's resolution, in words."""
    k, r = ev.kind, ev.resolution
    if k == "fatal":
        return f"fatal: {ev.reason or 'no mapping'}, process killed"
    if k == "efault":
        return f"efault: {ev.reason or 'bad user pointer'}, the system call returns -1"
    if r == "mapped-zero":
        return f"zero: shared zero page{_at(ev.pa)}, read-only"
    if k == "cow" and r == "copy":
        return f"cow: copied{_at(ev.old_pa)} →{_at(ev.pa)}" if ev.pa else "cow: copied to a new frame"
    if k == "cow" and r == "reuse":
        return f"cow: last sharer, frame{_at(ev.pa)} made writable"
    if k == "zero":
        return f"zero: new zeroed frame{_at(ev.pa)}"
    if k == "lazy":
        return f"lazy: new frame{_at(ev.pa)}"
    major = "major, read from disk" if ev.major else "minor, already cached"
    if k == "file":
        src = f" copied from cache frame {ev.old_pa:#x}" if ev.old_pa else " from the page cache"
        return f"file: frame{_at(ev.pa)}{src} ({major})"
    if k == "swap_in":
        return f"swap_in: read back into{_at(ev.pa)}"
    return f"{k}: {r}"


def fault_line(ev: FaultEvent) -> str:
    """`[pid 3] store page fault  va 0x5000  sepc 0x1ae  sd a5,0(a0)  → lazy: new frame 0x80123000`"""
    what = SCAUSE_NAMES.get(ev.scause, f"scause {ev.scause:#x}")
    where = f" ({ev.vma})" if ev.vma else ""
    return f"[pid {ev.pid}] {what}  va {ev.stval:#x}{where}  sepc {ev.sepc:#x}  {disasm(ev.insn):<18} → {outcome(ev)}"


class FaultLog:
    """A listener printing fault lines to `out`, at most `limit` of them (None: all).
    After the limit it says once how to see more, then stays quiet."""

    def __init__(self, out: IO[str], limit: int | None = None) -> None:
        self.out = out
        self.limit = limit
        self.shown = 0

    def __call__(self, ev: Event) -> None:
        if type(ev) is not FaultEvent:
            return
        if self.limit is not None and self.shown >= self.limit:
            if self.shown == self.limit:
                self.out.write(f"[fault log stopped after {self.limit} lines: --show-faults=N shows more]\n")
                self.out.flush()
                self.shown += 1
            return
        self.shown += 1
        self.out.write(fault_line(ev) + "\n")
        self.out.flush()
