"""The guest's file system: one host directory, sandboxed, seen as the guest's `/` (xv6's fs.c).

Why a host directory rather than a disk image: users bring their own programs and data and
keep what the guest writes, with ordinary host tools.

The sandbox works in two steps, so that nothing a guest names can reach outside the root:
1. A guest path is checked and normalised lexically: `.` and `..` are resolved on the
   guest path itself (`..` at `/` stays at `/`), a longer name is cut to its first DIRSIZ
   bytes as xv6's namei does, every name must then be a valid xv6 name (any bytes but
   NUL and `/`), and the whole path must fit in MAXPATH with its NUL. Each name then
   becomes its host name (fsname.py: printable UTF-8 as it is, other bytes as %XX).
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

Inode numbers, as xv6 gives them: each host file (st_dev, st_ino) gets the lowest number free
when it is first seen (xv6's ialloc scans from the start), the root is 1, and the number stays
the file's for as long as it exists: through links, and after its last name is gone while an
open descriptor, a mapping or a running program still holds it (xv6's iput). Only then is the
number free again. xv6's disk has NINODES = 200 inodes, so a guest with fewer live files than
that only ever sees numbers below 200; a --root holding more files gets higher numbers for
them (a dirent's ushort is the limit), creating is not refused for it.
"""

from __future__ import annotations

import heapq
import os
import stat as st_
import struct
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pagelab.kernel.fsname import guest_name, host_name
from pagelab.kernel.param import DIRSIZ, MAXPATH, ROOTDEV
from pagelab.kernel.quota import DIR_COST, DiskQuota, file_cost

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
    key: tuple[int, int] | None = None  # host (st_dev, st_ino), once FileSystem.open tracks it


class Cwd(str):
    """A process's current directory: its guest path, holding the directory it named at
    chdir time open. xv6 holds the cwd by inode, so once that directory is removed (even if
    one of the same name is made again) nothing can be looked up through it; comparing
    identities lets FileSystem.parse see that, and holding the descriptor keeps the host
    from giving the old inode number to the new directory. A str, so it goes wherever a
    path goes; fork shares it, and the descriptor closes when no process holds it."""

    ident: tuple[int, int]

    def __new__(cls, path: str, fd: int) -> Cwd:
        self = super().__new__(cls, path)
        try:
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        self.ident = (st.st_dev, st.st_ino)
        weakref.finalize(self, os.close, fd)
        return self


@dataclass(frozen=True)
class NameRules:
    """How a personality's paths are read: xv6 cuts a long name to DIRSIZ bytes (its
    skipelem) and takes paths under MAXPATH; Linux takes names up to NAME_MAX and paths up
    to PATH_MAX, and never cuts a name. Either way a name is any bytes but NUL and `/`."""

    maxpath: int
    name_max: int
    truncate: bool


XV6_NAMES = NameRules(MAXPATH, DIRSIZ, True)
LINUX_NAMES = NameRules(4096, 255, False)


