"""Recording a run for the Python API and the HTML report: the events, the counters over
time, and snapshots (smaps, vmprint, the frame map) taken while the page tables exist."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pagelab.kernel.events import Event, FaultEvent, QuantumEvent, SampleEvent, SyscallEvent, TeardownEvent
from pagelab.obs.framemap import FrameMap, frame_map
from pagelab.obs.pagerefs import PERIOD, PageRefs, PageSampler
from pagelab.obs.pagescan import census
from pagelab.obs.smaps import SmapsEntry, format_smaps, smaps_of
from pagelab.obs.vmprint import vmprint

if TYPE_CHECKING:
    from typing import IO

    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

# A recorded run samples the counters every this many faults too, not only at quantum
# ends, so that a program that runs in one quantum still has a curve.
SAMPLE_FAULTS = 32
# And at a system call, if this many instructions ran since the last sample, or 1/SPAN
# of the clock at the last sample, whichever is more: a program that makes many calls
# would otherwise pay for a sample at each, and a long one has its quantum ends.
SAMPLE_GAP = 10_000
SAMPLE_SPAN = 64
# The frame map at the peak is taken again at a new peak of frames in use if they grew
# past the last map's by 1/32 of them or by 1/1024 of RAM (a cell in a thousand of the
# drawn map), whichever is more, or if processes or their regions changed since it was
# taken (a fork's COW sharing adds few frames but changes the picture).
PEAK_GROWTH_SHIFT = 5
PEAK_RAM_SHIFT = 10


def _drop(_item: object) -> None:
    """Where events go when they are not kept."""


def _proc(m: Machine, pid: int) -> Proc | None:
    return next((q for q in m.procs if q is not None and q.pid == pid), None)


@dataclass
class Snapshot:
    """A process's memory just before its exit freed it."""

    pid: int
    name: str
    now: int
    smaps: list[SmapsEntry]
    vmprint: list[str]


@dataclass
class Recording:
    """What a recorded run leaves behind (RunReport.recording)."""

    log: list[Event] = field(default_factory=list)  # every event, in order
    times: array[int] = field(default_factory=lambda: array("q"))  # the clock at each
    samples: list[SampleEvent] = field(default_factory=list)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    end_map: FrameMap | None = None  # when the first process exited
    peak_map: FrameMap | None = None  # at the sample with the most frames in use
    page_refs: PageRefs | None = None  # the sampled page-reference string (A bits)
    init_pid: int = 1  # pid 1, left out of the measures unless asked for
    frames_total: int = 0  # the machine's frames (--mem / 4 KiB)
    # The measures obs/views.py derived from the finished recording, each computed once.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    _pairs: list[tuple[int, Event]] | None = field(default=None, repr=False, compare=False)

    @property
    def events(self) -> list[tuple[int, Event]]:
        """(clock, event) for each event, paired at the first look: a run only appends
        to log and times, with no tuple per event (a system call makes two events)."""
        if self._pairs is None or len(self._pairs) != len(self.log):
            self._pairs = list(zip(self.times.tolist(), self.log, strict=True))
        return self._pairs

    @events.setter
    def events(self, pairs: list[tuple[int, Event]]) -> None:
        self.times = array("q", [now for now, _ in pairs])
        self.log = [ev for _, ev in pairs]
        self._pairs = list(pairs)

    def top_faulting(self, n: int = 10) -> list[tuple[int, str, int]]:
        """The n instructions with the most faults: (sepc, text, count)."""
        from pagelab.obs.disasm import disasm

        got: Counter[tuple[int, int | None]] = Counter(
            (ev.sepc, ev.insn) for _, ev in self.events if type(ev) is FaultEvent
        )
        return [(pc, disasm(insn), c) for (pc, insn), c in got.most_common(n)]

    def records(self) -> list[dict[str, Any]]:
        """Each event as a flat dict: its type, the clock, and its fields."""
        out = []
        for now, ev in self.events:
            rec: dict[str, Any] = {"type": type(ev).__name__, "now": now}
            rec.update(asdict(ev))
            out.append(rec)
        return out


