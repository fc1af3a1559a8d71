"""Linux signals: numbers, default actions, and the way a handler is entered and left,
as Linux's arch/riscv/kernel/signal.c does it.

A signal is delivered when its process goes back to user mode (after a system call or a
trap, or when the scheduler picks it). For a handler, the kernel pushes a frame on the
user stack: a siginfo (128 bytes) and a ucontext (960 bytes) holding the interrupted pc,
x1-x31, f0-f31, fcsr and the old signal mask. It then starts the handler with
a0 = signal, a1 = &siginfo, a2 = &ucontext, and ra = a kernel-owned trampoline page
holding `li a7, 139; ecall`: when the handler returns, rt_sigreturn reads the registers
and mask back from the frame (a handler may have changed them) and the program goes on
where it was interrupted. riscv's struct sigaction has no sa_restorer, so the kernel
must provide that trampoline (Linux does it in the vDSO).

A fault that the kernel cannot resolve becomes SIGSEGV (or SIGBUS, SIGILL, SIGTRAP) for
the process: with a handler installed, the handler runs with si_addr set to the faulting
address and, when it returns, the faulting instruction runs again. That is the primitive
of user-level paging (Appel and Li, "Virtual memory primitives for user programs", 1991):
mprotect a region, catch the fault, fix the protection, go on.

Not modelled: queued real-time signals (a second one while one is pending is merged),
job control (stop signals are ignored), SA_RESTART (a blocking call that a handler
interrupts returns -EINTR).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pagelab.hw.hart import A0, A1, A2, PC, SP, XREG
from pagelab.hw.sv39 import MAXVA, PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.abi import SignalOps
from pagelab.kernel.abi.linux.errno import EINTR
from pagelab.kernel.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, Vma
from pagelab.kernel.proc import State
from pagelab.kernel.signal import NSIG, SIG_DFL, SIG_IGN, SigAction, SigInfo, bit
from pagelab.kernel.syscall import copyin, copyout

if TYPE_CHECKING:
    from pagelab.hw.hart import Trap
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.mm.vma import VmaList
    from pagelab.kernel.proc import Proc

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH = 17, 18, 19, 20, 21, 22, 23, 28

# Default actions other than terminate: ignore (SIGCHLD, SIGURG, SIGWINCH, SIGCONT),
# and the stop signals, ignored here for want of job control.
DEFAULT_IGNORED = frozenset((SIGCHLD, SIGCONT, SIGURG, SIGWINCH, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU))
UNCATCHABLE = bit(SIGKILL) | bit(SIGSTOP)

# sa_flags
SA_SIGINFO = 0x4
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000

# si_code values
SI_USER = 0
SI_KERNEL = 0x80
SI_TKILL = -6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRALN = 1
ILL_ILLOPC = 1
TRAP_BRKPT = 1
CLD_EXITED, CLD_KILLED = 1, 2

# The frame (rt_sigframe): siginfo, then ucontext. In the ucontext: uc_flags, uc_link,
# uc_stack (16), uc_sigmask (40, 128 bytes for glibc's 1024-bit set), uc_mcontext (176,
# 16-aligned): 32 registers (pc, x1..x31), then the FP state f0..f31 and fcsr, in a
# 528-byte union sized for the Q extension.
SIGINFO_SIZE = 128
UC_STACK = 16
UC_SIGMASK = 40
UC_MCONTEXT = 176
UCONTEXT_SIZE = 960
FRAME_SIZE = SIGINFO_SIZE + UCONTEXT_SIZE
FP_STATE = 528
SS_ONSTACK, SS_DISABLE = 1, 2
MINSIGSTKSZ = 2048

# The trampoline page: one page of code below the stack region, the same in every Linux
# process, served from these bytes through the page cache like any read-only file.
SIGPAGE = MAXVA - (8 << 20) - 2 * PGSIZE
SYS_RT_SIGRETURN = 139
TRAMPOLINE = struct.pack("<II", (SYS_RT_SIGRETURN << 20) | (17 << 7) | 0x13, 0x73)  # li a7,139; ecall


def map_sigpage(m: Machine, vmas: VmaList) -> None:
    """Put the trampoline page in a new Linux image (exec)."""
    a = m.pagecache.mapping_for_bytes(("sigpage",), TRAMPOLINE)
    vmas.insert(Vma(SIGPAGE, SIGPAGE + PGSIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE, "mmap", a, 0, (), "[sigpage]"))


def valid(sig: int) -> bool:
    return 1 <= sig <= NSIG


def send(m: Machine, q: Proc, info: SigInfo) -> None:
    """Make a signal pending for q, as Linux's send_signal: ignored signals are dropped
    at once; a deliverable one wakes q from an interruptible sleep (its blocking call then
    returns -EINTR, or it dies, when q next runs)."""
    sig = info.signo
    if q.state is State.ZOMBIE or q is m.init:
        return
    act = q.sig.action(sig)
    if sig != SIGKILL and (act.handler == SIG_IGN or (act.handler == SIG_DFL and sig in DEFAULT_IGNORED)):
        return
    q.sig.post(info)
    if q.sig.ready() & bit(sig) and q.state is State.SLEEPING:
        q.state = State.RUNNABLE
        q.chan = None


def interrupt(m: Machine, p: Proc) -> None:
    """p was asleep in a blocking call when a signal came: the call returns -EINTR."""
    m.restarts.discard(p)
    p.restart_state = None
    m.hart.set_reg(A0, -EINTR)


def deliver(m: Machine, p: Proc) -> None:
    """Act on p's deliverable signals, lowest number first: drop, die, or enter a handler.
    One handler frame at a time; the next signal comes when that handler's rt_sigreturn
    (a system call) goes back to user mode."""
    st = p.sig
    while p.state is State.RUNNING:
        ready = st.ready()
        if not ready:
            if st.saved_mask is not None:  # rt_sigsuspend's wait ended with no handler run
                st.blocked, st.saved_mask = st.saved_mask, None
            return
        sig = (ready & -ready).bit_length()
        info = st.take(sig)
        act = st.action(sig)
        if act.handler == SIG_IGN and sig != SIGKILL:
            continue
        if act.handler == SIG_DFL or sig == SIGKILL:
            if sig in DEFAULT_IGNORED:
                continue
            terminate(m, p, sig)
            return
        if not _enter_handler(m, p, sig, info, act):
            terminate(m, p, SIGSEGV)  # no room for the frame: as Linux's force_sigsegv
        return


def terminate(m: Machine, p: Proc, sig: int) -> None:
    """The default action: the process dies of the signal (wait4 sees its number; the
    run's exit status is 128 + N)."""
    proc.die_of_signal(m, p, sig)


def fault(m: Machine, p: Proc, trap: Trap, stval: int, sig: int) -> bool:
    """A trap the kernel could not resolve. With a handler for its signal (not blocked,
    not ignored), the handler runs and the instruction is retried when it returns (True);
    otherwise the caller kills p with the signal, as Linux's force_sig_fault does."""
    act = p.sig.action(sig)
    if act.handler in (SIG_DFL, SIG_IGN) or p.sig.blocked & bit(sig):
        return False
    if sig == SIGSEGV:
        code = SEGV_ACCERR if p.vmas.find(stval) is not None else SEGV_MAPERR
    else:
        code = {SIGBUS: BUS_ADRALN, SIGILL: ILL_ILLOPC, SIGTRAP: TRAP_BRKPT}.get(sig, SI_KERNEL)
    m.hart.set_reg(PC, trap.sepc)  # the frame resumes at the faulting instruction
    return _enter_handler(m, p, sig, SigInfo(sig, code, 0, stval), act)


def _siginfo(info: SigInfo) -> bytes:
    head = struct.pack("<iii4x", info.signo, 0, info.code)
    if info.signo in (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE) and info.code > 0:
        body = struct.pack("<Q", info.addr)
    else:
        body = struct.pack("<ii", info.pid, 0)  # si_pid, si_uid
    return (head + body).ljust(SIGINFO_SIZE, b"\0")


def _enter_handler(m: Machine, p: Proc, sig: int, info: SigInfo, act: SigAction) -> bool:
    hart = m.hart
    st = p.sig
    regs = hart.user_regs()
    fregs, fcsr = hart.fp_regs()
    sp = regs[2]
    alt = st.altstack
    on_alt = alt is not None and alt[0] <= sp < alt[0] + alt[1]
    if act.flags & SA_ONSTACK and alt is not None and not on_alt:
        sp = alt[0] + alt[1]
    frame = (sp - FRAME_SIZE) & ~15
    ss = (alt[0], SS_ONSTACK if on_alt else 0, alt[1]) if alt is not None else (0, SS_DISABLE, 0)
    uc = bytearray(UCONTEXT_SIZE)
    struct.pack_into("<Qi4xQ", uc, UC_STACK, ss[0], ss[1], ss[2])
    struct.pack_into("<Q", uc, UC_SIGMASK, st.blocked if st.saved_mask is None else st.saved_mask)
    struct.pack_into("<32Q", uc, UC_MCONTEXT, *regs)
    struct.pack_into("<32QI", uc, UC_MCONTEXT + 256, *fregs, fcsr)
    if not copyout(m, p, frame, _siginfo(info) + bytes(uc)):
        return False
    st.saved_mask = None
    if not act.flags & SA_NODEFER:
        st.blocked |= bit(sig)
    st.blocked = (st.blocked | act.mask) & ~UNCATCHABLE
    if act.flags & SA_RESETHAND:
        st.actions.pop(sig, None)
    hart.set_reg(XREG[1], SIGPAGE)  # ra: the trampoline
    hart.set_reg(SP, frame)
    hart.set_reg(A0, sig)
    hart.set_reg(A1, frame)
    hart.set_reg(A2, frame + SIGINFO_SIZE)
    hart.set_reg(PC, act.handler)
    m.signals["handled"][sig] = m.signals["handled"].get(sig, 0) + 1
    return True


def sigreturn(m: Machine, p: Proc) -> bool:
    """rt_sigreturn: the registers and mask from the frame at sp (False: no readable
    frame; the caller kills with SIGSEGV)."""
    hart = m.hart
    uc_at = hart.reg(SP) + SIGINFO_SIZE
    uc = copyin(m, p, uc_at, UC_MCONTEXT + 256 + FP_STATE)
    if uc is None:
        return False
    (mask,) = struct.unpack_from("<Q", uc, UC_SIGMASK)
    regs = list(struct.unpack_from("<32Q", uc, UC_MCONTEXT))
    fp = struct.unpack_from("<32QI", uc, UC_MCONTEXT + 256)
    p.sig.blocked = mask & ~UNCATCHABLE
    hart.set_user_regs(regs)
    hart.set_fp_regs(list(fp[:32]), fp[32])
    return True


def child_exited(m: Machine, p: Proc) -> None:
    """SIGCHLD to a Linux parent that asked for it (its default action is to ignore it)."""
    parent = p.parent
    if (
        parent is not None
        and parent.abi.name == "linux"
        and parent.sig.action(SIGCHLD).handler not in (SIG_DFL, SIG_IGN)
    ):
        send(m, parent, SigInfo(SIGCHLD, CLD_KILLED if p.termsig else CLD_EXITED, p.pid))


OPS = SignalOps(deliver, fault, interrupt, child_exited)
