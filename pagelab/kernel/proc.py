"""Processes, as in xv6's proc.c: the table, fork, exit, wait, kill, sleep and wakeup."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pagelab.hw.hart import A0
from pagelab.kernel.abi import NOABI, Abi
from pagelab.kernel.events import ExitEvent, TeardownEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.kalloc import OutOfFrames
from pagelab.kernel.mm.mmap import dup_mmap, exit_mmap, new_vmas
from pagelab.kernel.mm.vma import Vma, VmaList, mapping
from pagelab.kernel.param import NOFILE
from pagelab.kernel.signal import SigState

MAPPINGS_RECORDED = 1000  # regions an exit record lists; mappings_total counts them all

if TYPE_CHECKING:
    from pagelab.kernel.file import File
    from pagelab.kernel.machine import Machine


class State(Enum):
    USED = "used"
    SLEEPING = "sleeping"
    RUNNABLE = "runnable"
    RUNNING = "running"
    ZOMBIE = "zombie"


@dataclass(eq=False)
class Proc:
    pid: int
    name: str = ""
    state: State = State.USED
    parent: Proc | None = None
    pagetable: int = 0
    vmas: VmaList = field(default_factory=VmaList)  # the regions of the address space
    sz: int = 0  # the program break: image, guard, stack and heap lie below it
    heap_base: int = 0  # where sbrk's heap starts (just above the stack)
    stack_base: int = 0  # lowest address of the stack page; the guard page is below it
    ctx: Any = None  # saved registers (a Unicorn context) while not on the hart
    ofile: list[File | None] = field(default_factory=lambda: [None] * NOFILE)
    cwd: str = "/"
    killed: bool = False
    oom: bool = False  # killed because memory ran out in a fault
    xstate: int = 0
    chan: object = None  # what a sleeping process waits for
    wake_tick: int = 0  # for sleep(ticks)
    restart_state: Any = None  # progress of a blocking syscall that will be re-executed
    abi: Abi = NOABI  # the system-call personality of the program it runs (set by exec)
    sig: SigState = field(default_factory=SigState)  # signal actions, mask, pending (Linux)
    termsig: int = 0  # the signal that killed it (Linux personality), for wait4 and the exit status
    cloexec: set[int] = field(default_factory=set)  # descriptors that exec closes (FD_CLOEXEC)
    exe: str = ""  # the absolute guest path of the program it runs (/proc/self/exe)
    umask: int = 0o022  # file mode creation mask (Linux's umask; modes are not kept anyway)
    faults: int = 0
    rss: int = 0  # private frames mapped (the shared zero frame is not counted)
    rss_peak: int = 0
    vtime: int = 0  # instructions it has executed: its own virtual time (working sets, PFF)

    @property
    def interrupted(self) -> bool:
        """A blocking call must end now: the process was killed, or (Linux) a signal it
        does not block is pending, as Linux's signal_pending()."""
        return self.killed or bool(self.sig.pending & ~self.sig.blocked)

    @property
    def heap(self) -> Vma | None:
        """The heap's region, [heap_base, pgroundup(sz)): the region list tracks it."""
        return self.vmas.heap

    def grow_rss(self, n: int) -> None:
        self.rss += n
        if self.rss > self.rss_peak:
            self.rss_peak = self.rss


def allocproc(m: Machine, name: str) -> Proc | None:
    """A fresh process with an empty page table, or None if the table or memory is full."""
    try:
        slot = m.procs.index(None)
    except ValueError:
        return None
    try:
        pagetable = vm.uvmcreate(m.km)
    except OutOfFrames:
        return None
    p = Proc(pid=m.next_pid, name=name, pagetable=pagetable, vmas=new_vmas(m))
    m.next_pid += 1
    m.procs[slot] = p
    m.live_changed()
    return p


def free_memory(m: Machine, p: Proc) -> None:
    """Release a process's address space; the slot stays until its parent waits."""
    exit_mmap(m, p)
    if m.loaded is p:
        m.hart.root = 0
        m.hart.flush_tlb()


def freeproc(m: Machine, p: Proc) -> None:
    free_memory(m, p)
    if m.loaded is p:
        m.loaded = None
    m.procs[m.procs.index(p)] = None
    m.live_changed()
    if p in m.sleepers:
        m.sleepers.remove(p)


