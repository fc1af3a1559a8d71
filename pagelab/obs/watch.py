"""What to watch during a run, and the observers that do it, attached to a Machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from pagelab.obs.faultlog import FaultLog
from pagelab.obs.pagerefs import PERIOD, PageSampler
from pagelab.obs.perfetto import PerfettoWriter
from pagelab.obs.progress import ClearingStream, LiveLine, RunProgress, StatusLine
from pagelab.obs.recorder import Recorder, Recording, SmapsWriter

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine


@dataclass
class Watch:
    """Every observer is off by default: an unwatched run emits no events at all."""

    fault_log: IO[str] | None = None  # -v / --show-faults: one line per fault here
    fault_limit: int | None = None  # --show-faults=N: stop after N lines
    trace_insn: bool = False  # --trace-insn: the JSONL trace names the instruction
    perfetto: IO[str] | None = None  # --perfetto: Chrome trace-event JSON here
    smaps: IO[str] | None = None  # --smaps: each process's smaps at its exit
    progress: IO[str] | None = None  # a live line here, if it is a terminal (until the guest reads it)
    status: IO[str] | None = None  # ^T at the terminal prints one status line here (`pagelab shell`)
    record: bool = False  # keep events and snapshots for RunReport (API, report)
    insns: bool = False  # fault events carry the faulting instruction (top-faulting table)
    # With record: harvest A bits every this many instructions (working sets, reference
    # string, heat maps: obs/pagerefs.py); 0 = not at all.
    page_period: int = PERIOD

    @property
    def wants_insn(self) -> bool:
        return self.fault_log is not None or self.trace_insn or self.insns or self.perfetto is not None


class Session:
    """The observers of one run. close() finishes what is written at the end."""

    def __init__(self, m: Machine, w: Watch) -> None:
        self.perfetto: PerfettoWriter | None = None
        self.recorder: Recorder | None = None
        self.line: LiveLine | None = None
        m.want_insn = w.wants_insn
        if w.fault_log is not None:
            m.listeners.append(FaultLog(w.fault_log, w.fault_limit))
        if w.perfetto is not None:
            self.perfetto = PerfettoWriter(w.perfetto, m.now)
            m.listeners.append(self.perfetto)
        if w.smaps is not None:
            m.listeners.append(SmapsWriter(m, w.smaps))
        if w.record:
            self.recorder = Recorder(m, period=w.page_period)
            m.listeners.append(self.recorder)
        if self.perfetto is not None and w.page_period:
            # The timeline's working-set counters come from the same A-bit sampling.
            sampler = self.recorder.pages if self.recorder is not None else None
            if sampler is None:
                sampler = PageSampler(m, w.page_period, keep=False)
            sampler.watchers.append(self.perfetto.working_set)
        if w.progress is not None and w.fault_log is None:  # the fault log is progress enough
            self.line = LiveLine(w.progress)
            if self.line.enabled:
                ticker = RunProgress(self.line)
                m.tickers.append(ticker)
                # The guest reads the terminal: it is the guest's now, and the line goes.
                m.console.on_terminal_read = lambda: self._give_way(m, ticker)
                # Whatever else reaches the terminal (the guest's output, kernel messages)
                # first takes the line off the screen.
                con = m.console
                con.stdout = cast(BinaryIO, ClearingStream(con.stdout, self.line))
                con.stderr = cast(BinaryIO, ClearingStream(con.stderr, self.line))
                m.stderr = cast(BinaryIO, ClearingStream(m.stderr, self.line))
        if w.status is not None:
            m.on_info = StatusLine(m.sample, w.status)

    def _give_way(self, m: Machine, ticker: RunProgress) -> None:
        """Take the progress line off the screen for good."""
        if ticker in m.tickers:
            m.tickers.remove(ticker)
        if self.line is not None:
            self.line.close()

    @property
    def recording(self) -> Recording | None:
        return self.recorder.finish() if self.recorder is not None else None

    def close(self) -> None:
        if self.line is not None:
            self.line.close()
        if self.perfetto is not None:
            self.perfetto.close()
