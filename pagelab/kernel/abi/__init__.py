"""System-call personalities (ABIs) over one kernel.

Each ABI package holds what differs between operating systems as a program sees them:
system-call numbers, argument decoding, structure layouts (stat, dirent, flags), the
error convention and the way a new program's stack is laid out. The work itself is done
by the shared kernel services (proc, file, fs, pipe, exec and mm/), which never know which
ABI a process speaks.

A process carries its ABI (Proc.abi); exec chooses it for each ELF it loads (see
exec.detect_abi), and the dispatcher (syscall.py) looks the call up in that ABI's table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pagelab.kernel.param import MAXARG, NOFILE

if TYPE_CHECKING:
    from pagelab.hw.hart import Trap
    from pagelab.kernel.binfmt import Image, Layout
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc
    from pagelab.kernel.syscall import Handler

    Unknown = Callable[[Machine, Proc, int], int]
    TrapSignal = Callable[[int], int]
    Start = Callable[[Machine, Image, list[bytes], list[bytes], bytes], Layout]


@dataclass(frozen=True)
class SignalOps:
    """How a personality that has signals delivers them (Linux; xv6 has none)."""

    # Act on the process's deliverable signals as it goes back to user mode.
    deliver: Callable[[Machine, Proc], None]
    # A trap the kernel could not resolve, with its stval and signal: True if a handler
    # takes it (the process goes on), False to kill the process with the signal.
    fault: Callable[[Machine, Proc, Trap, int, int], bool]
    # The process slept in a blocking call and a signal woke it: end the call (-EINTR).
    interrupt: Callable[[Machine, Proc], None]
    # A child of this personality's process has exited (SIGCHLD).
    child_exited: Callable[[Machine, Proc], None]


@dataclass(frozen=True, eq=False)
class Abi:
    """One personality. The Machine holds one copy of each, with its own table, so that a
    test may wrap a machine's handlers without touching another machine's."""

    name: str  # "xv6" or "linux": in the stats, the trace and --vmprint
    syscalls: dict[int, Handler]  # number -> handler
    outside: frozenset[int]  # calls served with emulation stopped (exec replaces the code)
    unknown: Unknown  # what a number with no handler returns
    start: Start  # exec's start-up: the stack (arguments, environment) and the heap
    nofile: int  # descriptors per process
    maxarg: int  # exec arguments
    # The signal a fatal trap (by scause) kills with; None: killed as xv6 kills, status -1.
    trap_signal: TrapSignal | None = None
    signals: SignalOps | None = None  # None: no signals beyond being killed (xv6)


def xv6_unknown(m: Machine, p: Proc, num: int) -> int:
    """xv6's syscall(): print the unknown number, return -1."""
    m.log(f"{p.pid} {p.name}: unknown sys call {num}")
    return -1


def _no_start(m: Machine, img: Image, argv: list[bytes], envp: list[bytes], execfn: bytes) -> Layout:
    raise RuntimeError("exec with no personality")


# A process that has not been through exec yet (it never runs in that state).
NOABI = Abi("none", {}, frozenset(), xv6_unknown, _no_start, NOFILE, MAXARG)
