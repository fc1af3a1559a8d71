"""The guest's file system: one host directory, sandboxed, seen as the guest's `/` (xv6's fs.c).

Why a host directory rather than a disk image: users bring their own programs and data and
keep what the guest writes, with ordinary host tools.

The sandbox works in two steps, so that nothing a guest names can reach outside the root:
1. A guest path is checked and normalised lexically: `.` and `..` are resolved on the
   guest path itself (`..` at `/` stays at `/`), every name must be a valid xv6 name
   (1 to DIRSIZ ASCII bytes, no NUL), and the whole path must fit in MAXPATH with its NUL.
2. The result is walked from the root one component at a time with
   openat(O_NOFOLLOW | O_DIRECTORY), and the last component is opened or changed relative
   to its parent's descriptor with O_NOFOLLOW. No symlink inside the root is ever followed,
   and a host process swapping a directory for a symlink mid-call cannot redirect us either.
Anything other than a regular file or a directory (symlinks, FIFOs, sockets, host device
nodes) is refused and left out of directory listings. Host errors become None or -1.

Device nodes: xv6's mknod makes an inode of type T_DEVICE. Here it is a regular host file of
DEVICE_SIZE bytes: DEVICE_MAGIC followed by major and minor as little-endian shorts. Any
regular file of exactly that size and header is a device to the guest; O_TRUNC leaves it
alone, as xv6 truncates only T_FILE inodes.

Inode numbers: xv6 dirents hold a 16-bit inode number. Each host (st_dev, st_ino) gets a small
number in first-seen order, kept for the life of this object; the root is 1.
"""

from __future__ import annotations

import os
import stat as st_
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pagelab.kernel.param import DIRSIZ, MAXPATH, ROOTDEV

# struct stat's type field (kernel/stat.h).
T_DIR = 1
T_FILE = 2
T_DEVICE = 3

# open() modes (kernel/fcntl.h).
O_RDONLY = 0x000
O_WRONLY = 0x001
O_RDWR = 0x002
O_CREATE = 0x200
O_TRUNC = 0x400

DIRENT = struct.Struct("<H14s")  # struct dirent { ushort inum; char name[DIRSIZ]; }
# struct stat { int dev; uint ino; short type; short nlink; uint64 size; }: size is 8-aligned.
STAT = struct.Struct("<iIhh4xQ")

DEVICE_MAGIC = b"PAGELAB-DEVICE\n"
_DEVICE_NUMS = struct.Struct("<hh")
DEVICE_SIZE = len(DEVICE_MAGIC) + _DEVICE_NUMS.size

ROOTINO = 1
MAXINUM = 0xFFFF  # inode numbers must fit a dirent's ushort
MAX_FILE_SIZE = 256 << 20  # a guest may not grow one host file past this (xv6 has MAXFILE too)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# O_NONBLOCK and O_NOCTTY: a FIFO or tty that appears under our feet must not hang or adopt us.
_FILE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY

# What a failed host call raises: OSError, and ValueError for things like embedded NULs.
_HOST_ERRORS = (OSError, ValueError)


@dataclass(frozen=True)
class Stat:
    """What fstat reports, in xv6's struct stat layout."""

    dev: int
    ino: int
    type: int
    nlink: int
    size: int

    def pack(self) -> bytes:
        return STAT.pack(self.dev, self.ino, self.type, self.nlink, self.size)


@dataclass(eq=False)
class Inode:
    """An open host file, directory or device node: the role of xv6's in-memory inode.

    Holding a host descriptor keeps xv6's semantics that an unlinked file stays readable
    while it is open, and means later reads never resolve a path again.
    """

    fd: int  # host descriptor; -1 once closed
    type: int  # T_DIR, T_FILE or T_DEVICE
    ino: int
    major: int = 0
    minor: int = 0
    # A directory's dirents as last listed, with the FileSystem generation they belong to:
    # reading a directory 16 bytes at a time must not rescan it for every entry.
    listing: tuple[int, bytes] | None = None


def valid_name(name: bytes) -> bool:
    """A name that can appear in an xv6 directory entry."""
    return (
        0 < len(name) <= DIRSIZ
        and name not in (b".", b"..")
        and name.isascii()
        and b"\0" not in name
        and b"/" not in name
    )


def last_name(path: bytes) -> bytes:
    """The last component of path as written, before any normalisation."""
    parts = [c for c in path.split(b"/") if c]
    return parts[-1] if parts else b""


def _short(v: int) -> int:
    """v truncated to a C short, as xv6 stores mknod's major and minor."""
    return ((v + 0x8000) & 0xFFFF) - 0x8000