class Recorder:
    """A listener filling a Recording. It holds the Machine, to read page tables at exits."""

    def __init__(self, m: Machine, keep_events: bool = True, period: int | None = PERIOD) -> None:
        self.m = m
        self.rec = Recording(frames_total=m.km.nframes)
        self.keep_events = keep_events
        self._keep = self.rec.log.append if keep_events else _drop
        self._keep_time = self.rec.times.append if keep_events else _drop
        self._faults = 0
        self._sample_due = 0  # the clock at which a system call takes a sample
        # At a system call: the earliest of that and the sampler's next harvest, as last
        # seen (harvests only move later, so it may be early, never late).
        self._due = 0
        self._peak_used = 0  # the most frames in use at any sample so far
        self._changed = True  # regions changed since the peak map was taken (exec, mmap...)
        self._map_pids: set[int] = set()  # the processes alive when it was taken
        self._map_used = 0  # and the frames in use then
        # With a period, A bits are harvested every `period` instructions (pagerefs.py).
        self.pages = PageSampler(m, period) if period else None

    def finish(self) -> Recording:
        """The recording, completed; the sampler lets go of the machine."""
        if self.pages is not None:
            self.rec.page_refs = self.pages.finish()
            self.rec.init_pid = self.rec.page_refs.init_pid
            self.pages = None
        return self.rec

    def __call__(self, ev: Event) -> None:
        # Called for every event of the run (a system call makes two): the common kinds
        # first, each with as few calls as it needs.
        t = type(ev)
        if t is SyscallEvent:
            now = cast(SyscallEvent, ev).now
            self._keep(ev)
            self._keep_time(now)
            if now >= self._due:
                self._syscall_due(now)
            return
        if t is SampleEvent:
            sample = cast(SampleEvent, ev)
            self._keep(ev)
            self._keep_time(sample.now)
            self._sampled(sample)
            return
        self._keep(ev)
        self._keep_time(self.m.now())
        if t is FaultEvent:
            self._faults += 1
            if self._faults % SAMPLE_FAULTS == 0:
                self._sampled(self.m.sample())
        elif t is TeardownEvent:
            self._changed = True
            self._teardown(cast(TeardownEvent, ev))
        elif t is not QuantumEvent:
            self._changed = True  # exec, exit, a memory service (mmap...), an eviction

    def _syscall_due(self, now: int) -> None:
        pages = self.pages
        if pages is not None and now >= pages.due:
            pages.tick(None)  # a harvest due now need not wait for the quantum's end
        if now >= self._sample_due:
            self._sampled(self.m.sample())
        self._due = self._sample_due if pages is None else min(self._sample_due, pages.due)

    def _sampled(self, ev: SampleEvent) -> None:
        self.rec.samples.append(ev)
        self._sample_due = ev.now + max(SAMPLE_GAP, ev.now // SAMPLE_SPAN)
        used = ev.frames_total - ev.frames_free
        if used <= self._peak_used:
            return
        self._peak_used = used
        if (
            self.rec.peak_map is None
            or used >= self._map_used + max(1, self._map_used >> PEAK_GROWTH_SHIFT, ev.frames_total >> PEAK_RAM_SHIFT)
            or self._changed
            or ev.rss.keys() != self._map_pids
        ):
            self.rec.peak_map = frame_map(self.m)
            self._changed = False
            self._map_pids = set(ev.rss)
            self._map_used = used

    def _teardown(self, ev: TeardownEvent) -> None:
        m = self.m
        p = _proc(m, ev.pid)
        if p is None or not p.pagetable:
            return
        if self.pages is not None:
            self.pages.exiting(ev.pid)
        if _init_at_shutdown(m, p):
            return  # its last page uses only: init has no snapshot (it does not exit)
        cen = census(m)
        self.rec.snapshots[ev.pid] = Snapshot(
            ev.pid, ev.name, m.clock.now, smaps_of(m, p, cen), vmprint(m.ram, p.pagetable)
        )
        if p is m.first:  # the program (init, pid 1, never exits)
            self.rec.end_map = frame_map(m, cen)


def _init_at_shutdown(m: Machine, p: Proc) -> bool:
    """init's address space, shown as the machine stops: not an exit (kernel unit tests
    that boot no init have the program play init)."""
    return p is m.init and p is not m.first


class SmapsWriter:
    """`--smaps FILE`: each process's smaps, written as it exits (every process exits by the
    end of the run, the last ones killed when the first exits)."""

    def __init__(self, m: Machine, out: IO[str]) -> None:
        self.m = m
        self.out = out

    def __call__(self, ev: Event) -> None:
        if type(ev) is not TeardownEvent:
            return
        assert isinstance(ev, TeardownEvent)
        p = _proc(self.m, ev.pid)
        if p is None or not p.pagetable or _init_at_shutdown(self.m, p):
            return
        when = f"at exit, clock {self.m.clock.now}"
        self.out.write(format_smaps(ev.pid, ev.name, when, smaps_of(self.m, p)) + "\n")
        self.out.flush()


def as_columns(cols: dict[str, Any]) -> Any:
    """A pandas DataFrame of equal-length numpy columns when pandas is installed, else the
    dict of columns itself."""
    try:
        import pandas as pd
    except ImportError:
        return cols
    return pd.DataFrame(cols)


def as_table(records: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of the records when pandas is installed, else the list itself."""
    try:
        import pandas as pd
    except ImportError:
        return records
    return pd.DataFrame.from_records(records)
