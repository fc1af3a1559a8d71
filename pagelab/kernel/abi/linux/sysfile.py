"""File system calls of the Linux personality: descriptors, reads and writes (plain,
vectored, positional), stat, and the few ioctls a libc asks for. The work is done by the
kernel's file layer (file.py, fs.py, pipe.py); here are Linux's numbers, structures and
errno values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pagelab.kernel import proc
from pagelab.kernel.abi.linux.errno import (
    EAGAIN,
    EBADF,
    EBUSY,
    EDEADLK,
    EEXIST,
    EFAULT,
    EFBIG,
    EINTR,
    EINVAL,
    EIO,
    EISDIR,
    EMFILE,
    ENAMETOOLONG,
    ENFILE,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    ERANGE,
    ESPIPE,
)
from pagelab.kernel.abi.linux.flags import (
    AT_REMOVEDIR,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLK,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    FD_CLOEXEC,
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NONBLOCK,
    O_PATH_TMPFILE,
    O_RDONLY,
    O_RDWR,
    O_TMPFILE,
    O_WRONLY,
    RENAME_NOREPLACE,
    to_kernel_flags,
)
from pagelab.kernel.abi.linux.namei import base_dir, check_path, host_dir, linux_names, lookup, why_missing
from pagelab.kernel.abi.linux.paths import PATH_MAX, absolute, cwd_bytes, is_self_exe
from pagelab.kernel.abi.linux.signal import SI_USER, SIGPIPE, send
from pagelab.kernel.abi.linux.structs import (
    DIRENT64,
    FDPAIR,
    FLOCK,
    IOVEC,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFREG,
    STAT,
)
from pagelab.kernel.file import File, FileKind, fileclose, filedup, fileread, filestat, filewrite, pipealloc
from pagelab.kernel.fs import T_DIR, T_FILE, last_name
from pagelab.kernel.locks import F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX
from pagelab.kernel.param import PIPESIZE
from pagelab.kernel.signal import SigInfo
from pagelab.kernel.syscall import RESTART, Handler, Result, argaddr, argint, argstr, copyin, copyout
from pagelab.kernel.vfs import dir_listing, open_file, rename_path, truncate_file, unlink_path

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

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
    """Close a descriptor. As POSIX has it, the process's record locks on the file go
    with any descriptor of it that it closes."""
    f = p.ofile[fd]
    p.ofile[fd] = None
    p.cloexec.discard(fd)
    if f is not None:
        if f.ip is not None and f.ip.key is not None:
            for lf in m.locks.release_all(f.ip.key, p.pid):
                proc.wakeup(m, lf)
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
    """One read or write through the file layer, with Linux's errors. O_APPEND writes
    at the end; O_NONBLOCK on a pipe gives EAGAIN where it would wait."""
    n = min(n, MAX_RW_COUNT)
    pi = f.pipe
    if pi is not None and f.fl_flags & O_NONBLOCK and n:
        if write and pi.readopen and len(pi.buf) >= PIPESIZE:
            return -EAGAIN
        if not write and not pi.buf and pi.writeopen:
            return -EAGAIN
    refused = m.fs.quota.refused
    grown_from = -1
    if write and n and f.kind is FileKind.INODE and f.ip is not None and f.ip.type == T_FILE:
        st = filestat(m, f)
        if st is not None and f.fl_flags & O_APPEND:
            f.off = st.size
        elif st is not None and f.off > st.size:
            # A write past the end leaves a hole that reads as zeros (xv6's writei
            # refuses one; SQLite's journal writes its pages at sector-aligned offsets).
            if truncate_file(m, f, f.off) < 0:
                return -ENOSPC if m.fs.quota.refused > refused else -EFBIG
            grown_from = st.size
    r = filewrite(m, p, f, addr, n) if write else fileread(m, p, f, addr, n)
    if r is RESTART or not isinstance(r, int) or r >= 0:
        return r
    if grown_from >= 0:  # nothing written (a bad buffer): the file keeps its size, as in Linux
        truncate_file(m, f, grown_from)
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
        flags, f.fl_flags = f.fl_flags, f.fl_flags & ~O_APPEND  # pwrite ignores O_APPEND here
        try:
            return _rw(m, p, f, argaddr(m, 1), argaddr(m, 2), write)
        finally:
            f.fl_flags = flags
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
    elif m.console.stdout_tty:
        mode = S_IFCHR | 0o620  # the console, when pagelab's output is a terminal
    else:
        mode = S_IFIFO | 0o600  # the console, when pagelab's output is a pipe or a file
    rdev = (136 << 8) if mode & S_IFCHR == S_IFCHR and st.type != T_FILE else 0  # a pty's major
    from pagelab.kernel.abi.linux.sysproc import BOOT_EPOCH

    t = (BOOT_EPOCH, 0) * 3
    return STAT.pack(st.dev, st.ino, mode, st.nlink, 0, 0, rdev, 0, st.size, 4096, 0, (st.size + 511) // 512, *t, 0, 0)


def _stat_fd(m: Machine, p: Proc, fd: int, buf: int) -> Result:
    f = getfile(p, fd)
    if f is None:
        return -EBADF
    data = stat_bytes(m, f)
    if data is None:
        return -EIO
    return 0 if copyout(m, p, buf, data) else -EFAULT


def sys_fstat(m: Machine, p: Proc) -> Result:
    return _stat_fd(m, p, argint(m, 0), argaddr(m, 1))


def sys_newfstatat(m: Machine, p: Proc) -> Result:
    """newfstatat(dirfd, path, buf, flags): with AT_EMPTY_PATH and "", fstat of dirfd."""
    dirfd, flags = argint(m, 0), argint(m, 3)
    path = argstr(m, p, 1, PATH_MAX)
    if path is None:
        return -EFAULT
    if path == b"" and flags & AT_EMPTY_PATH:
        return _stat_fd(m, p, dirfd, argaddr(m, 2))
    return stat_path(m, p, dirfd, path, argaddr(m, 2))


def stat_path(m: Machine, p: Proc, dirfd: int, path: bytes, buf: int) -> Result:
    """stat by name, relative to dirfd (AT_FDCWD: the current directory)."""
    err = check_path(path)
    if err:
        return -err
    base = base_dir(m, p, dirfd, path)
    if isinstance(base, int):
        return base
    with linux_names(m.fs):
        ip = m.fs.open(base, path, 0)
    if ip is None:
        return -why_missing(m, base, path)
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
    with linux_names(m.fs):
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


# --- names: openat and the calls that take a path ------------------------------------


def _path_arg(m: Machine, p: Proc, n: int) -> bytes | int:
    """Argument n as a path, or -errno (EFAULT, ENAMETOOLONG, ENOENT for "")."""
    path = argstr(m, p, n, PATH_MAX)
    if path is None:
        return -EFAULT if copyin(m, p, argaddr(m, n), 1) is None else -ENAMETOOLONG
    err = check_path(path)
    return -err if err else path


def _at(m: Machine, p: Proc, dirfd_arg: int, path_arg: int) -> tuple[str, bytes] | int:
    """(directory to start from, path) of an *at call's (dirfd, path), or -errno."""
    path = _path_arg(m, p, path_arg)
    if isinstance(path, int):
        return path
    base = base_dir(m, p, argint(m, dirfd_arg), path)
    if isinstance(base, int):
        return base
    return base, path


