"""The sampled page-reference string of a run, from the A bits (idle page tracking).

Every `period` instructions of the clock (at the first quantum end after it falls due),
each live process's user pages whose A bit is set are recorded and the bits cleared
(kernel/mm/page_idle.py keeps the replacement policy's view intact), then the TLB is
flushed so that the next use sets A again. A page is thus recorded once per sampling
period in which it was used: the order of uses inside one period is not known, and is
taken as address order. A process's last period is harvested as it exits.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.sv39 import PGSHIFT
from pagelab.kernel.mm.page_idle import harvest

if TYPE_CHECKING:
    from collections.abc import Callable

    from pagelab.kernel.events import SampleEvent
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

PERIOD = 100_000  # instructions between two harvests at first: one clock tick
# When a run has seen this many periods, the period doubles (and the periods so far are
# merged in pairs): a long run costs at most about this many harvests per doubling, and
# always has between MAX_PERIODS / 2 and MAX_PERIODS of them.
MAX_PERIODS = 256
_NONE = np.zeros(0, np.int64)


@dataclass(frozen=True)
class Band:
    """A region of a process's address space, as seen while it ran (the widest extent)."""

    start: int
    end: int
    kind: str  # text, rodata, data, bss, heap, stack, mmap, file...
    label: str  # what to print: "heap", "mmap 0x7ff000", "file data.bin"


@dataclass
class PageRefs:
    """One row per (sampling period, process, page used in it), in time then address order."""

    period: int
    slot_times: np.ndarray  # int64: the clock at the end of each sampling period
    slots: np.ndarray  # int64: the period of each reference (index into slot_times)
    pids: np.ndarray  # int64
    vpns: np.ndarray  # int64: virtual page numbers
    names: dict[int, str] = field(default_factory=dict)  # pid -> program name
    abis: dict[int, str] = field(default_factory=dict)
    bands: dict[int, list[Band]] = field(default_factory=dict)  # pid -> regions, by address
    init_pid: int = 1

    def __len__(self) -> int:
        return int(self.slots.size)

    def select(self, pid: int | None = None, include_init: bool = False) -> PageRefs:
        """The references of one process, or of every process (init only if asked)."""
        keep = np.ones(self.slots.size, bool)
        if pid is not None:
            keep &= self.pids == pid
        elif not include_init:
            keep &= self.pids != self.init_pid
        return PageRefs(
            self.period,
            self.slot_times,
            self.slots[keep],
            self.pids[keep],
            self.vpns[keep],
            self.names,
            self.abis,
            self.bands,
            self.init_pid,
        )

    @property
    def pages(self) -> np.ndarray:
        """Each reference as one int64 page key: pid << 27 | vpn (a page of a process)."""
        return self.pids << 27 | self.vpns


