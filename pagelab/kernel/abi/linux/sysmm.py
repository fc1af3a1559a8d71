"""Memory system calls of the Linux personality: brk, mmap, munmap, mprotect, mremap,
madvise and msync, each a thin decoding of its arguments over the kernel's mm services
(mm/brk.py, mm/mmap.py, mm/mprotect.py, mm/mremap.py, mm/madvise.py, mm/msync.py). Those
return -errno already (mm/errno.py has Linux's numbers), which is Linux's convention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pagelab.kernel.abi.linux.errno import EFAULT
from pagelab.kernel.mm.brk import do_brk
from pagelab.kernel.mm.madvise import do_madvise
from pagelab.kernel.mm.mincore import do_mincore
from pagelab.kernel.mm.mmap import do_mmap, do_munmap
from pagelab.kernel.mm.mprotect import do_mprotect
from pagelab.kernel.mm.mremap import do_mremap
from pagelab.kernel.mm.msync import do_msync
from pagelab.kernel.syscall import Handler, Result, argaddr, argint, copyout

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

SYS_MUNMAP = 215
SYS_MREMAP = 216
SYS_BRK = 214
SYS_MMAP = 222
SYS_MPROTECT = 226
SYS_MSYNC = 227
SYS_MINCORE = 232
SYS_MADVISE = 233


def sys_brk(m: Machine, p: Proc) -> Result:
    """brk(addr): move the break to addr; the result is the break, moved or not (a failure
    returns the old one, never -1). brk(0) asks where it is."""
    addr = argaddr(m, 0)
    if addr and addr != p.sz:
        do_brk(m, p, addr)
    return p.sz


def sys_mmap(m: Machine, p: Proc) -> Result:
    """mmap(addr, length, prot, flags, fd, offset): every flag Linux knows is mm's to judge
    (MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE...); addr without MAP_FIXED is a hint."""
    addr, length, prot, flags = argaddr(m, 0), argaddr(m, 1), argint(m, 2), argint(m, 3)
    return do_mmap(m, p, length, prot, flags, argint(m, 4), argaddr(m, 5), addr)


def sys_munmap(m: Machine, p: Proc) -> Result:
    return do_munmap(m, p, argaddr(m, 0), argaddr(m, 1))


def sys_mprotect(m: Machine, p: Proc) -> Result:
    return do_mprotect(m, p, argaddr(m, 0), argaddr(m, 1), argint(m, 2))


def sys_mremap(m: Machine, p: Proc) -> Result:
    """mremap(old_address, old_size, new_size, flags, new_address)."""
    return do_mremap(m, p, argaddr(m, 0), argaddr(m, 1), argaddr(m, 2), argint(m, 3), argaddr(m, 4))


def sys_madvise(m: Machine, p: Proc) -> Result:
    return do_madvise(m, p, argaddr(m, 0), argaddr(m, 1), argint(m, 2))


def sys_msync(m: Machine, p: Proc) -> Result:
    return do_msync(m, p, argaddr(m, 0), argaddr(m, 1), argint(m, 2))


def sys_mincore(m: Machine, p: Proc) -> Result:
    """mincore(addr, length, vec): one byte per page, 1 if resident."""
    r = do_mincore(m, p, argaddr(m, 0), argaddr(m, 1))
    if isinstance(r, int):
        return r
    return 0 if copyout(m, p, argaddr(m, 2), r) else -EFAULT


SYSCALLS: dict[int, Handler] = {
    SYS_BRK: sys_brk,
    SYS_MUNMAP: sys_munmap,
    SYS_MREMAP: sys_mremap,
    SYS_MMAP: sys_mmap,
    SYS_MPROTECT: sys_mprotect,
    SYS_MSYNC: sys_msync,
    SYS_MINCORE: sys_mincore,
    SYS_MADVISE: sys_madvise,
}