def sys_openat(m: Machine, p: Proc) -> Result:
    at = _at(m, p, 0, 1)
    if isinstance(at, int):
        return at
    base, path = at
    flags = argint(m, 2)
    if flags & O_PATH_TMPFILE == O_TMPFILE:
        return -EOPNOTSUPP
    acc = flags & O_ACCMODE
    if acc == 3:
        return -EINVAL
    st = lookup(m, base, path)
    if st is None:
        if not flags & O_CREAT:
            return -why_missing(m, base, path)
        if path.endswith(b"/"):
            return -EISDIR
    else:
        if flags & O_CREAT and flags & O_EXCL:
            return -EEXIST
        if st.type == T_DIR and (acc != O_RDONLY or flags & O_CREAT):
            return -EISDIR
        if flags & O_DIRECTORY and st.type != T_DIR:
            return -ENOTDIR
    omode = to_kernel_flags(flags)
    refused = m.fs.quota.refused
    with linux_names(m.fs):
        f = open_file(m, base, path, omode)
    if f is None:
        if m.fs.quota.refused > refused:
            return -ENOSPC
        return -ENFILE if st is not None else -why_missing(m, base, path)
    f.fl_flags = flags & (O_APPEND | O_NONBLOCK)
    if f.ip is not None and f.ip.type == T_DIR:
        f.path = host_dir(m, base, path)
    fd = fdalloc(p, f)
    if fd < 0:
        fileclose(m, f)
        return -EMFILE
    if flags & O_CLOEXEC:
        p.cloexec.add(fd)
    return fd


