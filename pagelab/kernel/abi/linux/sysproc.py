"""Process, identity and time system calls of the Linux personality (Linux RV64 numbers).

Time runs on the instruction clock: one instruction is one nanosecond (1 us = 1,000
instructions, as the Perfetto export counts), plus the idle time the clock skips. The
wall clock starts at BOOT_EPOCH, so that a run gives the same times on every host.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pagelab.hw.hart import SP, XREG
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.abi.linux.errno import (
    E2BIG,
    EAGAIN,
    ECHILD,
    EFAULT,
    EINTR,
    EINVAL,
    ENAMETOOLONG,
    ENOENT,
    ENOEXEC,
    ENOSYS,
    ESRCH,
)
from pagelab.kernel.abi.linux.namei import linux_names
from pagelab.kernel.abi.linux.paths import PATH_MAX, absolute, self_exe
from pagelab.kernel.abi.linux.startup import ARG_MAX, CLK_TCK, STACK_MAX
from pagelab.kernel.abi.linux.structs import RLIMIT, SYSINFO, TIMESPEC, TIMEVAL, utsname
from pagelab.kernel.exec import exec_image, open_exec
from pagelab.kernel.proc import State
from pagelab.kernel.syscall import (
    NORETURN,
    RESTART,
    Handler,
    Result,
    argaddr,
    argint,
    argstr,
    copyin,
    copyout,
    fetchaddr,
    fetchstr,
)

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.mm.filemap import AddressSpace
    from pagelab.kernel.proc import Proc

SYS_EXECVE = 221
TP = XREG[4]  # the thread pointer, x4

BOOT_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: CLOCK_REALTIME at instruction 0
NS_PER_INSN = 1
RLIM_INFINITY = (1 << 64) - 1

# clone flags (linux/sched.h)
CSIGNAL = 0xFF
CLONE_VM = 0x100
CLONE_VFORK = 0x4000
CLONE_THREAD = 0x10000
CLONE_SETTLS = 0x80000
CLONE_PARENT_SETTID = 0x100000
CLONE_CHILD_CLEARTID = 0x200000
CLONE_CHILD_SETTID = 0x1000000

WNOHANG = 1
SIGKILL = 9
PR_SET_NAME = 15
PR_GET_NAME = 16
TIMER_ABSTIME = 1
CLOCK_REALTIME = 0
CLOCK_REALTIME_COARSE = 5
NCLOCKS = 12  # clock ids 0-11 (the *_ALARM and TAI ones read as the others)

RLIMIT_STACK = 3
RLIMIT_NOFILE = 7


def _exit(m: Machine, p: Proc) -> Result:
    """exit and exit_group: a process has one thread, so both end it. The parent sees the
    low 8 bits of the status."""
    proc.exit_proc(m, p, argint(m, 0) & 0xFF)
    return NORETURN


def sys_set_tid_address(m: Machine, p: Proc) -> Result:
    return p.pid  # the thread id; the address matters only to threads, which there are none of


def sys_getpid(m: Machine, p: Proc) -> Result:
    return p.pid


def sys_getppid(m: Machine, p: Proc) -> Result:
    return p.parent.pid if p.parent is not None else 0


def sys_getuid(m: Machine, p: Proc) -> Result:
    return 0  # everyone is root: uid, euid, gid and egid are 0


def sys_enosys(m: Machine, p: Proc) -> Result:
    """set_robust_list, rseq and riscv_hwprobe: known and answered -ENOSYS, which both
    libcs accept (no robust futexes, no restartable sequences, no extensions to probe)."""
    return -ENOSYS


def sys_uname(m: Machine, p: Proc) -> Result:
    fields = ("Linux", "pagelab", "6.1.0-pagelab", "#1 pagelab", "riscv64", "(none)")
    return 0 if copyout(m, p, argaddr(m, 0), utsname(fields)) else -EFAULT


def _rlimit(p: Proc, resource: int) -> tuple[int, int] | None:
    if resource == RLIMIT_STACK:
        return (STACK_MAX, RLIM_INFINITY)
    if resource == RLIMIT_NOFILE:
        return (len(p.ofile), len(p.ofile))
    if 0 <= resource < 16:
        return (RLIM_INFINITY, RLIM_INFINITY)
    return None


def sys_prlimit64(m: Machine, p: Proc) -> Result:
    """prlimit64(pid, resource, new, old): the limits are reported, and fixed: setting one
    is refused (EPERM would be raising; lowering is not kept either, so EINVAL)."""
    pid, resource, new, old = argint(m, 0), argint(m, 1), argaddr(m, 2), argaddr(m, 3)
    if pid not in (0, p.pid):
        return -ESRCH
    lim = _rlimit(p, resource)
    if lim is None:
        return -EINVAL
    if old and not copyout(m, p, old, RLIMIT.pack(*lim)):
        return -EFAULT
    if new:
        got = copyin(m, p, new, RLIMIT.size)
        if got is None:
            return -EFAULT
        if RLIMIT.unpack(got) != lim:
            return -EINVAL
    return 0


def sys_getrlimit(m: Machine, p: Proc) -> Result:
    lim = _rlimit(p, argint(m, 0))
    if lim is None:
        return -EINVAL
    return 0 if copyout(m, p, argaddr(m, 1), RLIMIT.pack(*lim)) else -EFAULT


def sys_prctl(m: Machine, p: Proc) -> Result:
    op = argint(m, 0)
    if op == PR_SET_NAME:
        name = fetchstr(m, p, argaddr(m, 1), 4096)
        if name is None:
            return -EFAULT
        p.name = name[:15].decode(errors="replace")
        return 0
    if op == PR_GET_NAME:
        return 0 if copyout(m, p, argaddr(m, 1), p.name.encode()[:15].ljust(16, b"\0")) else -EFAULT
    return -EINVAL


def sys_sched_getaffinity(m: Machine, p: Proc) -> Result:
    """One CPU: a mask with bit 0; the result is the bytes written (one word)."""
    size = argaddr(m, 1)
    if size < 8 or size % 8:
        return -EINVAL
    return 8 if copyout(m, p, argaddr(m, 2), (1).to_bytes(8, "little")) else -EFAULT


def sys_sched_yield(m: Machine, p: Proc) -> Result:
    return 0


def sys_sysinfo(m: Machine, p: Proc) -> Result:
    swap = m.reclaim.swap
    total_swap = swap.nslots if swap is not None else 0
    free_swap = total_swap - (swap.used if swap is not None else 0)
    procs = sum(q is not None for q in m.procs)
    info = SYSINFO.pack(
        m.now() // 1_000_000_000, 0, 0, 0, m.km.nframes, m.km.nfree, 0, 0, total_swap, free_swap, procs, 0, 0, 4096
    )
    return 0 if copyout(m, p, argaddr(m, 0), info) else -EFAULT


def sys_getrandom(m: Machine, p: Proc) -> Result:
    """Bytes from the machine's seeded stream: the same run gives the same bytes."""
    n = min(argaddr(m, 1), 1 << 25)
    done = 0
    while done < n:
        k = min(n - done, 1 << 16)
        if not copyout(m, p, argaddr(m, 0) + done, m.entropy.randbytes(k)):
            return done if done else -EFAULT
        done += k
    return done


