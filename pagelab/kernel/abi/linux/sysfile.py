"""File system calls of the Linux personality: descriptors, reads and writes (plain,
vectored, positional), stat, and the few ioctls a libc asks for. The work is done by the
kernel's file layer (file.py, fs.py, pipe.py); here are Linux's numbers, structures and
errno values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pagelab.kernel.abi.linux.errno import (
    EBADF,
    EFAULT,
    EINTR,
    EINVAL,
    EIO,
    EMFILE,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTTY,
    EPIPE,
    ESPIPE,
)
from pagelab.kernel.abi.linux.paths import PATH_MAX, is_self_exe
from pagelab.kernel.abi.linux.signal import SI_USER, SIGPIPE, send
from pagelab.kernel.abi.linux.structs import (
    IOVEC,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFREG,
    STAT,
)
from pagelab.kernel.file import File, FileKind, fileclose, filedup, fileread, filestat, filewrite
from pagelab.kernel.fs import T_DIR, T_FILE
from pagelab.kernel.signal import SigInfo
from pagelab.kernel.syscall import RESTART, Handler, Result, argaddr, argint, argstr, copyin, copyout

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
UIO_MAXIOV = 1024
MAX_RW_COUNT = 0x7FFFF000  # the most one read or write moves, as Linux caps it
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2

TCGETS = 0x5401
TIOCGWINSZ = 0x5413
# A terminal in its usual cooked mode (struct termios: iflag, oflag, cflag, lflag, line,
# cc[19]): ICRNL|IXON; OPOST|ONLCR; B38400|CS8|CREAD; ISIG|ICANON|ECHO|ECHOE|ECHOK|
# ECHOCTL|ECHOKE|IEXTEN; ^C ^\ DEL ^U ^D.
_TERMIOS = (
    (0x500).to_bytes(4, "little")
    + (0x5).to_bytes(4, "little")
    + (0xBF).to_bytes(4, "little")
    + (0x8A3B).to_bytes(4, "little")
    + bytes([0, 3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0])
)


def getfile(p: Proc, fd: int) -> File | None:
    return p.ofile[fd] if 0 <= fd < len(p.ofile) else None


def fdalloc(p: Proc, f: File, lowest: int = 0) -> int:
    """The lowest free descriptor >= lowest, now referring to f; -1 if none is free."""
    for fd in range(max(lowest, 0), len(p.ofile)):
        if p.ofile[fd] is None:
            p.ofile[fd] = f
            p.cloexec.discard(fd)
            return fd
    return -1


def close_fd(m: Machine, p: Proc, fd: int) -> None:
    f = p.ofile[fd]
    p.ofile[fd] = None
    p.cloexec.discard(fd)
    if f is not None:
        fileclose(m, f)


# --- reading and writing ---------------------------------------------------------------


def _error(m: Machine, p: Proc, f: File, write: bool, refused_before: int) -> int:
    """The errno behind a -1 from the file layer."""
    if f.kind is FileKind.PIPE and f.pipe is not None:
        if p.interrupted:
            return -EINTR
        if write and not f.pipe.readopen:
            send(m, p, SigInfo(SIGPIPE, SI_USER, p.pid))  # and SIGPIPE, which kills by default
            return -EPIPE
        return -EFAULT
    if write and f.kind is FileKind.INODE and m.fs.quota.refused > refused_before:
        return -ENOSPC
    return -EFAULT


def _rw(m: Machine, p: Proc, f: File, addr: int, n: int, write: bool) -> Result:
    """One read or write through the file layer, with Linux's errors."""
    n = min(n, MAX_RW_COUNT)
    refused = m.fs.quota.refused
    r = filewrite(m, p, f, addr, n) if write else fileread(m, p, f, addr, n)
    if r is RESTART or not isinstance(r, int) or r >= 0:
        return r
    return _error(m, p, f, write, refused)