def fork(m: Machine, p: Proc) -> int:
    """Copy p. The child returns 0 from fork: p's registers are on the hart right now."""
    np_ = allocproc(m, p.name)
    if np_ is None:
        return -1
    if not dup_mmap(m, p, np_):
        freeproc(m, np_)
        return -1
    np_.heap_base, np_.stack_base = p.heap_base, p.stack_base
    np_.rss = np_.rss_peak = p.rss
    np_.parent = p
    np_.cwd = p.cwd
    np_.sig = p.sig.forked()
    from pagelab.kernel.file import filedup  # here: file.py imports proc

    np_.ofile = [filedup(f) if f is not None else None for f in p.ofile]
    np_.abi = p.abi
    np_.cloexec = set(p.cloexec)
    np_.exe = p.exe
    np_.umask = p.umask
    saved = m.hart.reg(A0)
    m.hart.set_reg(A0, 0)
    np_.ctx = m.hart.save()
    m.hart.set_reg(A0, saved)
    np_.state = State.RUNNABLE
    return np_.pid


def close_files(m: Machine, p: Proc) -> None:
    from pagelab.kernel.file import fileclose  # here: file.py imports proc

    for fd, f in enumerate(p.ofile):
        if f is not None:
            p.ofile[fd] = None
            fileclose(m, f)


def exit_proc(m: Machine, p: Proc, status: int) -> None:
    """Close files, free memory, give children to init, become a zombie for the parent."""
    if m.listeners:  # observers see the address space one last time
        m.emit(TeardownEvent(p.pid, p.name))
    close_files(m, p)
    for lf in m.locks.release_all(None, p.pid):  # its record locks (fcntl F_SETLK)
        wakeup(m, lf)
    maps = tuple(mapping(v) for v in p.vmas.head(MAPPINGS_RECORDED))  # not 65,530 of them
    nmaps = len(p.vmas)
    free_memory(m, p)
    # xv6's reparent: orphans go to init, which waits for them. (Kernel unit tests that
    # spawn a program without booting init: the first program plays init.)
    init = m.init or m.first
    if init is p:
        init = None  # nobody will wait: an orphan is freed as soon as it is a zombie
    for c in m.procs:
        if c is not None and c.parent is p:
            c.parent = init
            if c.state == State.ZOMBIE:
                if init is None:
                    freeproc(m, c)
                else:
                    wakeup(m, init)
    p.xstate = status
    p.state = State.ZOMBIE
    if p.parent is not None:
        wakeup(m, p.parent)
        sigs = p.parent.abi.signals
        if sigs is not None:
            sigs.child_exited(m, p)
    ev = ExitEvent(
        p.pid,
        p.name,
        status,
        p.killed,
        p.faults,
        p.rss_peak,
        m.reclaim.swapped_out.pop(p.pid, 0),
        maps,
        p.abi.name,
        p.termsig,
        mappings_total=nmaps,
        suspensions=m.alloc.exited(p),
    )
    m.exits.append(ev)  # the kernel's own accounting record, as BSD's acct keeps
    m.emit(ev)
    if p.parent is None and p is not m.init and p is not m.first:
        freeproc(m, p)  # an orphan with no init to wait for it


def die_of_signal(m: Machine, p: Proc, sig: int) -> None:
    """A Linux process killed by a signal: wait4 sees its number, the exit status is
    128 + N, and the stats count it."""
    p.killed = True
    p.termsig = sig
    m.signals["killed"][sig] = m.signals["killed"].get(sig, 0) + 1
    exit_proc(m, p, 128 + sig)


def sleep(m: Machine, p: Proc, chan: object) -> None:
    p.chan = chan
    p.state = State.SLEEPING
    if p not in m.sleepers:
        m.sleepers.append(p)


def wakeup(m: Machine, chan: object) -> None:
    """Make every process sleeping on chan runnable. Only the processes that went to
    sleep are looked at (m.sleepers), not the whole table."""
    sleepers = m.sleepers
    if not sleepers:
        return
    woke = False
    for p in sleepers:
        if p.chan is chan and p.state is State.SLEEPING:
            p.state = State.RUNNABLE
            p.chan = None
            woke = True
    if woke:
        m.sleepers = [p for p in sleepers if p.state is State.SLEEPING]


def kill(m: Machine, pid: int) -> int:
    """Mark process pid killed; it exits when it next leaves the kernel. init cannot be
    killed (xv6 would panic; Linux ignores the signal)."""
    for p in m.procs:
        if p is not None and p.pid == pid and p.state != State.ZOMBIE and p is not m.init:
            p.killed = True
            if p.state == State.SLEEPING:
                p.state = State.RUNNABLE
                p.chan = None
            return 0
    return -1


def children(m: Machine, p: Proc) -> list[Proc]:
    return [c for c in m.procs if c is not None and c.parent is p]


def runnable(m: Machine) -> list[Proc]:
    return [p for p in m.procs if p is not None and p.state == State.RUNNABLE]
