"""The xv6-riscv personality: xv6's system-call numbers, argint decoding, its struct stat
and open flags, and its error convention (every failure is -1)."""

from __future__ import annotations

from pagelab.kernel.abi import Abi, xv6_unknown
from pagelab.kernel.abi.xv6.sysfile import SYSCALLS as FILE_SYSCALLS
from pagelab.kernel.abi.xv6.sysproc import SYS_EXEC
from pagelab.kernel.abi.xv6.sysproc import SYSCALLS as PROC_SYSCALLS
from pagelab.kernel.exec import xv6_start
from pagelab.kernel.param import MAXARG, NOFILE
from pagelab.kernel.syscall import Handler

SYSCALLS: dict[int, Handler] = {**PROC_SYSCALLS, **FILE_SYSCALLS}

XV6 = Abi("xv6", SYSCALLS, frozenset((SYS_EXEC,)), xv6_unknown, xv6_start, NOFILE, MAXARG)
