"""Signal system calls of the Linux personality: rt_sigaction, rt_sigprocmask,
rt_sigpending, rt_sigsuspend, sigaltstack, rt_sigreturn, kill, tkill and tgkill. The
delivery itself is in signal.py; the state is the kernel's (kernel/signal.py).

A process has one thread, whose id is its pid, and is its own process group.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pagelab.hw.hart import SP
from pagelab.kernel import proc
from pagelab.kernel.abi.linux.errno import EFAULT, EINTR, EINVAL, ENOMEM, EPERM, ESRCH
from pagelab.kernel.abi.linux.signal import (
    MINSIGSTKSZ,
    SI_TKILL,
    SI_USER,
    SIGKILL,
    SIGSEGV,
    SIGSTOP,
    SS_DISABLE,
    SS_ONSTACK,
    SYS_RT_SIGRETURN,
    UNCATCHABLE,
    send,
    sigreturn,
    terminate,
    valid,
)
from pagelab.kernel.proc import State
from pagelab.kernel.signal import SIG_IGN, SigAction, SigInfo, bit
from pagelab.kernel.syscall import NORETURN, RESTART, Handler, Result, argaddr, argint, copyin, copyout

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

SIGSET_SIZE = 8  # the kernel's sigset_t: 64 signals
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SIGACTION = struct.Struct("<QQQ")  # handler, flags, mask: riscv has no sa_restorer
STACK_T = struct.Struct("<Qi4xQ")  # ss_sp, ss_flags, ss_size


def _sigset(m: Machine, p: Proc, addr: int) -> int | None:
    data = copyin(m, p, addr, SIGSET_SIZE)
    return None if data is None else int.from_bytes(data, "little")


def sys_rt_sigaction(m: Machine, p: Proc) -> Result:
    sig, act, oact, size = argint(m, 0), argaddr(m, 1), argaddr(m, 2), argaddr(m, 3)
    if size != SIGSET_SIZE or not valid(sig) or (act and sig in (SIGKILL, SIGSTOP)):
        return -EINVAL
    new = None
    if act:
        raw = copyin(m, p, act, SIGACTION.size)
        if raw is None:
            return -EFAULT
        handler, flags, mask = SIGACTION.unpack(raw)
        new = SigAction(handler, flags, mask & ~UNCATCHABLE)
    old = p.sig.action(sig)
    if oact and not copyout(m, p, oact, SIGACTION.pack(old.handler, old.flags, old.mask)):
        return -EFAULT
    if new is not None:
        p.sig.actions[sig] = new
        if new.handler == SIG_IGN and p.sig.pending & bit(sig):
            p.sig.take(sig)  # setting a pending signal to be ignored discards it (POSIX)
    return 0


def sys_rt_sigprocmask(m: Machine, p: Proc) -> Result:
    how, nset, oset, size = argint(m, 0), argaddr(m, 1), argaddr(m, 2), argaddr(m, 3)
    if size != SIGSET_SIZE:
        return -EINVAL
    st = p.sig
    old = st.blocked
    if nset:
        s = _sigset(m, p, nset)
        if s is None:
            return -EFAULT
        if how == SIG_BLOCK:
            blocked = old | s
        elif how == SIG_UNBLOCK:
            blocked = old & ~s
        elif how == SIG_SETMASK:
            blocked = s
        else:
            return -EINVAL
        st.blocked = blocked & ~UNCATCHABLE
    if oset and not copyout(m, p, oset, old.to_bytes(SIGSET_SIZE, "little")):
        st.blocked = old
        return -EFAULT
    return 0


def sys_rt_sigpending(m: Machine, p: Proc) -> Result:
    addr, size = argaddr(m, 0), argaddr(m, 1)
    if size != SIGSET_SIZE:
        return -EINVAL
    pend = p.sig.pending & p.sig.blocked
    return 0 if copyout(m, p, addr, pend.to_bytes(SIGSET_SIZE, "little")) else -EFAULT


def sys_rt_sigsuspend(m: Machine, p: Proc) -> Result:
    """Wait with a temporary mask until a signal is delivered: always -EINTR. The
    caller's mask comes back when the handler returns (SigState.saved_mask)."""
    st = p.sig
    if p.restart_state is None:
        if argaddr(m, 1) != SIGSET_SIZE:
            return -EINVAL
        mask = _sigset(m, p, argaddr(m, 0))
        if mask is None:
            return -EFAULT
        p.restart_state = st.blocked
        st.saved_mask = st.blocked
        st.blocked = mask & ~UNCATCHABLE
    if p.interrupted:
        return -EINTR
    proc.sleep(m, p, st)  # send() wakes it
    return RESTART