# --- time ------------------------------------------------------------------------------


def _now_ns(m: Machine, clock: int) -> int:
    ns = m.now() * NS_PER_INSN
    if clock in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE):
        ns += BOOT_EPOCH * 1_000_000_000
    return ns


def sys_clock_gettime(m: Machine, p: Proc) -> Result:
    clock = argint(m, 0)
    if not 0 <= clock < NCLOCKS:
        return -EINVAL
    ns = _now_ns(m, clock)
    return 0 if copyout(m, p, argaddr(m, 1), TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000)) else -EFAULT


def sys_clock_getres(m: Machine, p: Proc) -> Result:
    if not 0 <= argint(m, 0) < NCLOCKS:
        return -EINVAL
    res = argaddr(m, 1)
    return 0 if not res or copyout(m, p, res, TIMESPEC.pack(0, NS_PER_INSN)) else -EFAULT


def sys_gettimeofday(m: Machine, p: Proc) -> Result:
    tv = argaddr(m, 0)
    ns = _now_ns(m, CLOCK_REALTIME)
    if tv and not copyout(m, p, tv, TIMEVAL.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000)):
        return -EFAULT
    return 0


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def sys_getrusage(m: Machine, p: Proc) -> Result:
    """struct rusage: for the caller (one thread, so RUSAGE_THREAD too) its user time is
    the instructions it ran and ru_maxrss its peak resident set in KiB; the system time
    and the counts are 0. RUSAGE_CHILDREN is all zero, as wait4's rusage (not summed)."""
    who = argint(m, 0)
    if who not in (RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD):
        return -EINVAL
    words = [0] * 18  # ru_utime, ru_stime (timevals), then 14 longs from ru_maxrss
    if who != RUSAGE_CHILDREN:
        ns = p.vtime * NS_PER_INSN
        words[0], words[1] = ns // 1_000_000_000, ns % 1_000_000_000 // 1000
        words[4] = p.rss_peak * PGSIZE // 1024
    return 0 if copyout(m, p, argaddr(m, 1), struct.pack("<18q", *words)) else -EFAULT


