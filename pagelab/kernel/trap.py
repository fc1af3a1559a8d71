"""usertrap: every way a process can leave user mode, as in xv6's trap.c."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.hart import RunResult, Stop
from pagelab.kernel import proc
from pagelab.kernel.proc import State
from pagelab.kernel.syscall import syscall

SIGKILL = 9  # what an out-of-memory kill is, to a Linux parent

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


def serve_syscall(m: Machine, p: Proc) -> None:
    """Run p's system call: from usertrap, or from inside the hart's interrupt hook."""
    try:
        syscall(m, p)
    except Exception:  # a kernel bug must not take the host down
        m.oops(p, "system call")
    # A copyin/copyout that ran out of frames made the call fail with -1, and the
    # process goes on: it must not carry the mark into its next, unrelated fault.
    p.oom = False


def usertrap(m: Machine, p: Proc, res: RunResult) -> None:
    """Handle why the hart stopped running p: a system call, or an exception that the
    page-fault handler (already run inside the hart's TLB-fill hook) could not resolve."""
    if res.stop == Stop.ECALL:
        if p.killed:
            proc.exit_proc(m, p, -1)
            return
        serve_syscall(m, p)
    elif res.stop == Stop.TRAP and res.trap is not None:
        t = res.trap
        stval = m.hart.stval(t)
        sig = SIGKILL
        if p.oom:  # set by this very fault: anything older was cleared after its call
            p.oom = False
            m.log(f"pagelab: out of memory: killed pid={p.pid} ({p.name}) at va {stval:#x} sepc={t.sepc:#x}")
        else:
            if p.abi.trap_signal is not None:
                sig = p.abi.trap_signal(t.scause)
                sigs = p.abi.signals
                if sigs is not None and sigs.fault(m, p, t, stval, sig):
                    return  # the program's handler takes it (and the instruction is retried)
            m.log(
                f"usertrap(): unexpected scause {t.scause:#x} pid={p.pid}\n            sepc={t.sepc:#x} stval={stval:#x}"
            )
        p.killed = True
        if p.abi.trap_signal is not None:  # Linux: killed by the trap's signal, status 128+N
            proc.die_of_signal(m, p, sig)
            return
    if p.killed and p.state not in (State.ZOMBIE, State.SLEEPING):
        proc.exit_proc(m, p, -1)