def sys_read(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None or not f.readable:
        return -EBADF
    return _rw(m, p, f, argaddr(m, 1), argaddr(m, 2), False)


def sys_write(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None or not f.writable:
        return -EBADF
    return _rw(m, p, f, argaddr(m, 1), argaddr(m, 2), True)


@dataclass(frozen=True)
class VecProgress:
    """How far a blocked readv/writev got: iovecs done, bytes moved, and the progress of
    the one in hand (a pipe write's own restart state)."""

    index: int
    total: int
    inner: object


def _vector(m: Machine, p: Proc, write: bool) -> Result:
    """readv and writev: the iovecs in order, as one call. A read stops at the first
    short piece; a read from a pipe or the console never blocks once it has data."""
    f = getfile(p, argint(m, 0))
    if f is None or not (f.writable if write else f.readable):
        return -EBADF
    cnt = argint(m, 2)
    if not 0 <= cnt <= UIO_MAXIOV:
        return -EINVAL
    raw = copyin(m, p, argaddr(m, 1), cnt * IOVEC.size)
    if raw is None:
        return -EFAULT
    iovs = [IOVEC.unpack_from(raw, i * IOVEC.size) for i in range(cnt)]
    prog = p.restart_state
    i, total, inner = (prog.index, prog.total, prog.inner) if isinstance(prog, VecProgress) else (0, 0, None)
    while i < cnt:
        base, n = iovs[i]
        if n == 0:
            i += 1
            continue
        if not write and total and f.kind is not FileKind.INODE:
            break  # a pipe or the console: return what came, do not wait for more
        p.restart_state = inner
        r = _rw(m, p, f, base, min(n, MAX_RW_COUNT - total), write)
        if r is RESTART:
            p.restart_state = VecProgress(i, total, p.restart_state)
            return RESTART
        inner = None
        assert isinstance(r, int)
        if r < 0:
            return total if total else r
        total += r
        if r < n:
            break
        i += 1
    return total


def sys_readv(m: Machine, p: Proc) -> Result:
    return _vector(m, p, False)


def sys_writev(m: Machine, p: Proc) -> Result:
    return _vector(m, p, True)


def _positional(m: Machine, p: Proc, write: bool) -> Result:
    """pread64 and pwrite64: at an offset, leaving the file's own offset alone."""
    f = getfile(p, argint(m, 0))
    if f is None or not (f.writable if write else f.readable):
        return -EBADF
    if f.kind is not FileKind.INODE or f.ip is None or f.ip.type != T_FILE:
        return -ESPIPE
    off = argaddr(m, 3)
    if off >= 1 << 63:
        return -EINVAL
    saved = f.off
    f.off = off
    try:
        return _rw(m, p, f, argaddr(m, 1), argaddr(m, 2), write)
    finally:
        f.off = saved


def sys_pread64(m: Machine, p: Proc) -> Result:
    return _positional(m, p, False)


def sys_pwrite64(m: Machine, p: Proc) -> Result:
    return _positional(m, p, True)


def sys_lseek(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    if f.kind is not FileKind.INODE or f.ip is None:
        return -ESPIPE
    off, whence = argaddr(m, 1), argint(m, 2)
    off = off - (1 << 64) if off >> 63 else off
    if whence == SEEK_SET:
        new = off
    elif whence == SEEK_CUR:
        new = f.off + off
    elif whence == SEEK_END:
        st = filestat(m, f)
        if st is None:
            return -EIO
        new = st.size + off
    else:
        return -EINVAL
    if new < 0:
        return -EINVAL
    f.off = new
    return new


def sys_close(m: Machine, p: Proc) -> Result:
    fd = argint(m, 0)
    if getfile(p, fd) is None:
        return -EBADF
    close_fd(m, p, fd)
    return 0


# --- stat -------------------------------------------------------------------------------


def stat_bytes(m: Machine, f: File) -> bytes | None:
    """The 128-byte struct stat of an open file. Every file belongs to root and may be
    read, written and run by its owner; times are the clock's epoch."""
    if f.kind is FileKind.PIPE:
        return STAT.pack(0, 0, S_IFIFO | 0o600, 1, 0, 0, 0, 0, 0, 4096, 0, 0, *(0,) * 6, 0, 0)
    st = filestat(m, f)
    if st is None:
        return None
    if st.type == T_DIR:
        mode = S_IFDIR | 0o755
    elif st.type == T_FILE:
        mode = S_IFREG | 0o755
    else:
        mode = S_IFCHR | 0o620
    rdev = (136 << 8) if mode & S_IFCHR == S_IFCHR and st.type != T_FILE else 0  # a pty's major
    from pagelab.kernel.abi.linux.sysproc import BOOT_EPOCH

    t = (BOOT_EPOCH, 0) * 3
    return STAT.pack(st.dev, st.ino, mode, st.nlink, 0, 0, rdev, 0, st.size, 4096, 0, (st.size + 511) // 512, *t, 0, 0)


def sys_fstat(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    data = stat_bytes(m, f)
    if data is None:
        return -EIO
    return 0 if copyout(m, p, argaddr(m, 1), data) else -EFAULT


def sys_newfstatat(m: Machine, p: Proc) -> Result:
    """newfstatat(dirfd, path, buf, flags): with AT_EMPTY_PATH and "", fstat of dirfd."""
    dirfd, flags = argint(m, 0), argint(m, 3)
    path = argstr(m, p, 1, PATH_MAX)
    if path is None:
        return -EFAULT
    if path == b"" and flags & AT_EMPTY_PATH:
        f = getfile(p, dirfd)
        if f is None:
            return -EBADF
        data = stat_bytes(m, f)
        if data is None:
            return -EIO
        return 0 if copyout(m, p, argaddr(m, 2), data) else -EFAULT
    return stat_path(m, p, dirfd, path, argaddr(m, 2))


def stat_path(m: Machine, p: Proc, dirfd: int, path: bytes, buf: int) -> Result:
    """stat by name, relative to the current directory (dirfd AT_FDCWD) or absolute."""
    if not path.startswith(b"/") and dirfd != AT_FDCWD:
        return -EBADF if getfile(p, dirfd) is None else -ENOTDIR
    if path == b"":
        return -ENOENT
    ip = m.fs.open(p.cwd, path, 0)
    if ip is None:
        return -ENOENT
    f = File(FileKind.INODE, readable=True, writable=False, ip=ip, major=ip.major)
    try:
        data = stat_bytes(m, f)
    finally:
        m.fs.close(ip)
    if data is None:
        return -EIO
    return 0 if copyout(m, p, buf, data) else -EFAULT


# --- descriptors ------------------------------------------------------------------------


def sys_ioctl(m: Machine, p: Proc) -> Result:
    """TCGETS and TIOCGWINSZ answer as a terminal when the console is one (an interactive
    run); every other file, and a console that is a pipe or file, is not a tty."""
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    req = argaddr(m, 1) & 0xFFFFFFFF
    if f.kind is not FileKind.DEVICE or not m.console.interactive:
        return -ENOTTY
    if req == TCGETS:
        return 0 if copyout(m, p, argaddr(m, 2), _TERMIOS) else -EFAULT
    if req == TIOCGWINSZ:
        try:
            cols, rows = os.get_terminal_size(m.console.stdin.fileno())
        except (OSError, ValueError, AttributeError):
            cols, rows = 80, 24
        ws = rows.to_bytes(2, "little") + cols.to_bytes(2, "little") + bytes(4)
        return 0 if copyout(m, p, argaddr(m, 2), ws) else -EFAULT
    return -EINVAL


def sys_readlinkat(m: Machine, p: Proc) -> Result:
    """Only /proc/self/exe is a link: the absolute path of the running program."""
    path = argstr(m, p, 1, PATH_MAX)
    if path is None:
        return -EFAULT
    size = argaddr(m, 3)
    if is_self_exe(p, path):
        target = (p.exe or "/" + p.name).encode()
        if size == 0 or size >> 63:
            return -EINVAL
        target = target[:size]
        return len(target) if copyout(m, p, argaddr(m, 2), target) else -EFAULT
    return readlink_path(m, p, path)


def readlink_path(m: Machine, p: Proc, path: bytes) -> Result:
    """Any other existing name is not a link (the guest's tree has none)."""
    ip = m.fs.open(p.cwd, path, 0)
    if ip is None:
        return -ENOENT
    m.fs.close(ip)
    return -EINVAL


def sys_dup(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    fd = fdalloc(p, f)
    if fd < 0:
        return -EMFILE
    filedup(f)
    return fd


SYSCALLS: dict[int, Handler] = {
    23: sys_dup,
    29: sys_ioctl,
    57: sys_close,
    62: sys_lseek,
    63: sys_read,
    64: sys_write,
    65: sys_readv,
    66: sys_writev,
    67: sys_pread64,
    68: sys_pwrite64,
    78: sys_readlinkat,
    79: sys_newfstatat,
    80: sys_fstat,
}
