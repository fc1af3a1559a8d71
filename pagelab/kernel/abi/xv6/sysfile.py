"""File-system system calls, as in xv6's sysfile.c: argument checking and the per-process
descriptor table; the work is in file.py, fs.py and pipe.py.

Whatever the arguments, a call returns -1 rather than raising: bad descriptors, counts and
pointers, names and paths that are too long, and full tables are all ordinary errors.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pagelab.kernel.file import (
    File,
    fileclose,
    filedup,
    fileread,
    filestat,
    filewrite,
    pipealloc,
)
from pagelab.kernel.param import NOFILE
from pagelab.kernel.syscall import Handler, Result, argaddr, argint, argstr, copyout, int32
from pagelab.kernel.vfs import open_file, unlink_path

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

_FDPAIR = struct.Struct("<ii")


def argfd(m: Machine, p: Proc, n: int) -> tuple[int, File] | None:
    """Argument n as an open descriptor of p, with its File."""
    fd = argint(m, n)
    if not 0 <= fd < NOFILE:
        return None
    f = p.ofile[fd]
    return None if f is None else (fd, f)


def fdalloc(p: Proc, f: File) -> int:
    """The lowest free descriptor of p, now referring to f; -1 if all NOFILE are in use."""
    for fd in range(NOFILE):
        if p.ofile[fd] is None:
            p.ofile[fd] = f
            return fd
    return -1


def sys_dup(m: Machine, p: Proc) -> Result:
    a = argfd(m, p, 0)
    if a is None:
        return -1
    fd = fdalloc(p, a[1])
    if fd < 0:
        return -1
    filedup(a[1])
    return fd


def _fd_file(p: Proc, reg: int) -> File | None:
    """The File of descriptor `reg` (an argint: a negative one is out of range too)."""
    fd = int32(reg)
    return p.ofile[fd] if 0 <= fd < NOFILE else None


# read and write are most of a pipeline's system calls: their arguments are taken
# straight from the register batch (fd, buf, n = a0, a1, a2).


def sys_read(m: Machine, p: Proc) -> Result:
    a = m.hart.syscall_args()
    f = _fd_file(p, a[0])
    if f is None:
        return -1
    return fileread(m, p, f, a[1], int32(a[2]))


def sys_write(m: Machine, p: Proc) -> Result:
    a = m.hart.syscall_args()
    f = _fd_file(p, a[0])
    if f is None:
        return -1
    return filewrite(m, p, f, a[1], int32(a[2]))


def sys_close(m: Machine, p: Proc) -> Result:
    a = argfd(m, p, 0)
    if a is None:
        return -1
    p.ofile[a[0]] = None
    fileclose(m, a[1])
    return 0


def sys_fstat(m: Machine, p: Proc) -> Result:
    a = argfd(m, p, 0)
    if a is None:
        return -1
    st = filestat(m, a[1])
    if st is None or not copyout(m, p, argaddr(m, 1), st.pack()):
        return -1
    return 0


def sys_pipe(m: Machine, p: Proc) -> Result:
    fdarray = argaddr(m, 0)
    ends = pipealloc(m)
    if ends is None:
        return -1
    rf, wf = ends
    fd0 = fdalloc(p, rf)
    fd1 = fdalloc(p, wf) if fd0 >= 0 else -1
    if fd1 < 0 or not copyout(m, p, fdarray, _FDPAIR.pack(fd0, fd1)):
        if fd0 >= 0:
            p.ofile[fd0] = None
        if fd1 >= 0:
            p.ofile[fd1] = None
        fileclose(m, rf)
        fileclose(m, wf)
        return -1
    return 0


def sys_open(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0)
    omode = argint(m, 1)
    if path is None:
        return -1
    f = open_file(m, p.cwd, path, omode)
    if f is None:
        return -1
    fd = fdalloc(p, f)
    if fd < 0:
        fileclose(m, f)
        return -1
    return fd


def sys_mkdir(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0)
    return -1 if path is None else m.fs.mkdir(p.cwd, path)


def sys_mknod(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0)
    if path is None:
        return -1
    return m.fs.mknod(p.cwd, path, argint(m, 1), argint(m, 2))


def sys_chdir(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0)
    if path is None:
        return -1
    cwd = m.fs.chdir(p.cwd, path)
    if cwd is None:
        return -1
    p.cwd = cwd
    return 0


def sys_unlink(m: Machine, p: Proc) -> Result:
    path = argstr(m, p, 0)
    if path is None:
        return -1
    return unlink_path(m, p.cwd, path)


def sys_link(m: Machine, p: Proc) -> Result:
    old = argstr(m, p, 0)
    new = argstr(m, p, 1)
    if old is None or new is None:
        return -1
    return m.fs.link(p.cwd, old, new)


SYSCALLS: dict[int, Handler] = {
    4: sys_pipe,
    5: sys_read,
    8: sys_fstat,
    9: sys_chdir,
    10: sys_dup,
    15: sys_open,
    16: sys_write,
    17: sys_mknod,
    18: sys_unlink,
    19: sys_link,
    20: sys_mkdir,
    21: sys_close,
}
