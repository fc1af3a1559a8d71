"""A timeline for ui.perfetto.dev and chrome://tracing: Chrome trace-event JSON.

- one process per guest process, with two threads: "cpu" (a slice per run quantum, an
  instant per page fault, named by kind) and "syscalls" (a slice per system call, by name;
  a call that blocks lasts until it is done);
- counters: each process's RSS and, when A bits are sampled (obs/pagerefs.py), its working
  set W(t, tau) for tau of one and of ten sampling periods; the machine's free frames, page
  cache and swap.
The time base is the instruction clock: 1 µs on the timeline is 1,000 instructions (idle
time skipped by sleep counts too), so two runs of the same program line up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from pagelab.kernel.events import (
    Event,
    EvictEvent,
    ExecEvent,
    ExitEvent,
    FaultEvent,
    LoadEvent,
    MmEvent,
    QuantumEvent,
    SampleEvent,
    SyscallEvent,
    TeardownEvent,
)
from pagelab.obs.disasm import disasm
from pagelab.obs.syscalls import syscall_name

SYSCALL_TID = 100_000  # syscalls of pid p are on thread SYSCALL_TID + p
KERNEL_PID = 0  # the machine-wide counters


def ts(now: int) -> float:
    """Instructions -> the trace's microseconds (1,000 instructions per µs)."""
    return now / 1000