def sys_sigaltstack(m: Machine, p: Proc) -> Result:
    ss, old = argaddr(m, 0), argaddr(m, 1)
    st = p.sig
    alt = st.altstack
    cur_sp = m.hart.reg(SP)
    on = alt is not None and alt[0] <= cur_sp < alt[0] + alt[1]
    if old:
        rec = STACK_T.pack(alt[0], SS_ONSTACK if on else 0, alt[1]) if alt else STACK_T.pack(0, SS_DISABLE, 0)
        if not copyout(m, p, old, rec):
            return -EFAULT
    if ss:
        raw = copyin(m, p, ss, STACK_T.size)
        if raw is None:
            return -EFAULT
        base, flags, size = STACK_T.unpack(raw)
        if on:
            return -EPERM
        if flags & ~(SS_DISABLE | 0x80000000):  # SS_AUTODISARM is accepted
            return -EINVAL
        if flags & SS_DISABLE:
            st.altstack = None
        else:
            if size < MINSIGSTKSZ:
                return -ENOMEM
            st.altstack = (base, size)
    return 0


def sys_rt_sigreturn(m: Machine, p: Proc) -> Result:
    if not sigreturn(m, p):
        terminate(m, p, SIGSEGV)
    return NORETURN


def _targets(m: Machine, p: Proc, pid: int) -> list[Proc]:
    """Who kill(pid) reaches: pid > 0 that process; 0 and -pgid the caller (each process
    is its own group); -1 every process but init."""
    live = [q for q in m.procs if q is not None and q.state is not State.ZOMBIE]
    if pid > 0:
        return [q for q in live if q.pid == pid]
    if pid == -1:
        return [q for q in live if q is not m.init]
    return [p] if pid == 0 or -pid == p.pid else []


def _kill(m: Machine, p: Proc, pid: int, sig: int, code: int) -> int:
    if not 0 <= sig <= 64:
        return -EINVAL
    targets = _targets(m, p, pid)
    if not targets:
        return -ESRCH
    if sig == 0:  # only asks whether the process exists
        return 0
    for q in targets:
        if q.abi.name == "linux":
            send(m, q, SigInfo(sig, code, p.pid))
        elif q is not m.init:
            proc.kill(m, q.pid)  # an xv6 process knows only being killed
    return 0


def sys_kill(m: Machine, p: Proc) -> Result:
    return _kill(m, p, argint(m, 0), argint(m, 1), SI_USER)


def sys_tkill(m: Machine, p: Proc) -> Result:
    tid = argint(m, 0)
    return -EINVAL if tid <= 0 else _kill(m, p, tid, argint(m, 1), SI_TKILL)


def sys_tgkill(m: Machine, p: Proc) -> Result:
    tgid, tid = argint(m, 0), argint(m, 1)
    if tgid <= 0 or tid <= 0:
        return -EINVAL
    if tgid != tid:  # one thread per process: its id is the pid
        return -ESRCH
    return _kill(m, p, tid, argint(m, 2), SI_TKILL)


SYSCALLS: dict[int, Handler] = {
    129: sys_kill,
    130: sys_tkill,
    131: sys_tgkill,
    132: sys_sigaltstack,
    133: sys_rt_sigsuspend,
    134: sys_rt_sigaction,
    135: sys_rt_sigprocmask,
    136: sys_rt_sigpending,
    SYS_RT_SIGRETURN: sys_rt_sigreturn,
}