def valid_name(name: bytes, rules: NameRules = XV6_NAMES) -> bool:
    """A name that can appear in a directory entry (by default an xv6 one): any bytes but
    NUL and `/`."""
    return 0 < len(name) <= rules.name_max and name not in (b".", b"..") and b"\0" not in name and b"/" not in name


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
        quota: int = 0,
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
        self._next_inum = ROOTINO + 1  # every number from here up has never been given
        self._free_inums: list[int] = []  # a heap: numbers given back, below _next_inum
        # Bumped by every change this object makes to a directory, to invalidate listings.
        self.generation = 0
        # The --disk quota (quota.py); with no limit, nothing is scanned, deltas still count.
        self.quota = DiskQuota.scan(self.root, quota) if quota else DiskQuota(0)
        # References that keep a host file alive after its last name goes: open Inodes and
        # the page cache's own descriptor (mappings, exec'd text): see hold()/release().
        self._opens: dict[tuple[int, int], int] = {}
        # The name rules of the personality making the current call (see NameRules).
        self.names = XV6_NAMES
        # fstat of a directory: (dev, ino) -> ((generation, mtime_ns), size), so a program
        # that fstats a big directory again and again does not rescan it each time.
        self._dirsizes: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}

    # --- paths -------------------------------------------------------------------------

    def parse(self, cwd: str, path: bytes) -> list[str] | None:
        """The components of path made absolute against cwd and normalised, or None if it is
        not a valid xv6 path. An empty path is refused (xv6 would take it as cwd)."""
        rules = self.names
        if not path or len(path) >= rules.maxpath or b"\0" in path:
            return None
        comps = [] if path.startswith(b"/") else [c for c in cwd.split("/") if c]
        if comps and isinstance(cwd, Cwd) and not self._cwd_alive(cwd, path):
            return None
        for part in path.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                if comps:
                    comps.pop()
                continue
            if rules.truncate:
                part = part[:DIRSIZ]  # xv6's skipelem keeps only the first DIRSIZ bytes of a name
            if not valid_name(part, rules):
                return None
            comps.append(host_name(part))
        return comps

    def _cwd_alive(self, cwd: Cwd, path: bytes) -> bool:
        """Whether a relative path can be looked up through cwd: cwd still names the very
        directory it named at chdir time. A path that starts by leaving cwd (`..`) goes
        through its parent, as xv6's `..` entry of a removed directory still does."""
        first = next((c for c in path.split(b"/") if c not in (b"", b".")), b"")
        if first == b"..":
            return True
        try:
            with self._opendir([c for c in cwd.split("/") if c]) as fd:
                st = os.fstat(fd)
        except _HOST_ERRORS:
            return False
        return (st.st_dev, st.st_ino) == cwd.ident

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
        if self._free_inums:
            n = heapq.heappop(self._free_inums)  # the lowest free number
        elif self._next_inum <= MAXINUM:
            n = self._next_inum
            self._next_inum += 1
        else:
            # All 65534 numbers are taken by live files: numbers may repeat from here on.
            return 2 + hash(key) % (MAXINUM - 1)
        self._inums[key] = n
        return n

    def _forget(self, st: os.stat_result) -> None:
        """The host file is gone (no name, no reference): its number is free again."""
        n = self._inums.pop((st.st_dev, st.st_ino), None)
        if n is not None:
            heapq.heappush(self._free_inums, n)

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
                ip = self._open_root(omode)
            else:
                with self._opendir(comps[:-1]) as dfd:
                    ip = self._open_in(dfd, comps, omode)
            if ip is not None:
                self._track(ip)
            return ip
        except _HOST_ERRORS:
            return None

    def _track(self, ip: Inode) -> None:
        """Count ip among the open Inodes of its host file: a file's space is given back
        only once its last name and its last open Inode are gone (quota.py)."""
        try:
            st = os.fstat(ip.fd)
        except BaseException:
            self.close(ip)
            raise
        ip.key = (st.st_dev, st.st_ino)
        self.hold(ip.key)

    def hold(self, key: tuple[int, int]) -> None:
        """One more reference keeps host file `key` alive (and its blocks in use) even once
        it has no name: an open Inode, or the page cache holding it for a mapping."""
        self._opens[key] = self._opens.get(key, 0) + 1

    def release(self, key: tuple[int, int], fd: int) -> None:
        """Drop a reference taken by hold(); fd is a host descriptor on the same file, still
        open. The last reference of a file with no name left gives its space and its inode
        number back, as xv6's iput frees an inode once no one refers to it."""
        n = self._opens.get(key, 0) - 1
        if n > 0:
            self._opens[key] = n
            return
        self._opens.pop(key, None)
        with suppress(OSError):
            st = os.fstat(fd)
            if st.st_nlink == 0:
                if st_.S_ISREG(st.st_mode):
                    self.quota.refund(file_cost(st.st_size))
                self._forget(st)  # and its inode number

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
            if not self.quota.charge(file_cost(0)):
                return None  # disk full: no room for another inode
            try:
                fd = os.open(name, flags | os.O_CREAT | os.O_EXCL | _FILE_FLAGS, 0o644, dir_fd=dfd)
            except BaseException:
                self.quota.refund(file_cost(0))
                raise
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
            self.quota.refund(file_cost(st.st_size) - file_cost(0))
        return Inode(fd=fd, type=T_FILE, ino=self.inum(st))

    def close(self, ip: Inode) -> None:
        if ip.fd >= 0:
            if ip.key is not None:
                self.release(ip.key, ip.fd)
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
        """Write data at off. Returns len(data), or fewer if the host failed part way (the
        bytes counted are in the file, none after them), or -1 with nothing written if it
        would leave a hole past the end (xv6's writei), grow the file past max_file_size
        or past the quota, or the host fails at once."""
        if ip.type != T_FILE or off < 0:
            return -1
        try:
            size = os.fstat(ip.fd).st_size
            if off > size or off + len(data) > self.max_file_size:
                return -1
            # The disk quota: the blocks this write adds are charged before it happens.
            grow = file_cost(max(size, off + len(data))) - file_cost(size)
            if not self.quota.charge(grow):
                return -1
            mv = memoryview(data)
            done = 0
            try:
                while done < len(mv):
                    try:
                        k = os.pwrite(ip.fd, mv[done:], off + done)
                    except OSError:
                        k = 0
                    if k <= 0:
                        break
                    done += k
            finally:
                if done < len(mv):  # the host failed part way: charge what it kept
                    self.quota.refund(grow - (file_cost(max(size, off + done)) - file_cost(size)))
        except _HOST_ERRORS:
            return -1
        return done if done > 0 or not data else -1

    def fstat(self, ip: Inode) -> Stat | None:
        try:
            st = os.fstat(ip.fd)
            if ip.type == T_DIR:
                size = self._dir_size(ip, st)
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

    def _dir_size(self, ip: Inode, st: os.stat_result) -> int:
        """A directory's size, as its dirents would be listed. Cached per directory and
        invalidated by our own changes (the generation) and the host's (the mtime)."""
        if ip.listing is not None and ip.listing[0] == self.generation:
            return len(ip.listing[1])
        key = (st.st_dev, st.st_ino)
        stamp = (self.generation, st.st_mtime_ns)
        hit = self._dirsizes.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        size = len(self._dirents(ip.fd))
        if len(self._dirsizes) >= 4096:  # bounded: forget them all, they are cheap to redo
            self._dirsizes.clear()
        self._dirsizes[key] = (stamp, size)
        return size

    def _dirents(self, fd: int) -> bytes:
        """The directory open at fd as xv6 dirents: `.`, `..`, then its entries by name.
        Entries a guest could not name or open (symlinks, FIFOs, names longer than DIRSIZ
        or that fsname.host_name could not have made...) are left out."""
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
                name = guest_name(e.name)
                if name is None or not valid_name(name):
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
        if not comps:
            return "/"  # the root cannot be removed: nothing to hold
        try:
            with self._opendir(comps) as fd:
                return Cwd(self.guest_path(comps), os.dup(fd))
        except _HOST_ERRORS:
            return None

    def mkdir(self, cwd: str, path: bytes) -> int:
        comps = self.parse(cwd, path)
        if not comps:
            return -1
        if not self.quota.charge(DIR_COST):
            return -1
        try:
            with self._opendir(comps[:-1]) as dfd:
                os.mkdir(comps[-1], 0o755, dir_fd=dfd)
        except _HOST_ERRORS:
            self.quota.refund(DIR_COST)
            return -1
        self.generation += 1
        return 0

    def mknod(self, cwd: str, path: bytes, major: int, minor: int) -> int:
        """Create a device node (see the module docstring for its host form)."""
        comps = self.parse(cwd, path)
        if not comps:
            return -1
        data = DEVICE_MAGIC + _DEVICE_NUMS.pack(_short(major), _short(minor))
        if not self.quota.charge(file_cost(DEVICE_SIZE)):
            return -1
        fd = -1
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
            if fd < 0:  # nothing was made (a created node keeps its charge: it is there)
                self.quota.refund(file_cost(DEVICE_SIZE))
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
        if st_.S_ISDIR(st.st_mode):
            self.quota.refund(DIR_COST)
        elif st.st_nlink <= 1 and (st.st_dev, st.st_ino) not in self._opens:
            self.quota.refund(file_cost(st.st_size))  # else the last close gives it back
        if (st_.S_ISDIR(st.st_mode) or st.st_nlink <= 1) and (st.st_dev, st.st_ino) not in self._opens:
            self._forget(st)  # else the last reference frees the number (release)
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

    def rename(self, cwd: str, old: bytes, new: bytes) -> int:
        """Give a file or directory the name `new`, replacing a file or an empty directory
        of that name (Linux's rename; xv6 has none)."""
        ocomps = self.parse(cwd, old)
        ncomps = self.parse(cwd, new)
        if not ocomps or not ncomps:
            return -1
        try:
            with self._opendir(ocomps[:-1]) as odfd, self._opendir(ncomps[:-1]) as ndfd:
                st = self._lstat(odfd, ocomps[-1])
                if st is None or not (st_.S_ISREG(st.st_mode) or st_.S_ISDIR(st.st_mode)):
                    return -1
                gone = self._lstat(ndfd, ncomps[-1])
                if gone is not None and not (st_.S_ISREG(gone.st_mode) or st_.S_ISDIR(gone.st_mode)):
                    return -1
                os.rename(ocomps[-1], ncomps[-1], src_dir_fd=odfd, dst_dir_fd=ndfd)
        except _HOST_ERRORS:
            return -1
        self.generation += 1
        if gone is not None and (gone.st_dev, gone.st_ino) != (st.st_dev, st.st_ino):
            if st_.S_ISDIR(gone.st_mode):
                self.quota.refund(DIR_COST)
            elif gone.st_nlink <= 1 and (gone.st_dev, gone.st_ino) not in self._opens:
                self.quota.refund(file_cost(gone.st_size))
            if st_.S_ISDIR(gone.st_mode) or gone.st_nlink <= 1:
                self._forget(gone)
        return 0

    def truncate(self, ip: Inode, size: int) -> int:
        """Set an open file's size (Linux's ftruncate), charged to the quota as a write."""
        if ip.type != T_FILE or not 0 <= size <= self.max_file_size:
            return -1
        try:
            old = os.fstat(ip.fd).st_size
            grow = file_cost(size) - file_cost(old)
            if grow > 0 and not self.quota.charge(grow):
                return -1
            try:
                os.ftruncate(ip.fd, size)
            except BaseException:
                if grow > 0:
                    self.quota.refund(grow)
                raise
            if grow < 0:
                self.quota.refund(-grow)
        except _HOST_ERRORS:
            return -1
        return 0
