"""The Linux RV64 personality: Linux's system-call numbers (asm-generic), its structures
(the 128-byte struct stat, linux_dirent64), its flags, errors as -errno in a0, and the
process start of binfmt_elf (argc, argv, envp and the auxiliary vector on the stack).

Unknown calls return -ENOSYS and are counted by number (the stats' syscalls.enosys). A
fatal trap kills with the signal Linux would send: SIGILL, SIGTRAP, SIGBUS or SIGSEGV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw import exc
from pagelab.hw.sv39 import SCAUSE_INST_PAGE_FAULT, SCAUSE_LOAD_PAGE_FAULT, SCAUSE_STORE_PAGE_FAULT
from pagelab.kernel.abi import Abi
from pagelab.kernel.abi.linux.errno import ENOSYS
from pagelab.kernel.abi.linux.signal import OPS as SIGNAL_OPS
from pagelab.kernel.abi.linux.signal import SIGBUS, SIGILL, SIGSEGV, SIGTRAP, SYS_RT_SIGRETURN
from pagelab.kernel.abi.linux.startup import linux_start
from pagelab.kernel.abi.linux.sysfile import SYSCALLS as FILE_SYSCALLS
from pagelab.kernel.abi.linux.sysmm import SYSCALLS as MM_SYSCALLS
from pagelab.kernel.abi.linux.sysproc import SYS_EXECVE
from pagelab.kernel.abi.linux.sysproc import SYSCALLS as PROC_SYSCALLS
from pagelab.kernel.abi.linux.syssignal import SYSCALLS as SIGNAL_SYSCALLS
from pagelab.kernel.syscall import Handler

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

SYSCALLS: dict[int, Handler] = {**PROC_SYSCALLS, **FILE_SYSCALLS, **MM_SYSCALLS, **SIGNAL_SYSCALLS}

NOFILE = 256  # descriptors per Linux process (RLIMIT_NOFILE); xv6 has 16
MAXARG = 1 << 16  # exec arguments: Linux bounds their bytes (startup.ARG_MAX), not their number


_TRAP_SIGNALS = {
    exc.ILLEGAL_INSTRUCTION: SIGILL,
    exc.BREAKPOINT: SIGTRAP,
    exc.INSN_MISALIGNED: SIGBUS,
    exc.LOAD_MISALIGNED: SIGBUS,
    exc.STORE_MISALIGNED: SIGBUS,
    exc.INSN_ACCESS_FAULT: SIGSEGV,
    exc.LOAD_ACCESS_FAULT: SIGSEGV,
    exc.STORE_ACCESS_FAULT: SIGSEGV,
    SCAUSE_INST_PAGE_FAULT: SIGSEGV,
    SCAUSE_LOAD_PAGE_FAULT: SIGSEGV,
    SCAUSE_STORE_PAGE_FAULT: SIGSEGV,
}


def trap_signal(scause: int) -> int:
    """The signal a fatal trap sends (anything unforeseen is an illegal instruction)."""
    return _TRAP_SIGNALS.get(scause, SIGILL)


def linux_unknown(m: Machine, p: Proc, num: int) -> int:
    """A call this kernel does not have: -ENOSYS, counted for the stats."""
    m.enosys[num] = m.enosys.get(num, 0) + 1
    return -ENOSYS


# execve replaces the code being run, rt_sigreturn the registers: both are served with the
# CPU stopped.
OUTSIDE = frozenset((SYS_EXECVE, SYS_RT_SIGRETURN))
LINUX = Abi("linux", SYSCALLS, OUTSIDE, linux_unknown, linux_start, NOFILE, MAXARG, trap_signal, SIGNAL_OPS)
