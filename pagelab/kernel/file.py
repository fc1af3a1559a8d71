"""Open files, as in xv6's file.c: the system-wide file table and reading, writing and
stat-ing whatever a file descriptor refers to (a pipe end, a host file or directory, the
console).

A File's offset lives in the File, not in the descriptor, so that dup() and fork(), which
share the File, share the offset too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from pagelab.kernel.fs import T_DEVICE, Inode, Stat
from pagelab.kernel.mm.filemap import AddressSpace
from pagelab.kernel.param import CONSOLE_MAJOR, NFILE, ROOTDEV
from pagelab.kernel.pipe import Pipe, pipeclose, piperead, pipewrite
from pagelab.kernel.proc import sleep
from pagelab.kernel.syscall import RESTART, Result, copyin, copyout

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

# The most one step of a file read or write holds in host memory, whatever count the guest
# asked for: a huge count costs time in proportion to the data, never a huge host buffer.
CHUNK = 64 << 10


class FileKind(Enum):
    PIPE = "pipe"
    INODE = "inode"  # a host file or directory
    DEVICE = "device"  # the console, opened at boot or through a device node


@dataclass(eq=False)
class File:
    kind: FileKind
    readable: bool
    writable: bool
    ref: int = 1  # descriptors (in all processes) that refer to this File
    off: int = 0  # for INODE files
    pipe: Pipe | None = None
    ip: Inode | None = None  # INODE files, and DEVICE files opened through a node
    mapping: AddressSpace | None = None  # a regular file's page cache (one user reference)
    major: int = 0  # DEVICE files
    to_stderr: bool = False  # a console file whose writes go to the host's stderr
    slot: int = -1  # index in the FileTable
    fl_flags: int = 0  # Linux's file status flags (O_APPEND, O_NONBLOCK), as F_GETFL shows them
    path: str = ""  # a directory's guest path when opened by a Linux openat (a dirfd's base)


class FileTable:
    """The system-wide table of open files (xv6's ftable): NFILE Files at most."""

    def __init__(self, nfile: int = NFILE) -> None:
        self.slots: list[File | None] = [None] * nfile

    def alloc(self, f: File) -> File | None:
        """Enter f in a free slot; None when the table is full."""
        for i, g in enumerate(self.slots):
            if g is None:
                self.slots[i] = f
                f.slot = i
                return f
        return None

    def release(self, f: File) -> None:
        if 0 <= f.slot < len(self.slots) and self.slots[f.slot] is f:
            self.slots[f.slot] = None
        f.slot = -1

    def in_use(self) -> int:
        return sum(f is not None for f in self.slots)


def filedup(f: File) -> File:
    """One more descriptor refers to f."""
    if f.ref < 1:
        raise AssertionError("filedup of a closed file")
    f.ref += 1
    return f


def fileclose(m: Machine, f: File) -> None:
    """Drop one reference; the last one frees the slot, closes the host file, or closes a
    pipe end (waking the other side)."""
    if f.ref < 1:
        raise AssertionError("fileclose of a closed file")
    f.ref -= 1
    if f.ref > 0:
        return
    m.ftable.release(f)
    if f.pipe is not None:
        pipeclose(m, f.pipe, f.writable)
    if f.mapping is not None:
        m.pagecache.put(f.mapping)  # the last user writes dirty pages back
        f.mapping = None
    if f.ip is not None:
        m.fs.close(f.ip)


def pipealloc(m: Machine) -> tuple[File, File] | None:
    """A new pipe's read end and write end, or None if the file table is full."""
    pi = Pipe()
    r = m.ftable.alloc(File(FileKind.PIPE, readable=True, writable=False, pipe=pi))
    if r is None:
        return None
    w = m.ftable.alloc(File(FileKind.PIPE, readable=False, writable=True, pipe=pi))
    if w is None:
        m.ftable.release(r)
        return None
    return r, w


def console_files(m: Machine) -> list[File]:
    """Descriptors 0, 1 and 2 of init (or of a process started without init): the
    console, read-write as xv6's init opens it. Writes through descriptor 2 go to the host's stderr."""
    files = []
    for fd in range(3):
        f = m.ftable.alloc(File(FileKind.DEVICE, readable=True, writable=True, major=CONSOLE_MAJOR, to_stderr=fd == 2))
        if f is None:
            raise RuntimeError("file table full at boot")
        files.append(f)
    return files


def fileread(m: Machine, p: Proc, f: File, addr: int, n: int) -> Result:
    """Read up to n (>= 0) bytes into user memory at addr."""
    if not f.readable or n < 0:
        return -1
    if f.kind is FileKind.PIPE and f.pipe is not None:
        return piperead(m, p, f.pipe, addr, n)
    if f.kind is FileKind.DEVICE:
        if f.major != CONSOLE_MAJOR:
            return -1
        line = m.console.read(min(n, CHUNK))
        if line is None:  # nothing typed yet at a terminal, or the run is stopping: sleep
            if p.interrupted:
                return -1
            sleep(m, p, m.console)
            return RESTART
        if line and not copyout(m, p, addr, line):
            m.console.unread(line)
            return -1
        return len(line)
    if f.ip is None:
        return -1
    # As xv6's readi: all of n up to the end of the file, or -1 (offset unchanged) if
    # user memory cannot take it. Only what was read is copied.
    off = f.off
    while off - f.off < n:
        want = min(CHUNK, n - (off - f.off))
        data = m.fs.read(f.ip, off, want) if f.mapping is None else _cache_read(m, f.mapping, off, want)
        if data is None:
            return -1
        if data and not copyout(m, p, addr + (off - f.off), data):
            return -1
        off += len(data)
        if len(data) < want:
            break  # the end of the file
    got = off - f.off
    f.off = off
    return got


def filewrite(m: Machine, p: Proc, f: File, addr: int, n: int) -> Result:
    """Write n (>= 0) bytes from user memory at addr."""
    if not f.writable or n < 0:
        return -1
    if f.kind is FileKind.PIPE and f.pipe is not None:
        return pipewrite(m, p, f.pipe, addr, n)
    if f.kind is FileKind.DEVICE:
        if f.major != CONSOLE_MAJOR:
            return -1
        done = 0
        while done < n:
            data = copyin(m, p, addr + done, min(CHUNK, n - done))
            if data is None or m.console.write(data, f.to_stderr) < 0:
                break
            done += len(data)
        return done if done > 0 or n == 0 else -1
    if f.ip is None:
        return -1
    # As xv6's filewrite: the offset advances past each piece written, and anything short
    # of n (a bad address, the quota, the size limit, a host error) returns -1.
    done = 0
    while done < n:
        data = copyin(m, p, addr + done, min(CHUNK, n - done))
        if data is None:
            return -1
        k = m.fs.write(f.ip, f.off, data)
        if k > 0 and f.mapping is not None:
            # Write-through: the host file has exactly these k bytes; now the cached pages
            # get them too. Nothing else of the cache changes: a cached page is the truth
            # for its file, and a write that failed never reads the host back over it
            # (a shared mapping's stores may be newer than the host file).
            m.pagecache.write(f.mapping, f.off, data[:k])
        if k < 0:
            return -1
        f.off += k
        done += k
        if k < len(data):
            return -1
    return n


def _cache_read(m: Machine, a: AddressSpace, off: int, n: int) -> bytes | None:
    """Up to n bytes of a regular file through its cached pages; None if the host fails."""
    try:
        return m.pagecache.read(a, off, n)
    except OSError:
        return None


def filestat(m: Machine, f: File) -> Stat | None:
    """What fstat reports; None for a pipe, as in xv6."""
    if f.ip is not None:
        return m.fs.fstat(f.ip)
    if f.kind is FileKind.DEVICE:
        return Stat(ROOTDEV, 0, T_DEVICE, 1, 0)
    return None