def sys_mkdirat(m: Machine, p: Proc) -> Result:
    at = _at(m, p, 0, 1)
    if isinstance(at, int):
        return at
    base, path = at
    if lookup(m, base, path) is not None:
        return -EEXIST
    refused = m.fs.quota.refused
    with linux_names(m.fs):
        r = m.fs.mkdir(base, path)
    if r < 0:
        return -ENOSPC if m.fs.quota.refused > refused else -why_missing(m, base, path)
    return 0


def sys_unlinkat(m: Machine, p: Proc) -> Result:
    at = _at(m, p, 0, 1)
    if isinstance(at, int):
        return at
    base, path = at
    flags = argint(m, 2)
    if flags & ~AT_REMOVEDIR:
        return -EINVAL
    st = lookup(m, base, path)
    if st is None:
        return -why_missing(m, base, path)
    if flags & AT_REMOVEDIR:
        if st.type != T_DIR:
            return -ENOTDIR
        if last_name(path) == b".":
            return -EINVAL
        if last_name(path) == b".." or absolute(base, path) == b"/":
            return -EBUSY if absolute(base, path) == b"/" else -ENOTEMPTY
    elif st.type == T_DIR:
        return -EISDIR
    with linux_names(m.fs):
        r = unlink_path(m, base, path)
    if r < 0:
        return -ENOTEMPTY if st.type == T_DIR else -EIO
    return 0


def _two_at(m: Machine, p: Proc) -> tuple[tuple[str, bytes], tuple[str, bytes]] | int:
    """The (olddirfd, old, newdirfd, new) of linkat and renameat2, or -errno."""
    old = _at(m, p, 0, 1)
    if isinstance(old, int):
        return old
    new = _at(m, p, 2, 3)
    if isinstance(new, int):
        return new
    return old, new


def sys_linkat(m: Machine, p: Proc) -> Result:
    names = _two_at(m, p)
    if isinstance(names, int):
        return names
    old, new = names
    st = lookup(m, *old)
    if st is None:
        return -why_missing(m, *old)
    if st.type == T_DIR:
        return -EPERM
    if lookup(m, *new) is not None:
        return -EEXIST
    with linux_names(m.fs):
        r = m.fs.link(
            old[0],
            absolute(*old),
            absolute(*new),
        )
    return -why_missing(m, *new) if r < 0 else 0


def sys_renameat2(m: Machine, p: Proc) -> Result:
    names = _two_at(m, p)
    if isinstance(names, int):
        return names
    old, new = names
    flags = argint(m, 4)
    if flags & ~RENAME_NOREPLACE:
        return -EINVAL
    src = lookup(m, *old)
    if src is None:
        return -why_missing(m, *old)
    dst = lookup(m, *new)
    if dst is not None:
        if flags & RENAME_NOREPLACE:
            return -EEXIST
        if src.type == T_DIR and dst.type != T_DIR:
            return -ENOTDIR
        if src.type != T_DIR and dst.type == T_DIR:
            return -EISDIR
    oa, na = absolute(*old), absolute(*new)
    if oa == b"/" or na == b"/" or ((na + b"/").startswith(oa + b"/") and oa != na):
        return -EINVAL if oa != b"/" else -EBUSY  # into itself, or the root
    with linux_names(m.fs):
        r = rename_path(m, oa, na)
    if r < 0:
        return -ENOTEMPTY if dst is not None and dst.type == T_DIR else -why_missing(m, *new)
    return 0


def sys_faccessat(m: Machine, p: Proc) -> Result:
    """Everyone is root, and every file has mode 0755: a name that exists may be read,
    written and run."""
    at = _at(m, p, 0, 1)
    if isinstance(at, int):
        return at
    if argint(m, 2) & ~7:
        return -EINVAL
    return 0 if lookup(m, *at) is not None else -why_missing(m, *at)


def sys_chdir(m: Machine, p: Proc) -> Result:
    path = _path_arg(m, p, 0)
    if isinstance(path, int):
        return path
    st = lookup(m, p.cwd, path)
    if st is None:
        return -why_missing(m, p.cwd, path)
    if st.type != T_DIR:
        return -ENOTDIR
    with linux_names(m.fs):
        cwd = m.fs.chdir(p.cwd, path)
    if cwd is None:
        return -ENOENT
    p.cwd = cwd
    return 0