class FileSystem:
    """A host directory as the guest's `/`. Every method is safe against any guest input."""

    def __init__(
        self,
        root: Path,
        bundled: Callable[[str], bytes | None] | None = None,
        *,
        max_file_size: int = MAX_FILE_SIZE,
    ) -> None:
        # Symlinks in the root's own host path are the user's choice; inside it, none count.
        self.root = Path(os.path.realpath(root))
        st = os.stat(self.root)
        if not st_.S_ISDIR(st.st_mode):
            raise NotADirectoryError(f"{root}: not a directory")
        self.bundled = bundled
        self.max_file_size = max_file_size
        self._root_id = (st.st_dev, st.st_ino)
        self._inums: dict[tuple[int, int], int] = {self._root_id: ROOTINO}
        self._next_inum = ROOTINO + 1
        self._free_inums: list[int] = []
        # Bumped by every change this object makes to a directory, to invalidate listings.
        self.generation = 0

    # --- paths -------------------------------------------------------------------------

    def parse(self, cwd: str, path: bytes) -> list[str] | None:
        """The components of path made absolute against cwd and normalised, or None if it is
        not a valid xv6 path. An empty path is refused (xv6 would take it as cwd)."""
        if not path or len(path) >= MAXPATH or b"\0" in path:
            return None
        comps = [] if path.startswith(b"/") else [c for c in cwd.split("/") if c]
        for part in path.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                if comps:
                    comps.pop()
                continue
            if not valid_name(part):
                return None
            comps.append(part.decode("ascii"))
        return comps

    @staticmethod
    def guest_path(comps: list[str]) -> str:
        return "/" + "/".join(comps)

    @contextmanager
    def _opendir(self, comps: list[str]) -> Iterator[int]:
        """A host descriptor on the directory comps names, reached one component at a time
        without following a symlink. Raises OSError if any component is missing, is not a
        directory, or is a symlink."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for c in comps:
                nfd = os.open(c, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _lstat(dfd: int, name: str) -> os.stat_result | None:
        """The entry name in directory dfd, or None if it does not exist."""
        try:
            return os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    # --- inode numbers -----------------------------------------------------------------

    def inum(self, st: os.stat_result) -> int:
        """The stable xv6 inode number of a host file."""
        key = (st.st_dev, st.st_ino)
        n = self._inums.get(key)
        if n is not None:
            return n
        if self._next_inum <= MAXINUM:
            n = self._next_inum
            self._next_inum += 1
        elif self._free_inums:
            n = self._free_inums.pop()
        else:
            # All 65534 numbers are taken by live files: numbers may repeat from here on.
            return 2 + hash(key) % (MAXINUM - 1)
        self._inums[key] = n
        return n

    def _forget(self, st: os.stat_result) -> None:
        """The host file is gone: its number may be given out again (only once all fresh
        numbers are used, so a number is rarely reused while the guest remembers it)."""
        n = self._inums.pop((st.st_dev, st.st_ino), None)
        if n is not None:
            self._free_inums.append(n)

    # --- device nodes --------------------------------------------------------------------

    @staticmethod
    def _device_nums(fd: int, st: os.stat_result) -> tuple[int, int] | None:
        """(major, minor) if the open regular file fd is a device node."""
        if st.st_size != DEVICE_SIZE:
            return None
        data = os.pread(fd, DEVICE_SIZE, 0)
        if len(data) != DEVICE_SIZE or not data.startswith(DEVICE_MAGIC):
            return None
        major, minor = _DEVICE_NUMS.unpack_from(data, len(DEVICE_MAGIC))
        return major, minor

    def _open_regular(self, dfd: int, name: str, flags: int, st: os.stat_result) -> int:
        """Open a regular file that lstat showed; refuse if it changed into anything else."""
        fd = os.open(name, flags | _FILE_FLAGS, dir_fd=dfd)
        try:
            fst = os.fstat(fd)
            if not st_.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
                raise OSError("changed under us")
        except BaseException:
            os.close(fd)
            raise
        return fd

    # --- the operations the system calls need -------------------------------------------

    def open(self, cwd: str, path: bytes, omode: int) -> Inode | None:
        """Open (and with O_CREATE, create) a file, directory or device node, as sys_open."""
        comps = self.parse(cwd, path)
        if comps is None:
            return None
        try:
            if not comps:
                return self._open_root(omode)
            with self._opendir(comps[:-1]) as dfd:
                return self._open_in(dfd, comps, omode)
        except _HOST_ERRORS:
            return None

    def _inode(self, fd: int, type_: int) -> Inode:
        """An Inode owning fd (closed again if even fstat fails)."""
        try:
            return Inode(fd=fd, type=type_, ino=self.inum(os.fstat(fd)))
        except BaseException:
            os.close(fd)
            raise

    def _open_root(self, omode: int) -> Inode | None:
        if omode != O_RDONLY:
            return None  # xv6: a directory opens only read-only
        return self._inode(os.open(self.root, _DIR_FLAGS), T_DIR)

    def _open_in(self, dfd: int, comps: list[str], omode: int) -> Inode | None:
        name = comps[-1]
        readable = not omode & O_WRONLY
        writable = bool(omode & (O_WRONLY | O_RDWR))
        st = self._lstat(dfd, name)
        if st is None:
            if not omode & O_CREATE:
                return None
            # Writable files are read-write on the host even if the guest only writes: the
            # page cache reads the rest of a page it caches (see mm/filemap.py).
            flags = os.O_RDWR if writable else os.O_RDONLY
            fd = os.open(name, flags | os.O_CREAT | os.O_EXCL | _FILE_FLAGS, 0o644, dir_fd=dfd)
            self.generation += 1
            return self._inode(fd, T_FILE)
        if st_.S_ISDIR(st.st_mode):
            if omode != O_RDONLY:
                return None
            return self._inode(os.open(name, _DIR_FLAGS, dir_fd=dfd), T_DIR)
        if not st_.S_ISREG(st.st_mode):
            return None
        fd = self._open_regular(dfd, name, os.O_RDONLY, st)
        try:
            dev = self._device_nums(fd, st)
            if dev is not None:
                return Inode(fd=fd, type=T_DEVICE, ino=self.inum(st), major=dev[0], minor=dev[1])
        except BaseException:
            os.close(fd)
            raise
        if not (writable or omode & O_TRUNC):
            return Inode(fd=fd, type=T_FILE, ino=self.inum(st))
        os.close(fd)
        try:
            fd = self._open_regular(dfd, name, os.O_RDWR, st)
        except PermissionError:  # a write-only host file: the page cache cannot fill pages
            if readable:
                raise
            fd = self._open_regular(dfd, name, os.O_WRONLY, st)
        if omode & O_TRUNC:
            try:
                os.ftruncate(fd, 0)
            except BaseException:
                os.close(fd)
                raise
        return Inode(fd=fd, type=T_FILE, ino=self.inum(st))

    def close(self, ip: Inode) -> None:
        if ip.fd >= 0:
            with suppress(OSError):
                os.close(ip.fd)
            ip.fd = -1

    def read(self, ip: Inode, off: int, n: int) -> bytes | None:
        """Up to n bytes at off of a file, or of a directory's dirents; None on host error.
        The caller bounds n: this allocates it."""
        if n < 0 or off < 0:
            return None
        try:
            if ip.type == T_FILE:
                return os.pread(ip.fd, n, off)
            if ip.type == T_DIR:
                if off == 0 or ip.listing is None or ip.listing[0] != self.generation:
                    ip.listing = (self.generation, self._dirents(ip.fd))
                return ip.listing[1][off : off + n]
        except _HOST_ERRORS:
            return None
        return None

    def write(self, ip: Inode, off: int, data: bytes) -> int:
        """Write data at off; -1 if it would leave a hole past the end (xv6's writei), grow the
        file past max_file_size, or the host fails."""
        if ip.type != T_FILE or off < 0:
            return -1
        try:
            if off > os.fstat(ip.fd).st_size or off + len(data) > self.max_file_size:
                return -1
            mv = memoryview(data)
            done = 0
            while done < len(mv):
                k = os.pwrite(ip.fd, mv[done:], off + done)
                if k <= 0:
                    return -1
                done += k
        except _HOST_ERRORS:
            return -1
        return done

    def fstat(self, ip: Inode) -> Stat | None:
        try:
            st = os.fstat(ip.fd)
            if ip.type == T_DIR:
                size = len(self._dirents(ip.fd))
            elif ip.type == T_DEVICE:
                size = 0
            else:
                size = st.st_size
            return Stat(ROOTDEV, self.inum(st), ip.type, min(st.st_nlink, 0x7FFF), size)
        except _HOST_ERRORS:
            return None

    def stat(self, cwd: str, path: bytes) -> Stat | None:
        """stat() by name: what open + fstat would report, without keeping anything open."""
        ip = self.open(cwd, path, O_RDONLY)
        if ip is None:
            return None
        try:
            return self.fstat(ip)
        finally:
            self.close(ip)

    def _dirents(self, fd: int) -> bytes:
        """The directory open at fd as xv6 dirents: `.`, `..`, then its entries by name.
        Entries a guest could not name or open (symlinks, long or non-ASCII names, FIFOs...)
        are left out."""
        st = os.fstat(fd)
        me = self.inum(st)
        if (st.st_dev, st.st_ino) == self._root_id:
            parent = ROOTINO
        else:
            try:
                parent = self.inum(os.stat("..", dir_fd=fd, follow_symlinks=False))
            except OSError:
                parent = me  # the directory has been removed
        entries: list[tuple[bytes, int]] = []
        with os.scandir(fd) as it:
            for e in it:
                name = os.fsencode(e.name)
                if not valid_name(name):
                    continue
                try:
                    est = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if st_.S_ISREG(est.st_mode) or st_.S_ISDIR(est.st_mode):
                    entries.append((name, self.inum(est)))
        entries.sort()
        out = bytearray(DIRENT.pack(me, b".") + DIRENT.pack(parent, b".."))
        for name, n in entries:
            out += DIRENT.pack(n, name)
        return bytes(out)

    def chdir(self, cwd: str, path: bytes) -> str | None:
        """The new cwd, if path names a directory."""
        comps = self.parse(cwd, path)
        if comps is None:
            return None
        try:
            with self._opendir(comps):
                return self.guest_path(comps)
        except _HOST_ERRORS:
            return None

    def mkdir(self, cwd: str, path: bytes) -> int:
        comps = self.parse(cwd, path)
        if not comps:
            return -1
        try:
            with self._opendir(comps[:-1]) as dfd:
                os.mkdir(comps[-1], 0o755, dir_fd=dfd)
        except _HOST_ERRORS:
            return -1
        self.generation += 1
        return 0

    def mknod(self, cwd: str, path: bytes, major: int, minor: int) -> int:
        """Create a device node (see the module docstring for its host form)."""
        comps = self.parse(cwd, path)
        if not comps:
            return -1
        data = DEVICE_MAGIC + _DEVICE_NUMS.pack(_short(major), _short(minor))
        try:
            with self._opendir(comps[:-1]) as dfd:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FILE_FLAGS
                fd = os.open(comps[-1], flags, 0o644, dir_fd=dfd)
                self.generation += 1
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except _HOST_ERRORS:
            return -1
        return 0

    def unlink(self, cwd: str, path: bytes) -> int:
        """Remove a file, device node or empty directory; never `/`, `.` or `..`."""
        if last_name(path) in (b".", b".."):
            return -1
        comps = self.parse(cwd, path)
        if not comps:
            return -1
        try:
            with self._opendir(comps[:-1]) as dfd:
                st = self._lstat(dfd, comps[-1])
                if st is None:
                    return -1
                if st_.S_ISDIR(st.st_mode):
                    # rmdir refuses a non-empty directory, including one holding only
                    # entries the guest cannot see: they are the host's, not ours to delete.
                    os.rmdir(comps[-1], dir_fd=dfd)
                elif st_.S_ISREG(st.st_mode):
                    os.unlink(comps[-1], dir_fd=dfd)
                else:
                    return -1
        except _HOST_ERRORS:
            return -1
        self.generation += 1
        if st_.S_ISDIR(st.st_mode) or st.st_nlink <= 1:
            self._forget(st)
        return 0

    def link(self, cwd: str, old: bytes, new: bytes) -> int:
        """A new name for an existing file (not a directory), as sys_link."""
        ocomps = self.parse(cwd, old)
        ncomps = self.parse(cwd, new)
        if not ocomps or not ncomps:
            return -1
        try:
            with self._opendir(ocomps[:-1]) as odfd, self._opendir(ncomps[:-1]) as ndfd:
                st = self._lstat(odfd, ocomps[-1])
                if st is None or not st_.S_ISREG(st.st_mode):
                    return -1
                os.link(ocomps[-1], ncomps[-1], src_dir_fd=odfd, dst_dir_fd=ndfd, follow_symlinks=False)
        except _HOST_ERRORS:
            return -1
        self.generation += 1
        return 0

    def read_exec(self, cwd: str, path: bytes) -> bytes | None:
        """The whole file exec() wants to run, or None.

        A name directly in `/` that does not exist there comes from `bundled`, so the
        bundled programs run under a user's --root without being copied into it.
        """
        comps = self.parse(cwd, path)
        if not comps:
            return None
        try:
            with self._opendir(comps[:-1]) as dfd:
                st = self._lstat(dfd, comps[-1])
                if st is None:
                    if len(comps) == 1 and self.bundled is not None:
                        return self.bundled(comps[0])
                    return None
                if not st_.S_ISREG(st.st_mode) or st.st_size > self.max_file_size:
                    return None
                fd = self._open_regular(dfd, comps[-1], os.O_RDONLY, st)
                try:
                    chunks = []
                    off = 0
                    while off <= self.max_file_size:
                        chunk = os.pread(fd, 1 << 20, off)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        off += len(chunk)
                    return b"".join(chunks) if off <= self.max_file_size else None
                finally:
                    os.close(fd)
        except _HOST_ERRORS:
            return None
