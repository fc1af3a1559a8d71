"""The Machine: the hart, RAM and the kernel's state, with the scheduler that drives them.

Everything mutable lives in one Machine, so two machines never share state.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from pagelab.hw.clock import Clock
from pagelab.hw.hart import PC, Hart, Stop, Trap
from pagelab.hw.mmu import SCAUSE_FOR, Access
from pagelab.hw.ram import PhysMem
from pagelab.kernel import proc
from pagelab.kernel.abi import Abi, SignalOps
from pagelab.kernel.abi.linux import LINUX
from pagelab.kernel.abi.xv6 import XV6
from pagelab.kernel.acct import ExitLog
from pagelab.kernel.config import Config
from pagelab.kernel.console import Console
from pagelab.kernel.events import (
    Event,
    FaultEvent,
    Listener,
    ListenerError,
    QuantumEvent,
    SampleEvent,
    TeardownEvent,
    Ticker,
)
from pagelab.kernel.exec import exec_bytes
from pagelab.kernel.file import FileTable, console_files, filedup
from pagelab.kernel.fs import FileSystem
from pagelab.kernel.locks import LockTable
from pagelab.kernel.mm.alloc import Allocator
from pagelab.kernel.mm.fault import handle_fault
from pagelab.kernel.mm.filemap import PageCache
from pagelab.kernel.mm.kalloc import Kalloc
from pagelab.kernel.mm.vmscan import Reclaimer
from pagelab.kernel.mm.vmstat import VmStat
from pagelab.kernel.param import NPROC
from pagelab.kernel.proc import Proc, State
from pagelab.kernel.syscall import Handler
from pagelab.kernel.trap import serve_syscall, usertrap

# The most instructions the CPU runs past quantum ends without coming back (_elide_below):
# about 5-10 ms of guest compute.
ELIDE_MAX = 1 << 23


class Machine:
    def __init__(
        self,
        config: Config,
        root: Path,
        stdin: BinaryIO,
        stdout: BinaryIO,
        stderr: BinaryIO,
        bundled: Callable[[str], bytes | None] | None = None,
        interactive: bool = False,
    ) -> None:
        self.config = config
        self.ram = PhysMem(config.mem)
        self.hart = Hart(self.ram)
        self.km = Kalloc(self.ram)
        self.clock = Clock(config.tick_insns)
        # The one shared zero frame, allocated at boot and never freed.
        self.zero_frame = self.km.kalloc()
        self.boot_free = self.km.nfree
        self.vmstat = VmStat()
        self.procs: list[Proc | None] = [None] * NPROC
        # The used slots of procs, in slot order, kept by live_changed(): the scheduler
        # looks at these rather than at all NPROC slots.
        self.live: list[tuple[int, Proc]] = []
        # Processes that went to sleep and may still be asleep (proc.sleep adds them;
        # wakeup drops those no longer asleep): who wakeup and the clock have to look at.
        self.sleepers: list[Proc] = []
        self.next_pid = 1
        self.init: Proc | None = None  # pid 1, if booted: it adopts orphans
        self.first: Proc | None = None  # the program whose exit ends the run
        self.loaded: Proc | None = None  # whose registers are on the hart
        self.current: Proc | None = None  # who is running
        self.listeners: list[Listener] = []
        # Observers of the counters only, called at each quantum's end with `sample` (a
        # progress line): unlike listeners they make no fault build an event.
        self.tickers: list[Ticker] = []
        self.want_insn = False  # fault events carry the faulting instruction (fault log)
        self.exits = ExitLog()  # processes that have exited: the first ones in full, then totals
        self.oopses = 0  # kernel bugs caught (see oops)
        # True while the kernel itself touches user memory for a system call (copyin/copyout):
        # a fault it cannot resolve then fails the call (efault) instead of killing.
        self.in_uaccess = False
        # When a list, the host time of each fault, with no event built: for benchmarks.
        self.fault_stamps: list[float] | None = None
        self.stderr = stderr
        self.fs = FileSystem(root, bundled, quota=config.disk)
        self.ftable = FileTable()
        self.locks = LockTable()  # POSIX record locks (fcntl), by file
        # One page cache for read/write and every file mapping; its cache-only frames are
        # the first thing given back when kalloc runs dry.
        self.pagecache = PageCache(self.km, self.fs)
        self.km.reclaim = self.pagecache.shrink
        # Stale translated code: kernel writes into frames go through frame_written.
        self.km.frame_written = self.pagecache.frame_written = self.hart.code_written
        # When that is not enough, page reclaim evicts pages chosen by the policy (to swap,
        # or back to their files), and the OOM killer is the last resort.
        self.alloc = Allocator(self)  # whose frames reclaim may take; load control
        self.reclaim = Reclaimer(self)
        self.km.reclaim = self.reclaim.shrink
        self.console = Console(stdin, stdout, stderr, interactive)
        self.intr = False  # ^C at the host terminal, not yet handled (see interrupt)
        self.stop_signal = 0  # a host signal that ends the run in order (see request_stop)
        # ^T at the host terminal (BSD's SIGINFO): one status line is wanted, from on_info.
        self.info_wanted = False
        self.on_info: Callable[[], None] | None = None
        # The personalities, each with this machine's own copy of its table; exec gives
        # each process one of them (Proc.abi). `syscalls` is the xv6 table.
        self.abis: dict[str, Abi] = {a.name: replace(a, syscalls=dict(a.syscalls)) for a in (XV6, LINUX)}
        self.syscalls: dict[int, Handler] = self.abis["xv6"].syscalls
        self.enosys: dict[int, int] = {}  # Linux calls answered -ENOSYS, by number
        # Signals acted on, by number (Linux): handlers entered, and deaths by default action.
        self.signals: dict[str, dict[int, int]] = {"handled": {}, "killed": {}}
        # The environment of a Linux program started with none to inherit (the run's
        # program, or one exec'd by an xv6 program): set by the front end.
        self.default_env: list[bytes] = []
        self.tmp_dirs_made = False  # /tmp and /var/tmp, at the first Linux program's start
        # The run's entropy (AT_RANDOM, getrandom): from the seed, so runs repeat.
        self.entropy = random.Random(config.seed)
        self.hart.on_fault = self._guest_fault
        self.hart.on_ecall = self._ecall
        self._rr = 0
        self._accounted = 0  # instructions of the current hart.run already on the clock
        self._scanned_tick = -1  # the tick at which sleepers were last checked
        self._used_up: Proc | None = None  # whose last run of the CPU ran out its quantum
        self.restarts: set[Proc] = set()  # asleep inside a system call, to finish on waking

    # --- observation -------------------------------------------------------------

    def emit(self, ev: Event) -> None:
        if self.want_insn and type(ev) is FaultEvent and ev.insn is None:
            # The faulting process's page table is the hart's right now: read its code.
            ev.insn = self.hart.fetch_insn(ev.sepc)
        for fn in self.listeners:
            try:
                fn(ev)
            except Exception as e:  # the observer's error, wherever the kernel was
                raise ListenerError(e, fn) from e

    def now(self) -> int:
        """The clock, counting the instructions of the hart.run in progress: the time of a
        fault (at the granularity of a translated block)."""
        return self.clock.now + self.hart.quanta.executed - self._accounted

    def sample(self) -> SampleEvent:
        """The counters as they stand now."""
        rss = {q.pid: q.rss for _j, q in self.live if q.pagetable}
        km = self.km
        cache = self.pagecache.cache_only_frames()
        now = self.now()
        insns = self.clock.instructions + now - self.clock.now
        swap = self.reclaim.swap.used if self.reclaim.swap is not None else 0
        return SampleEvent(now, insns, km.nframes, km.nfree, cache, swap, dict(self.vmstat.faults), rss)

    def _observe_quantum(self, p: Proc, phase: str) -> None:
        if self.listeners:
            self.emit(QuantumEvent(p.pid, phase, self.now()))
        if phase == "end":
            if self.listeners:
                self.emit(self.sample())
            for fn in self.tickers:
                fn(self.sample)  # the ticker builds a sample only when it will use it

    def log(self, msg: str) -> None:
        """A kernel message, to stderr as xv6's printf to the console."""
        self.stderr.write(msg.encode() + b"\n")
        self.stderr.flush()

    # --- faults --------------------------------------------------------------------

    def _guest_fault(self, trap: Trap) -> bool:
        """Called by the hart's TLB-fill hook when the walk fails."""
        p = self.current
        if p is None:
            return False
        self.reclaim.oom_ok = True  # a fault that cannot get memory may call the OOM killer
        try:
            return handle_fault(self, p, trap)
        except Exception:  # a kernel bug must not take the host down
            self.oops(p, "page fault")
            return False
        finally:
            self.reclaim.oom_ok = False

    def _ecall(self) -> bool | None:
        """A system call, met inside the hart's interrupt hook. Serve it there unless it
        must run outside emu_start (exec flushes translated code; a killed process exits);
        go on running the caller unless it slept, exited or was killed."""
        p = self.current
        if p is None or p.killed or self.stop_signal or self.hart.syscall_args()[7] in p.abi.outside:
            return None
        # Put the instructions run so far in this quantum on the clock (uptime, sleep).
        executed = self.hart.quanta.executed
        self.clock.advance(executed - self._accounted)
        p.vtime += executed - self._accounted
        self._accounted = executed
        serve_syscall(self, p)
        # A signal the call made deliverable (raise, sigprocmask) is delivered with the CPU
        # stopped, before the next instruction.
        return p.state is State.RUNNING and not p.killed and not (p.sig.pending & ~p.sig.blocked)

    def uaccess_fault(self, va: int, access: Access) -> bool:
        """The kernel touched user memory that needs a fault (copyin/copyout).
        sepc is the ecall that asked for it."""
        p = self.current
        if p is None:
            return False
        self.in_uaccess = True
        try:
            return handle_fault(self, p, Trap(SCAUSE_FOR[access], va, self.hart.reg(PC) - 4))
        finally:
            self.in_uaccess = False

    def oops(self, p: Proc, where: str) -> None:
        """A bug in this kernel, met while serving p: like Linux's oops, report it, kill the
        process, keep the machine going. Tests fail on any oops."""
        self.oopses += 1
        self.log(
            f"pagelab: kernel oops in {where} for pid={p.pid} ({p.name}); process killed\n{traceback.format_exc()}"
        )
        p.killed = True

    # --- processes ---------------------------------------------------------------------

    def boot_init(self, image: bytes) -> Proc | None:
        """Start init, pid 1, from ELF bytes, as xv6's userinit does. Its descriptors 0, 1
        and 2 are the console; it only waits, reaping the orphans that exit_proc gives it."""
        p = self._start(image, [b"init"], "init", None, abi="auto")
        if p is not None:
            self.init = p
        return p

    def spawn(
        self, image: bytes, argv: list[bytes], name: str, envp: list[bytes] | None = None, exe: str = ""
    ) -> Proc | None:
        """Start a program from ELF bytes: init's child, with init's console descriptors, as
        if init had forked and exec'd it. The first one spawned is the run's program: its
        exit ends the run. `envp` is a Linux program's environment, `exe` its absolute path
        in the guest (/proc/self/exe), by default /NAME."""
        p = self._start(image, argv, name, self.init, envp=envp)
        if p is not None:
            p.exe = exe or "/" + name
        if p is not None and self.first is None:
            self.first = p
        return p

    def _start(
        self,
        image: bytes,
        argv: list[bytes],
        name: str,
        parent: Proc | None,
        envp: list[bytes] | None = None,
        abi: str = "",
    ) -> Proc | None:
        p = proc.allocproc(self, name)
        if p is None:
            return None
        self._load(p)
        if exec_bytes(self, p, image, argv, name, envp, abi) < 0:
            self.loaded = None
            proc.freeproc(self, p)
            return None
        p.ctx = self.hart.save()
        p.parent = parent
        p.ofile[:3] = (
            console_files(self) if parent is None else [None if f is None else filedup(f) for f in parent.ofile[:3]]
        )
        p.state = State.RUNNABLE
        return p

    def _load(self, p: Proc) -> None:
        """Context switch: put p's registers and page table on the hart. Registers are
        saved into the context the process already has, so no allocation."""
        if self.loaded is p:
            return
        old = self.loaded
        if old is not None and old.pagetable:
            old.ctx = self.hart.save(old.ctx)
        if p.ctx is not None:
            self.hart.restore(p.ctx)
        self.hart.switch_mm(p.pagetable)
        self.loaded = p

    def run(self) -> int:
        """Schedule until the program exits; returns its exit status."""
        first, init = self.first, self.init
        if first is None:
            raise RuntimeError("no process to run")
        if self.reclaim.failure is not None:  # the policy's __init__ failed
            raise self.reclaim.failure
        while first.state != State.ZOMBIE and (init is None or init.state != State.ZOMBIE):
            if self.stop_signal:
                break
            if self.info_wanted:
                self._info()
            if self.intr:
                self._kill_foreground()
            if self.console.interactive:
                self._poll_console(0.0)
            p = self._pick()
            if p is None:
                if not self._idle():
                    break
                continue
            self._run_quantum(p)
        self._shutdown()
        return first.xstate

    def live_changed(self) -> None:
        """A slot of the process table was taken or freed."""
        self.live = [(j, q) for j, q in enumerate(self.procs) if q is not None]

    def _pick(self) -> Proc | None:
        """Round robin over the process table: the first runnable process at or after
        slot _rr, wrapping around. Processes suspended by load control are skipped;
        if nothing else can run, the first of them is resumed."""
        p = self._pick_from()
        if p is None and self.alloc.suspended and self.alloc.nobody_runs():
            p = self._pick_from()
        return p

    def _pick_from(self) -> Proc | None:
        rr = self._rr
        wrapped: tuple[int, Proc] | None = None
        may_run = self.alloc.runnable
        for j, p in self.live:
            if p.state is State.RUNNABLE and may_run(p):
                if j >= rr:
                    self._rr = j + 1
                    return p
                if wrapped is None:
                    wrapped = (j, p)
        if wrapped is None:
            return None
        self._rr = wrapped[0] + 1
        return wrapped[1]

    def _run_quantum(self, p: Proc) -> None:
        if p.killed:  # killed while waiting to run (the OOM killer may have taken its memory)
            self.current = p
            proc.exit_proc(self, p, -1)
            self.current = None
            return
        self._load(p)
        p.state = State.RUNNING
        self.current = p
        watched = self.listeners or self.tickers  # events cost nothing when nobody watches
        if watched:
            self._observe_quantum(p, "start")
        if p in self.restarts:
            self._finish_syscall(p)
        sigs = p.abi.signals
        if sigs is not None and p.sig.pending:
            self._signal(p, sigs)
        quantum = self.config.quantum
        budget = quantum
        while budget > 0 and p.state == State.RUNNING and not self.stop_signal:
            self._accounted = 0
            # Worth working out only for a process that used up its last quantum: one
            # that just woke up in a system call will most likely make another soon.
            elide = self._elide_below(p) if p is self._used_up else 0
            res = self.hart.run(budget, elide, quantum)
            self._used_up = p if res.stop is Stop.QUANTUM else None
            if res.elided:
                # The CPU went on past quantum ends (see _elide_below): p is in a later
                # quantum, which began at res.quantum_start.
                budget = quantum - max(res.executed - res.quantum_start, 1)
            else:
                budget -= max(res.executed, 1)
            self.clock.advance(res.executed - self._accounted)
            p.vtime += res.executed - self._accounted
            self._accounted = res.executed
            if res.stop is not Stop.QUANTUM or p.killed:  # else usertrap has nothing to do
                usertrap(self, p, res)
                if sigs is not None and p.sig.pending:
                    self._signal(p, sigs)
            if self.clock.ticks != self._scanned_tick:
                self._wake_sleepers()
            self.reclaim.sample()  # between runs of the CPU: cheap unless a sampling tick is due
        if watched:
            self._observe_quantum(p, "end")
        self.current = None
        if p.state == State.RUNNING:
            p.state = State.RUNNABLE
        # p's registers stay on the hart; _load saves them when another process runs.

    def _elide_below(self, p: Proc) -> int:
        """How many instructions p may run from now on past the ends of its quanta, with
        no stop: 0 unless the scheduler would do nothing at those ends but pick p again.
        That holds while no other process is runnable, nobody observes quanta, and no
        sleep(ticks) wake-up or sampling tick falls due (the hart stops as soon as the
        kernel runs, for a fault or a system call). Each stop and restart of the CPU
        costs 5-9 us; a CPU-bound process makes one per 100k instructions otherwise.
        The trace and stats are the same either way (tests/test_quanta.py)."""
        if self.listeners or self.tickers or self.intr or self.stop_signal or self.console.interactive:
            return 0
        for _j, q in self.live:
            if q.state is State.RUNNABLE and q is not p:
                return 0
        clock = self.clock
        # A bound, so that signals (^C, SIGTERM), which Python handles only when Python
        # code runs (between runs of the CPU, or in a hook), still act within milliseconds.
        until = clock.now + ELIDE_MAX
        wake = self._next_wake_tick()
        if wake is not None:
            until = min(until, wake * clock.tick_insns)
        sampling = self.reclaim.next_sample()
        if sampling is not None:
            until = min(until, sampling)
        return max(until - clock.now, 0)

    def _signal(self, p: Proc, sigs: SignalOps) -> None:
        """p goes back to user mode with a signal pending. If it sleeps in a system call,
        the call runs once more and, seeing the signal (Proc.interrupted), ends with
        -EINTR, as Linux's do_wait and pipe_read look for a pending signal only when they
        are about to sleep; then the signal is delivered."""
        if not p.sig.pending & ~p.sig.blocked:
            return
        if p.state is State.SLEEPING and p in self.restarts:
            p.state = State.RUNNING
            p.chan = None
            self._finish_syscall(p)
            if p.state is State.SLEEPING:  # a call that does not look at signals
                p.state = State.RUNNING
                p.chan = None
                sigs.interrupt(self, p)
        if p.state is State.RUNNING:
            sigs.deliver(self, p)

    def _finish_syscall(self, p: Proc) -> None:
        """p slept inside a system call and has been woken: run the call again, without
        the guest re-executing its ecall (cheaper, and the ecall retires once)."""
        self.restarts.discard(p)
        if p.killed:
            proc.exit_proc(self, p, -1)
            return
        serve_syscall(self, p)
        if p.killed and p.state not in (State.ZOMBIE, State.SLEEPING):
            proc.exit_proc(self, p, -1)

    def _wake_sleepers(self) -> None:
        """Wake sleep(ticks) callers whose time has come. A sleeper always waits for a
        later tick, so checking once per tick is enough."""
        ticks = self.clock.ticks
        self._scanned_tick = ticks
        woke = False
        for q in self.sleepers:
            if q.state is State.SLEEPING and q.chan is self.clock and q.wake_tick <= ticks:
                q.state = State.RUNNABLE
                q.chan = None
                woke = True
        if woke:
            self.sleepers = [q for q in self.sleepers if q.state is State.SLEEPING]

    def _idle(self) -> bool:
        """Nobody can run. Jump the clock to the next sleep(ticks) wake-up, if any."""
        if self.stop_signal:
            return False
        wake = self._next_wake_tick()
        if wake is None:
            if self.console.interactive and self._console_readers():
                self._poll_console(0.1)  # a person may type: wait for them, a little at a time
                return True
            self.log("pagelab: every process is blocked forever; stopping")
            return False
        self.clock.jump_to_tick(wake)
        self._wake_sleepers()
        return True

    def _next_wake_tick(self) -> int | None:
        """The earliest tick a sleep(ticks) caller waits for, or None if nobody does."""
        wakes = [q.wake_tick for q in self.sleepers if q.state is State.SLEEPING and q.chan is self.clock]
        return min(wakes) if wakes else None

    def _console_readers(self) -> bool:
        return any(q.state is State.SLEEPING and q.chan is self.console for q in self.sleepers)

    def _poll_console(self, timeout: float) -> None:
        """Wake the processes waiting for console input if the terminal has some."""
        if self._console_readers() and self.console.ready(timeout):
            proc.wakeup(self, self.console)

    def interrupt(self) -> None:
        """^C at the host terminal. Called from a signal handler, so it only sets a flag;
        the scheduler acts on it between quanta (_kill_foreground)."""
        self.intr = True

    def request_stop(self, signum: int) -> None:
        """A host signal (SIGTERM, SIGHUP, SIGINT) asks the whole run to end. Called from
        a signal handler, maybe inside a hook of the running CPU, so it only sets flags:
        the system-call hook stops the CPU at the next call, the scheduler stops at the end
        of the quantum, a console read that waits for the host gives up (Console.stop), and
        run() then shuts the machine down as at a normal end (shared pages written back)."""
        if not self.stop_signal:
            self.stop_signal = signum
        self.console.stop = True

    def request_info(self) -> None:
        """^T at the host terminal (SIGINFO). Called from a signal handler: only a flag,
        answered by the scheduler between quanta, or within 0.1 s while all wait."""
        self.info_wanted = True

    def _info(self) -> None:
        self.info_wanted = False
        if self.on_info is not None:
            self.on_info()

    def _kill_foreground(self) -> None:
        """^C: kill every descendant of the program (the shell's running commands, and its
        background jobs, which our sh keeps as children), as a terminal's SIGINT stops its
        foreground job. The program itself and init go on."""
        self.intr = False
        first = self.first
        if first is None:
            return
        for q in self.procs:
            if q is None or q is first or q.state == State.ZOMBIE:
                continue
            a = q.parent
            while a is not None and a is not first:
                a = a.parent
            if a is first:
                proc.kill(self, q.pid)

    def _shutdown(self) -> None:
        """The program is done: stop what remains (as xv6 halts), then init, and release all
        memory. init leaves no exit record: it does not exit, the machine stops."""
        for q in list(self.procs):
            if q is None or q is self.init:
                continue
            if q.state != State.ZOMBIE:
                q.killed = True
                self.current = q
                proc.exit_proc(self, q, -1)
                self.current = None
        if self.init is not None:
            if self.listeners and self.init.pagetable:  # its address space, one last time
                self.emit(TeardownEvent(self.init.pid, self.init.name))
            proc.close_files(self, self.init)
        for q in list(self.procs):
            if q is not None:
                proc.freeproc(self, q)
        self.loaded = None
        self.restarts.clear()

    def close(self) -> None:
        self.hart.close()
        self.reclaim.close()
