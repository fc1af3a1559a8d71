"""System-call dispatch and argument fetching, as in xv6's syscall.c.

A handler returns the value for a0, or RESTART after putting the process to sleep: the
handler is then called again when the process wakes, before it runs any instruction, and
starts over (any progress it must keep goes in `p.restart_state`). NORETURN means the handler set the
registers itself (exec) or the process is gone (exit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from pagelab.hw.hart import A0
from pagelab.kernel.events import SyscallEvent
from pagelab.kernel.mm import vm
from pagelab.kernel.param import MAXPATH

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


RESTART: Final = _Marker("RESTART")
NORETURN: Final = _Marker("NORETURN")

Result = int | _Marker
Handler = Callable[["Machine", "Proc"], Result]

U64 = (1 << 64) - 1


def argraw(m: Machine, n: int) -> int:
    return m.hart.syscall_args()[n]


def int32(v: int) -> int:
    """The low 32 bits of a register, sign-extended, as xv6's argint reads an int."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def argint(m: Machine, n: int) -> int:
    """An int argument: the low 32 bits, sign-extended, as xv6's argint reads it."""
    return int32(m.hart.syscall_args()[n])


def argaddr(m: Machine, n: int) -> int:
    """A pointer, or a 64-bit length or offset."""
    return argraw(m, n) & U64


def fetchstr(m: Machine, p: Proc, addr: int, maxlen: int = MAXPATH) -> bytes | None:
    """A NUL-terminated user string, or None if it is unreadable or too long."""
    return vm.copyinstr(m.km, p.pagetable, addr, maxlen, m.uaccess_fault)


def argstr(m: Machine, p: Proc, n: int, maxlen: int = MAXPATH) -> bytes | None:
    return fetchstr(m, p, argaddr(m, n), maxlen)


def fetchaddr(m: Machine, p: Proc, addr: int) -> int | None:
    """A 64-bit word from user memory."""
    data = vm.copyin(m.km, p.pagetable, addr, 8, m.uaccess_fault)
    return None if data is None else int.from_bytes(data, "little")


def copyout(m: Machine, p: Proc, dst: int, data: bytes) -> bool:
    return vm.copyout(m.km, p.pagetable, dst, data, m.uaccess_fault)


def copyin(m: Machine, p: Proc, src: int, n: int) -> bytes | None:
    return vm.copyin(m.km, p.pagetable, src, n, m.uaccess_fault)


def syscall(m: Machine, p: Proc, table: dict[int, Handler] | None = None) -> None:
    """Run the call named in a7 and put its result in a0. The call is looked up in the
    table of p's ABI (or in `table`); a number with no handler gets the ABI's answer to
    unknown calls (xv6: a message and -1; Linux: -ENOSYS)."""
    num = m.hart.syscall_args()[7]
    handler = (p.abi.syscalls if table is None else table).get(num)
    if handler is None:
        m.hart.set_reg(A0, p.abi.unknown(m, p, num))
        return
    ret = _observed(m, p, num, handler) if m.listeners else handler(m, p)
    if ret.__class__ is int:
        p.restart_state = None
        m.hart.set_reg(A0, ret)
    elif ret is RESTART:
        # The process sleeps; the scheduler runs this handler again when it wakes, before
        # the process's next instruction (pc stays past the ecall, a0-a7 are intact), as
        # xv6's sleep() returns into the middle of the call.
        m.restarts.add(p)
    else:
        p.restart_state = None
        if isinstance(ret, int):
            m.hart.set_reg(A0, ret)


def _observed(m: Machine, p: Proc, num: int, handler: Handler) -> Result:
    """Run a handler between a SyscallEvent at entry and one at exit (or block)."""
    abi = p.abi.name
    m.emit(SyscallEvent(p.pid, num, "enter", m.now(), 0, abi))
    ret = handler(m, p)
    if ret is RESTART:
        m.emit(SyscallEvent(p.pid, num, "block", m.now(), 0, abi))
    else:
        m.emit(SyscallEvent(p.pid, num, "exit", m.now(), ret if isinstance(ret, int) else 0, abi))
    return ret