class PageSampler:
    """A ticker (and, through the Recorder, a teardown hook) harvesting A bits."""

    def __init__(self, m: Machine, period: int = PERIOD, keep: bool = True) -> None:
        self.m = m
        self.keep = keep  # keep the references (else only tell the watchers)
        # Called after each periodic harvest with (clock, {pid: vpns used in the period}).
        self.watchers: list[Callable[[int, dict[int, np.ndarray]], None]] = []
        self._period_used: dict[int, np.ndarray] = {}
        self.period = max(int(period), 1)
        self.due = self.period
        self.slot_times = array("q")
        # The references so far, as numpy chunks (one per harvest of a process with any
        # used page), joined when the periods are merged and at the end.
        self.slots: list[np.ndarray] = []
        self.pids: list[np.ndarray] = []
        self.vpns: list[np.ndarray] = []
        self.names: dict[int, str] = {}
        self.abis: dict[int, str] = {}
        self._bands: dict[int, dict[tuple[int, str, str], int]] = {}
        self._open = False  # a period has references but no end time yet
        # pid -> page table, of the processes harvested since which they have not run:
        # their A bits are all clear (only a process's own instructions, faults and
        # system calls set them), so the next harvest skips them. init, asleep in
        # wait() for the whole run, is one.
        self._idle: dict[int, int] = {}
        m.tickers.append(self.tick)

    def tick(self, _sample: Callable[[], SampleEvent] | None) -> None:
        # Called at every quantum's end, the process that ran still current.
        m = self.m
        cur = m.current
        if cur is not None:
            self._idle.pop(cur.pid, None)
        now = m.now()
        if now < self.due:
            return
        live = [p for p in m.procs if p is not None and p.pagetable]
        tables = [p.pagetable for p in live]
        for p in live:
            if self._idle.get(p.pid) == p.pagetable and tables.count(p.pagetable) == 1:
                if self.watchers:  # it used no page in this period
                    self._period_used.setdefault(p.pid, _NONE)
                continue  # (threads share a page table: another may have run)
            self._harvest(p)
            self._idle[p.pid] = p.pagetable
        m.hart.flush_tlb(remapped=False)  # the next use of each page sets its A bit again
        self._close(now)
        used, self._period_used = self._period_used, {}
        for fn in self.watchers:
            fn(now, used)
        self.due = (now // self.period + 1) * self.period

    def exiting(self, pid: int) -> None:
        """pid is exiting, its page table still valid: its last uses, in the open period."""
        self._idle.pop(pid, None)
        p = next((q for q in self.m.procs if q is not None and q.pid == pid), None)
        if p is not None and p.pagetable:
            self._harvest(p)

    def _harvest(self, p: Proc) -> None:
        vpns = harvest(self.m, p) >> PGSHIFT
        if self.watchers:
            got = self._period_used.get(p.pid)
            self._period_used[p.pid] = vpns if got is None else np.concatenate([got, vpns])
        if not self.keep:
            return
        self.names[p.pid] = p.name
        self.abis[p.pid] = p.abi.name
        bands = self._bands.setdefault(p.pid, {})
        for v in p.vmas:
            key = (v.start, v.kind, v.label)
            if bands.get(key, 0) < v.end:
                bands[key] = v.end
        if vpns.size:
            self.slots.append(np.full(vpns.size, len(self.slot_times), np.int64))
            self.pids.append(np.full(vpns.size, p.pid, np.int64))
            self.vpns.append(vpns)
            self._open = True

    def _close(self, now: int) -> None:
        self.slot_times.append(now)
        self._open = False
        if self.keep and len(self.slot_times) >= MAX_PERIODS:
            self._coarsen()

    def _coarsen(self) -> None:
        """Double the period: periods 2k and 2k+1 become period k, a page once in it (in
        process, then address order)."""
        times = np.frombuffer(self.slot_times, np.int64)
        slots, pids, vpns = _joined(self.slots) // 2, _joined(self.pids), _joined(self.vpns)
        order = np.lexsort((vpns, pids, slots))
        slots, pids, vpns = slots[order], pids[order], vpns[order]
        first = np.ones(slots.size, bool)  # the first row of each (period, pid, vpn)
        first[1:] = (slots[1:] != slots[:-1]) | (pids[1:] != pids[:-1]) | (vpns[1:] != vpns[:-1])
        ends = times[1::2] if times.size % 2 == 0 else np.append(times[1::2], times[-1])
        self.slot_times = array("q", ends.tolist())
        self.slots, self.pids, self.vpns = [slots[first]], [pids[first]], [vpns[first]]
        self.period *= 2
        self.due = (int(times[-1]) // self.period + 1) * self.period

    def finish(self) -> PageRefs:
        if self._open:
            self._close(self.m.now())
        init = self.m.init.pid if self.m.init is not None else 1
        return PageRefs(
            self.period,
            np.frombuffer(self.slot_times, np.int64).copy(),
            _joined(self.slots),
            _joined(self.pids),
            _joined(self.vpns),
            dict(self.names),
            dict(self.abis),
            {pid: _bands(b) for pid, b in self._bands.items()},
            init,
        )


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int64)


def _bands(seen: dict[tuple[int, str, str], int]) -> list[Band]:
    """The regions seen, each with its widest end, labelled; overlapping ones (a region
    unmapped and another mapped in its place) keep the first."""
    out: list[Band] = []
    for (start, kind, label), end in sorted(seen.items()):
        if out and start < out[-1].end:
            continue
        name = kind if kind in ("text", "rodata", "data", "bss", "heap", "stack") else f"{kind} {start:#x}"
        if label and kind not in ("text", "rodata", "data", "bss"):
            name = f"{kind} {label}"
        out.append(Band(start, end, kind, name))
    return out
