"""Memory system calls of the Linux personality: brk, mmap and munmap over the kernel's
mm services (mm/brk.py, mm/mmap.py).

mprotect, mremap, madvise, msync and mmap's MAP_FIXED family belong here too, as they
are added to mm/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel.abi.linux.errno import EBADF, EINVAL, ENODEV, ENOMEM
from pagelab.kernel.mm.brk import do_brk
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED
from pagelab.kernel.syscall import Handler, Result, argaddr, argint

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

SYS_MUNMAP = 215
SYS_BRK = 214
SYS_MMAP = 222

MAP_SHARED_VALIDATE = 0x03
MAP_FIXED = 0x10
# Hints this kernel may ignore: the region is lazy anyway (NORESERVE), a stack is
# ordinary anonymous memory (STACK, GROWSDOWN), pages arrive at their faults (POPULATE).
MAP_GROWSDOWN = 0x100
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_STACK = 0x20000
_IGNORED = MAP_GROWSDOWN | MAP_NORESERVE | MAP_POPULATE | MAP_STACK


def sys_brk(m: Machine, p: Proc) -> Result:
    """brk(addr): move the break to addr; the result is the break, moved or not (a failure
    returns the old one, never -1). brk(0) asks where it is."""
    addr = argaddr(m, 0)
    if addr and addr != p.sz:
        do_brk(m, p, addr)
    return p.sz


def sys_mmap(m: Machine, p: Proc) -> Result:
    """mmap(addr, length, prot, flags, fd, offset). addr is a hint this kernel does not
    follow; MAP_FIXED is refused (EINVAL) until mm/ places regions at given addresses."""
    length, prot, flags, fd, offset = argaddr(m, 1), argint(m, 2), argint(m, 3), argint(m, 4), argaddr(m, 5)
    if length == 0 or offset % PGSIZE or flags & MAP_FIXED:
        return -EINVAL
    kind = flags & MAP_SHARED_VALIDATE
    if kind == MAP_SHARED_VALIDATE:
        kind = MAP_SHARED
    if kind not in (MAP_SHARED, MAP_PRIVATE):
        return -EINVAL
    flags = (flags & ~(_IGNORED | MAP_SHARED_VALIDATE)) | kind
    if flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS):
        return -EINVAL
    if not flags & MAP_ANONYMOUS:
        f = p.ofile[fd] if 0 <= fd < len(p.ofile) else None
        if f is None:
            return -EBADF
        if f.mapping is None:
            return -ENODEV
    r = do_mmap(m, p, length, prot, flags, fd, offset)
    return -ENOMEM if r == -1 else r


def sys_munmap(m: Machine, p: Proc) -> Result:
    return -EINVAL if do_munmap(m, p, argaddr(m, 0), argaddr(m, 1)) < 0 else 0


SYSCALLS: dict[int, Handler] = {
    SYS_BRK: sys_brk,
    SYS_MUNMAP: sys_munmap,
    SYS_MMAP: sys_mmap,
}
