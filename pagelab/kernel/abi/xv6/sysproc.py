"""Process system calls, as in xv6's sysproc.c (plus exec)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSIZE, pgroundup
from pagelab.kernel import proc
from pagelab.kernel.exec import exec_image, open_exec
from pagelab.kernel.mm.brk import do_brk
from pagelab.kernel.mm.mmap import MMAP_TOP, do_mmap, do_munmap
from pagelab.kernel.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED
from pagelab.kernel.param import MAXARG, MAXPATH
from pagelab.kernel.proc import State
from pagelab.kernel.syscall import (
    NORETURN,
    RESTART,
    Handler,
    Result,
    argaddr,
    argint,
    argstr,
    copyout,
    fetchaddr,
    fetchstr,
)

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

# exec is served with emulation stopped (it replaces the code being run and flushes
# Unicorn's translated code), not inside the interrupt hook.
SYS_EXEC = 7

# Exec argument strings are copied to the one stack page, so each must fit in it.
MAXARGLEN = 4096

# sbrk's second argument in xv6-riscv since 2024 (honoured with Config.sbrk_type).
SBRK_EAGER = 1
SBRK_LAZY = 2


def sys_fork(m: Machine, p: Proc) -> Result:
    return proc.fork(m, p)


def sys_exit(m: Machine, p: Proc) -> Result:
    proc.exit_proc(m, p, argint(m, 0))
    return NORETURN


def sys_wait(m: Machine, p: Proc) -> Result:
    addr = argaddr(m, 0)
    kids = proc.children(m, p)
    for c in kids:
        if c.state == State.ZOMBIE:
            if addr != 0 and not copyout(m, p, addr, (c.xstate & 0xFFFFFFFF).to_bytes(4, "little")):
                return -1
            pid = c.pid
            proc.freeproc(m, c)
            return pid
    if not kids or p.killed:
        return -1
    proc.sleep(m, p, p)  # exit_proc wakes the parent
    return RESTART


def sys_kill(m: Machine, p: Proc) -> Result:
    return proc.kill(m, argint(m, 0))


def sys_getpid(m: Machine, p: Proc) -> Result:
    return p.pid


def sys_sbrk(m: Machine, p: Proc) -> Result:
    """Grow or shrink the heap by n bytes; returns the old size, or -1 with nothing changed.

    Growth is lazy or eager as the configuration says. With Config.sbrk_type, the second
    argument says instead, as in xv6-riscv since 2024: SBRK_EAGER allocates every page
    now (or fails, with nothing changed, when memory is short), anything else is lazy.
    Older binaries leave a1 undefined, hence the switch."""
    eager = argint(m, 1) == SBRK_EAGER if m.config.sbrk_type else None
    old = p.sz
    return old if do_brk(m, p, old + argint(m, 0), eager) else -1


def sys_sleep(m: Machine, p: Proc) -> Result:
    if p.restart_state is None:
        p.restart_state = m.clock.ticks + max(argint(m, 0), 0)
    if p.killed:
        return -1
    if m.clock.ticks >= p.restart_state:
        return 0
    p.wake_tick = p.restart_state
    proc.sleep(m, p, m.clock)
    return RESTART


def sys_uptime(m: Machine, p: Proc) -> Result:
    return m.clock.ticks


def sys_exec(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0, MAXPATH)
    uargv = argaddr(m, 1)
    if path is None:
        return -1
    argv: list[bytes] = []
    while True:
        if len(argv) > MAXARG:
            return -1
        ptr = fetchaddr(m, p, uargv + 8 * len(argv))
        if ptr is None:
            return -1
        if ptr == 0:
            break
        s = fetchstr(m, p, ptr, MAXARGLEN)
        if s is None:
            return -1
        argv.append(s)
    a = open_exec(m, p.cwd, path)
    if a is None:
        return -1
    name = path.rsplit(b"/", 1)[-1].decode("utf-8", "replace")
    try:
        if exec_image(m, p, a, argv, name) < 0:
            return -1
    finally:
        m.pagecache.put(a)  # the new image's regions hold their own references
    return NORETURN


# The xv6 mmap lab's mmap: these flags only, addr ignored, any failure -1.
XV6_MAP_FLAGS = MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS


def sys_mmap(m: Machine, p: Proc) -> Result:
    """mmap(addr, length, prot, flags, fd, offset): addr is a hint this kernel ignores."""
    flags = argint(m, 3)
    if flags & ~XV6_MAP_FLAGS or (flags & MAP_SHARED and flags & MAP_PRIVATE):
        return -1
    r = do_mmap(m, p, argaddr(m, 1), argint(m, 2), flags, argint(m, 4), argaddr(m, 5))
    return -1 if r < 0 else r


def sys_munmap(m: Machine, p: Proc) -> Result:
    """munmap(addr, length) of mmap regions only, below MMAP_TOP (the lab's rule): a range
    that touches text, data, heap or stack fails."""
    addr, length = argaddr(m, 0), argaddr(m, 1)
    if addr % PGSIZE or length <= 0 or addr + length > MMAP_TOP:
        return -1
    if any(v.kind != "mmap" for v in p.vmas.between(addr, addr + pgroundup(length))):
        return -1
    return -1 if do_munmap(m, p, addr, length) < 0 else 0


SYSCALLS: dict[int, Handler] = {
    1: sys_fork,
    2: sys_exit,
    3: sys_wait,
    6: sys_kill,
    SYS_EXEC: sys_exec,
    11: sys_getpid,
    12: sys_sbrk,
    13: sys_sleep,
    14: sys_uptime,
    22: sys_mmap,
    23: sys_munmap,
}