class PerfettoWriter:
    """A listener collecting trace events; `close()` writes the JSON."""

    def __init__(self, out: IO[str], now: Callable[[], int]) -> None:
        self.out = out
        self.now = now  # the machine's clock, mid-quantum included (Machine.now)
        self.events: list[dict[str, Any]] = []
        self.names: dict[int, str] = {}
        self._quantum: dict[int, int] = {}  # pid -> start of its running quantum
        self._syscall: dict[int, tuple[int, int, str]] = {}  # pid -> (num, start, abi)
        self._last: dict[tuple[int, str], Any] = {}  # last counter values written
        self._seen: dict[int, dict[int, int]] = {}  # pid -> {vpn: last period used}
        self._period = 0
        self.ws_period = 0  # instructions per sampling period, set by whoever samples

    def working_set(self, now: int, used: dict[int, Any]) -> None:
        """A sampling period ended at `now`: pages used in it, by pid (a PageSampler watcher)."""
        self._period += 1
        k = self._period
        for pid, vpns in used.items():
            seen = self._seen.setdefault(pid, {})
            for v in vpns.tolist():
                seen[v] = k
        for pid, seen in list(self._seen.items()):
            if pid not in used and not any(s > k - 10 for s in seen.values()):
                del self._seen[pid]  # exited, or idle for ten periods: its sets are empty
                self._counter(pid, "working set pages", now, {"tau1": 0, "tau10": 0})
                continue
            w1 = sum(1 for s in seen.values() if s == k)
            w10 = sum(1 for s in seen.values() if s > k - 10)
            self._counter(pid, "working set pages", now, {"tau1": w1, "tau10": w10})

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, FaultEvent):
            args: dict[str, Any] = {"va": hex(ev.stval), "sepc": hex(ev.sepc), "resolution": ev.resolution}
            if ev.insn is not None:
                args["insn"] = disasm(ev.insn)
            if ev.reason:
                args["reason"] = ev.reason
            self._add("i", ev.kind, ev.pid, ev.pid, self.now(), cat="fault", s="t", args=args)
        elif isinstance(ev, EvictEvent):
            args = {"va": hex(ev.va), "pa": hex(ev.pa), "page": ev.kind, "to": ev.where}
            self._add("i", "evict", ev.pid, ev.pid, self.now(), cat="evict", s="t", args=args)
        elif isinstance(ev, MmEvent):
            args = {"addr": hex(ev.addr), "len": ev.length, "ret": ev.ret, "arg": ev.arg, "flags": ev.flags}
            if ev.pages:
                args["pages"] = ev.pages
            self._add("i", ev.call, ev.pid, ev.pid, self.now(), cat="mm", s="t", args=args)
        elif isinstance(ev, LoadEvent):  # load control (--alloc ws, pff)
            self._add("i", ev.action, ev.pid, ev.pid, self.now(), cat="load", s="t", args={"pages": ev.pages})
        elif isinstance(ev, QuantumEvent):
            if ev.phase == "start":
                self._quantum[ev.pid] = ev.now
            else:
                self._end_quantum(ev.pid, ev.now)
        elif isinstance(ev, SyscallEvent):
            self._on_syscall(ev)
        elif isinstance(ev, SampleEvent):
            self._counter(KERNEL_PID, "frames", ev.now, {"free": ev.frames_free, "cache": ev.cache, "swap": ev.swap})
            for pid, rss in ev.rss.items():
                self._counter(pid, "rss pages", ev.now, {"rss": rss})
        elif isinstance(ev, ExecEvent | ExitEvent | TeardownEvent):
            self.names[ev.pid] = ev.name
            if isinstance(ev, TeardownEvent):
                now = self.now()
                self._end_syscall(ev.pid, now)  # a call that never returns (exit, a kill)
                self._counter(ev.pid, "rss pages", now, {"rss": 0})

    def _on_syscall(self, ev: SyscallEvent) -> None:
        open_ = self._syscall.get(ev.pid)
        if ev.phase == "enter":
            if open_ is not None and open_[0] == ev.num:
                return  # the same call, restarted after it blocked: one slice
            self._end_syscall(ev.pid, ev.now)
            self._syscall[ev.pid] = (ev.num, ev.now, ev.abi)
        elif ev.phase == "exit":
            self._end_syscall(ev.pid, ev.now, ev.ret)

    def _end_syscall(self, pid: int, now: int, ret: int | None = None) -> None:
        open_ = self._syscall.pop(pid, None)
        if open_ is None:
            return
        num, start, abi = open_
        args = {"num": num} if ret is None else {"num": num, "ret": ret}
        self._add(
            "X", syscall_name(num, abi), pid, SYSCALL_TID + pid, start, cat="syscall", dur=ts(now - start), args=args
        )

    def _end_quantum(self, pid: int, now: int) -> None:
        start = self._quantum.pop(pid, None)
        if start is not None:
            self._add("X", "run", pid, pid, start, cat="sched", dur=ts(now - start))

    def _counter(self, pid: int, name: str, now: int, values: dict[str, int]) -> None:
        if self._last.get((pid, name)) != values:
            self._last[(pid, name)] = values
            self._add("C", name, pid, pid, now, args=values)

    def _add(self, ph: str, name: str, pid: int, tid: int, now: int, **kw: Any) -> None:
        self.events.append({"ph": ph, "name": name, "pid": pid, "tid": tid, "ts": ts(now), **kw})

    def trace(self) -> dict[str, Any]:
        """The whole trace: the events so far, open slices closed now, and the names."""
        now = self.now()
        for pid in list(self._quantum):
            self._end_quantum(pid, now)
        for pid in list(self._syscall):
            self._end_syscall(pid, now)
        meta: list[dict[str, Any]] = [
            {"ph": "M", "name": "process_name", "pid": KERNEL_PID, "tid": 0, "args": {"name": "kernel"}}
        ]
        for pid, name in sorted(self.names.items()):
            meta.append({"ph": "M", "name": "process_name", "pid": pid, "tid": pid, "args": {"name": f"{name} {pid}"}})
            meta.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": pid, "args": {"name": "cpu"}})
            meta.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": SYSCALL_TID + pid, "args": {"name": "syscalls"}}
            )
        return {
            "traceEvents": meta + self.events,
            "displayTimeUnit": "ns",
            "otherData": {"time_base": "instruction clock: 1 us = 1000 instructions"},
        }

    def close(self) -> None:
        json.dump(self.trace(), self.out)
        self.out.write("\n")
        self.out.flush()
