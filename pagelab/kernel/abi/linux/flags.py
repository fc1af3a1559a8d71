"""Linux's open flags and fcntl commands (asm-generic/fcntl.h), and their translation to
the kernel's own open modes. The numbers collide with xv6's: Linux's O_CREAT is 0x40 and
O_TRUNC 0x200, where xv6's O_CREATE is 0x200 and O_TRUNC 0x400."""

from __future__ import annotations

from pagelab.kernel import fs

O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_CLOEXEC = 0o2000000
O_PATH = 0o10000000
O_TMPFILE = 0o20000000 | O_DIRECTORY
O_PATH_TMPFILE = O_TMPFILE  # the bits that say O_TMPFILE

AT_REMOVEDIR = 0x200
RENAME_NOREPLACE = 1

F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_GETLK = 5
F_SETLK = 6
F_SETLKW = 7
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1


def to_kernel_flags(flags: int) -> int:
    """The kernel's open mode for Linux open flags: the access mode, O_CREAT and O_TRUNC.
    (O_EXCL, O_DIRECTORY, O_APPEND, O_NONBLOCK and O_CLOEXEC are handled by openat;
    O_NOFOLLOW holds always: the guest's tree has no symbolic links.)"""
    omode = flags & O_ACCMODE
    if flags & O_CREAT:
        omode |= fs.O_CREATE
    if flags & O_TRUNC:
        omode |= fs.O_TRUNC
    return omode