def sys_times(m: Machine, p: Proc) -> Result:
    """struct tms in clock ticks (tms_utime the caller's instructions, the rest 0, as in
    getrusage); returns the ticks since boot."""
    buf = argaddr(m, 0)
    utime = p.vtime * NS_PER_INSN * CLK_TCK // 1_000_000_000
    if buf and not copyout(m, p, buf, struct.pack("<4q", utime, 0, 0, 0)):
        return -EFAULT
    return m.now() * NS_PER_INSN * CLK_TCK // 1_000_000_000


def _sleep_until(m: Machine, p: Proc, when: int) -> Result:
    """Sleep until the clock reads `when` (instructions), on the clock's ticks."""
    if p.interrupted:
        return -EINTR
    if m.now() >= when:
        return 0
    tick = m.clock.tick_insns
    p.wake_tick = -(-when // tick)
    proc.sleep(m, p, m.clock)
    return RESTART


def _read_timespec(m: Machine, p: Proc, addr: int) -> int | None:
    """A struct timespec as nanoseconds; None if unreadable, -1 if invalid."""
    raw = copyin(m, p, addr, TIMESPEC.size)
    if raw is None:
        return None
    sec, nsec = TIMESPEC.unpack(raw)
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        return -1
    return sec * 1_000_000_000 + nsec


def sys_nanosleep(m: Machine, p: Proc) -> Result:
    if p.restart_state is None:
        ns = _read_timespec(m, p, argaddr(m, 0))
        if ns is None:
            return -EFAULT
        if ns < 0:
            return -EINVAL
        p.restart_state = m.now() + ns // NS_PER_INSN
    r = _sleep_until(m, p, p.restart_state)
    rem = argaddr(m, 1)
    if r == -EINTR and rem:  # a signal woke it: how much of the sleep was left
        left = max(p.restart_state - m.now(), 0) * NS_PER_INSN
        if not copyout(m, p, rem, TIMESPEC.pack(left // 1_000_000_000, left % 1_000_000_000)):
            return -EFAULT
    return r


def sys_clock_nanosleep(m: Machine, p: Proc) -> Result:
    if p.restart_state is None:
        clock, flags = argint(m, 0), argint(m, 1)
        if not 0 <= clock < NCLOCKS:
            return EINVAL  # clock_nanosleep returns the error number itself, positive
        ns = _read_timespec(m, p, argaddr(m, 2))
        if ns is None:
            return EFAULT
        if ns < 0:
            return EINVAL
        if flags & TIMER_ABSTIME:
            p.restart_state = max(m.now(), (ns - (_now_ns(m, clock) - m.now() * NS_PER_INSN)) // NS_PER_INSN)
        else:
            p.restart_state = m.now() + ns // NS_PER_INSN
    r = _sleep_until(m, p, p.restart_state)
    return EINTR if r == -EINTR else r


# --- fork, exec, wait --------------------------------------------------------------------


def sys_clone(m: Machine, p: Proc) -> Result:
    """clone(flags, newsp, ptid, tls, ctid), riscv's argument order. Without CLONE_VM it
    is fork. A vfork (CLONE_VM | CLONE_VFORK, musl's posix_spawn) is served as a fork on
    the given stack: the child gets a copy-on-write copy instead of the parent's memory,
    which such a child cannot tell apart (it only calls exec or _exit). Threads: ENOSYS."""
    flags, newsp, ptid, tls, ctid = (argaddr(m, i) for i in range(5))
    if flags & CLONE_THREAD:
        return -ENOSYS
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        return -EINVAL
    child_tid = m.next_pid  # the pid allocproc gives the child
    settid = ctid if flags & CLONE_CHILD_SETTID else 0
    old = copyin(m, p, settid, 4) if settid else None
    if settid and (old is None or not copyout(m, p, settid, child_tid.to_bytes(4, "little"))):
        return -EFAULT
    if flags & CLONE_PARENT_SETTID and not copyout(m, p, ptid, child_tid.to_bytes(4, "little")):
        return -EFAULT
    hart = m.hart
    saved = hart.reg(SP), hart.reg(TP)
    if newsp:
        hart.set_reg(SP, newsp)
    if flags & CLONE_SETTLS:
        hart.set_reg(TP, tls)
    pid = proc.fork(m, p)  # the child's registers are the hart's now, with a0 = 0
    hart.set_reg(SP, saved[0])
    hart.set_reg(TP, saved[1])
    if old is not None:
        copyout(m, p, settid, old)  # the store was for the child's copy only
    return pid if pid >= 0 else -EAGAIN


def _fetch_vector(m: Machine, p: Proc, uvec: int, budget: list[int]) -> list[bytes] | int:
    """A NULL-terminated array of strings (argv, envp), or -errno. NULL is an empty array."""
    out: list[bytes] = []
    if uvec == 0:
        return out
    while True:
        ptr = fetchaddr(m, p, uvec + 8 * len(out))
        if ptr is None:
            return -EFAULT
        if ptr == 0:
            return out
        s = fetchstr(m, p, ptr, min(budget[0], ARG_MAX) + 1)
        if s is None:
            return -EFAULT if copyin(m, p, ptr, 1) is None else -E2BIG
        budget[0] -= len(s) + 9
        if budget[0] < 0:
            return -E2BIG
        out.append(s)


def sys_execve(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0, PATH_MAX)
    if path is None:
        return -EFAULT if copyin(m, p, argaddr(m, 0), 1) is None else -ENAMETOOLONG
    budget = [ARG_MAX]
    argv = _fetch_vector(m, p, argaddr(m, 1), budget)
    if isinstance(argv, int):
        return argv
    envp = _fetch_vector(m, p, argaddr(m, 2), budget)
    if isinstance(envp, int):
        return envp
    a: AddressSpace | None
    exe = self_exe(p, path)
    if exe is not None:
        a = exe
        m.pagecache.get(a)
        full = p.exe
    else:
        full = absolute(p.cwd, path).decode(errors="surrogateescape")
        with linux_names(m.fs):
            a = open_exec(m, p.cwd, path)
    if a is None:
        return -ENOENT
    name = full.rsplit("/", 1)[-1]
    try:
        if exec_image(m, p, a, argv, name, envp, execfn=path) < 0:
            return -ENOEXEC
    finally:
        m.pagecache.put(a)  # the new image's regions hold their own references
    p.exe = full
    return NORETURN


def wait_status(c: Proc) -> int:
    """A Linux wait status word: the exit code << 8, or the number of the killing signal."""
    if c.termsig:
        return c.termsig & 0x7F
    if c.killed:
        return SIGKILL
    return (c.xstate & 0xFF) << 8


def sys_wait4(m: Machine, p: Proc) -> Result:
    """wait4(pid, wstatus, options, rusage): pid > 0 waits for that child, anything else
    for any child (there are no process groups). WNOHANG returns 0 if none has exited."""
    pid, wstatus, options, rusage = argint(m, 0), argaddr(m, 1), argint(m, 2), argaddr(m, 3)
    kids = [c for c in proc.children(m, p) if pid <= 0 or c.pid == pid]
    if not kids:
        return -ECHILD
    for c in kids:
        if c.state == State.ZOMBIE:
            if wstatus and not copyout(m, p, wstatus, wait_status(c).to_bytes(4, "little")):
                return -EFAULT
            if rusage and not copyout(m, p, rusage, bytes(144)):
                return -EFAULT
            got = c.pid
            proc.freeproc(m, c)
            return got
    if options & WNOHANG:
        return 0
    if p.interrupted:
        return -EINTR
    proc.sleep(m, p, p)  # exit_proc wakes the parent
    return RESTART


SYSCALLS: dict[int, Handler] = {
    93: _exit,  # exit
    94: _exit,  # exit_group
    96: sys_set_tid_address,
    99: sys_enosys,  # set_robust_list
    101: sys_nanosleep,
    113: sys_clock_gettime,
    114: sys_clock_getres,
    115: sys_clock_nanosleep,
    123: sys_sched_getaffinity,
    124: sys_sched_yield,
    153: sys_times,
    160: sys_uname,
    163: sys_getrlimit,
    165: sys_getrusage,
    167: sys_prctl,
    169: sys_gettimeofday,
    172: sys_getpid,
    173: sys_getppid,
    174: sys_getuid,
    175: sys_getuid,  # geteuid
    176: sys_getuid,  # getgid
    177: sys_getuid,  # getegid
    178: sys_getpid,  # gettid: one thread per process, its id the pid
    179: sys_sysinfo,
    220: sys_clone,
    SYS_EXECVE: sys_execve,
    258: sys_enosys,  # riscv_hwprobe
    260: sys_wait4,
    261: sys_prlimit64,
    278: sys_getrandom,
    293: sys_enosys,  # rseq
}