def sys_fchdir(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    if f.ip is None or f.ip.type != T_DIR or not f.path:
        return -ENOTDIR
    with linux_names(m.fs):
        cwd = m.fs.chdir(f.path, b".")  # f.path is already in the kernel's (host) form
    if cwd is None:
        return -ENOENT
    p.cwd = cwd
    return 0


def sys_getcwd(m: Machine, p: Proc) -> Result:
    path = cwd_bytes(p.cwd) + b"\0"
    if argaddr(m, 1) < len(path):
        return -ERANGE
    return len(path) if copyout(m, p, argaddr(m, 0), path) else -EFAULT


def sys_getdents64(m: Machine, p: Proc) -> Result:
    """linux_dirent64 records from the file offset (an index into the listing): `.`,
    `..`, then the names of the directory's files and directories, sorted."""
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    if f.ip is None or f.ip.type != T_DIR:
        return -ENOTDIR
    listing = dir_listing(m, f)
    if listing is None:
        return -ENOENT
    size = argaddr(m, 2)
    out = bytearray()
    i = f.off
    while i < len(listing):
        ino, dtype, name = listing[i]
        reclen = (DIRENT64.size + len(name) + 1 + 7) & ~7
        if len(out) + reclen > size:
            break
        rec = DIRENT64.pack(ino, i + 1, reclen, dtype) + name + b"\0"
        out += rec.ljust(reclen, b"\0")
        i += 1
    if not out and i < len(listing):
        return -EINVAL  # the buffer cannot hold even one record
    if out and not copyout(m, p, argaddr(m, 1), bytes(out)):
        return -EFAULT
    f.off = i
    return len(out)


def sys_ftruncate(m: Machine, p: Proc) -> Result:
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    length = argaddr(m, 1)
    if length >> 63:
        return -EINVAL
    if f.ip is None or f.ip.type != T_FILE or not f.writable:
        return -EINVAL
    refused = m.fs.quota.refused
    if truncate_file(m, f, length) < 0:
        return -ENOSPC if m.fs.quota.refused > refused else -EFBIG
    return 0


def sys_fsync(m: Machine, p: Proc) -> Result:
    """fsync and fdatasync: the page cache's dirty pages of the file go to the host file."""
    f = getfile(p, argint(m, 0))
    if f is None:
        return -EBADF
    if f.kind is not FileKind.INODE:
        return -EINVAL
    if f.mapping is not None:
        m.pagecache.writeback(f.mapping)
    return 0


def sys_dup3(m: Machine, p: Proc) -> Result:
    old, new, flags = argint(m, 0), argint(m, 1), argint(m, 2)
    f = getfile(p, old)
    if f is None or not 0 <= new < len(p.ofile):
        return -EBADF
    if old == new or flags & ~O_CLOEXEC:
        return -EINVAL
    if p.ofile[new] is not None:
        close_fd(m, p, new)
    p.ofile[new] = filedup(f)
    if flags & O_CLOEXEC:
        p.cloexec.add(new)
    return new


def sys_pipe2(m: Machine, p: Proc) -> Result:
    flags = argint(m, 1)
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        return -EINVAL
    ends = pipealloc(m)
    if ends is None:
        return -ENFILE
    rf, wf = ends
    fd0 = fdalloc(p, rf)
    fd1 = fdalloc(p, wf) if fd0 >= 0 else -1
    if fd1 < 0 or not copyout(m, p, argaddr(m, 0), FDPAIR.pack(fd0, fd1)):
        err = -EMFILE if fd1 < 0 else -EFAULT
        for fd in (fd0, fd1):
            if fd >= 0:
                p.ofile[fd] = None
        fileclose(m, rf)
        fileclose(m, wf)
        return err
    for fd, f in ((fd0, rf), (fd1, wf)):
        f.fl_flags = flags & O_NONBLOCK
        if flags & O_CLOEXEC:
            p.cloexec.add(fd)
    return 0


def sys_sendfile(m: Machine, p: Proc) -> Result:
    """Not offered: callers fall back to read and write."""
    return -EINVAL


def sys_umask(m: Machine, p: Proc) -> Result:
    old = p.umask
    p.umask = argint(m, 0) & 0o777
    return old


# --- fcntl and record locks -----------------------------------------------------------


def sys_fcntl(m: Machine, p: Proc) -> Result:
    fd, cmd = argint(m, 0), argint(m, 1)
    f = getfile(p, fd)
    if f is None:
        return -EBADF
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        lowest = argint(m, 2)
        if not 0 <= lowest < len(p.ofile):
            return -EINVAL
        new = fdalloc(p, f, lowest)
        if new < 0:
            return -EMFILE
        filedup(f)
        if cmd == F_DUPFD_CLOEXEC:
            p.cloexec.add(new)
        return new
    if cmd == F_GETFD:
        return FD_CLOEXEC if fd in p.cloexec else 0
    if cmd == F_SETFD:
        if argint(m, 2) & FD_CLOEXEC:
            p.cloexec.add(fd)
        else:
            p.cloexec.discard(fd)
        return 0
    if cmd == F_GETFL:
        acc = O_RDWR if f.readable and f.writable else O_WRONLY if f.writable else O_RDONLY
        return acc | f.fl_flags
    if cmd == F_SETFL:
        f.fl_flags = argint(m, 2) & (O_APPEND | O_NONBLOCK)
        return 0
    if cmd in (F_GETLK, F_SETLK, F_SETLKW):
        return _lock(m, p, f, cmd)
    return -EINVAL


def _lock(m: Machine, p: Proc, f: File, cmd: int) -> Result:
    """F_GETLK, F_SETLK and F_SETLKW over the machine's lock table (kernel/locks.py)."""
    if f.ip is None or f.ip.type != T_FILE or f.ip.key is None:
        return -EBADF if f.kind is not FileKind.INODE else -EINVAL
    addr = argaddr(m, 2)
    raw = copyin(m, p, addr, FLOCK.size)
    if raw is None:
        return -EFAULT
    type_, whence, start, length, _pid = FLOCK.unpack(raw)
    if type_ not in (F_RDLCK, F_WRLCK, F_UNLCK):
        return -EINVAL
    if whence == SEEK_CUR:
        start += f.off
    elif whence == SEEK_END:
        st = filestat(m, f)
        start += st.size if st is not None else 0
    elif whence != SEEK_SET:
        return -EINVAL
    if length < 0:
        start, length = start + length, -length
    if start < 0:
        return -EINVAL
    end = OFFSET_MAX if length == 0 else start + length
    if cmd == F_GETLK:
        if type_ == F_UNLCK:
            return -EINVAL
        lk = m.locks.conflict(f.ip.key, p.pid, type_, start, end)
        if lk is None:
            out = FLOCK.pack(F_UNLCK, SEEK_SET, start, length, 0)
        else:
            out = FLOCK.pack(lk.type, SEEK_SET, lk.start, 0 if lk.end == OFFSET_MAX else lk.end - lk.start, lk.pid)
        return 0 if copyout(m, p, addr, out) else -EFAULT
    if (type_ == F_RDLCK and not f.readable) or (type_ == F_WRLCK and not f.writable):
        return -EBADF
    held = m.locks.conflict(f.ip.key, p.pid, type_, start, end) if type_ != F_UNLCK else None
    if held is not None:
        if cmd == F_SETLK:
            return -EAGAIN
        if p.interrupted:
            m.locks.waiting.pop(p.pid, None)
            return -EINTR
        if m.locks.would_deadlock(p.pid, held.pid):
            m.locks.waiting.pop(p.pid, None)
            return -EDEADLK
        m.locks.waiting[p.pid] = held.pid
        proc.sleep(m, p, m.locks.file(f.ip.key))  # woken by a release on this file
        return RESTART
    m.locks.waiting.pop(p.pid, None)
    lf = m.locks.file(f.ip.key)
    if m.locks.set(f.ip.key, p.pid, type_, start, end):
        proc.wakeup(m, lf)
    return 0


SYSCALLS: dict[int, Handler] = {
    17: sys_getcwd,
    23: sys_dup,
    24: sys_dup3,
    25: sys_fcntl,
    29: sys_ioctl,
    34: sys_mkdirat,
    35: sys_unlinkat,
    37: sys_linkat,
    46: sys_ftruncate,
    48: sys_faccessat,
    49: sys_chdir,
    50: sys_fchdir,
    56: sys_openat,
    57: sys_close,
    59: sys_pipe2,
    61: sys_getdents64,
    62: sys_lseek,
    63: sys_read,
    64: sys_write,
    65: sys_readv,
    66: sys_writev,
    67: sys_pread64,
    68: sys_pwrite64,
    71: sys_sendfile,
    78: sys_readlinkat,
    79: sys_newfstatat,
    80: sys_fstat,
    82: sys_fsync,
    83: sys_fsync,  # fdatasync
    166: sys_umask,
    276: sys_renameat2,
    439: sys_faccessat,  # faccessat2
}
