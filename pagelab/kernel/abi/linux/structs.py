"""Linux RV64 structure layouts, as the asm-generic headers define them."""

from __future__ import annotations

import struct

# struct stat, asm-generic (128 bytes): dev, ino, mode, nlink, uid, gid, rdev, pad, size,
# blksize, pad, blocks, then atime, mtime, ctime as (seconds, nanoseconds), two unused ints.
STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
# struct linux_dirent64 header: ino, off, reclen, type; then the name and its NUL, the
# record padded to a multiple of 8.
DIRENT64 = struct.Struct("<QqHB")
TIMESPEC = struct.Struct("<qq")  # tv_sec, tv_nsec
TIMEVAL = struct.Struct("<qq")  # tv_sec, tv_usec
IOVEC = struct.Struct("<QQ")
FDPAIR = struct.Struct("<ii")  # pipe2's int fd[2]  # iov_base, iov_len
RLIMIT = struct.Struct("<QQ")  # rlim_cur, rlim_max
# struct sysinfo on 64 bits: uptime, loads[3], totalram, freeram, sharedram, bufferram,
# totalswap, freeswap, procs (u16), totalhigh, freehigh, mem_unit (u32): 112 bytes.
SYSINFO = struct.Struct("<q3Q6QH6x2QI4x")
# struct flock: type (s16), whence (s16), start, len, pid (s32).
FLOCK = struct.Struct("<hh4xqqi4x")
UTSNAME_FIELD = 65  # each of struct utsname's six strings

# File types in st_mode and d_type.
S_IFIFO = 0o010000
S_IFCHR = 0o020000
S_IFDIR = 0o040000
S_IFREG = 0o100000
DT_FIFO = 1
DT_CHR = 2
DT_DIR = 4
DT_REG = 8


def utsname(fields: tuple[str, str, str, str, str, str]) -> bytes:
    """struct utsname: sysname, nodename, release, version, machine, domainname."""
    return b"".join(f.encode()[: UTSNAME_FIELD - 1].ljust(UTSNAME_FIELD, b"\0") for f in fields)
