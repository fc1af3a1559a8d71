"""The page cache (Linux: mm/filemap.c and struct address_space).

The lecture's picture: every file has one set of cached pages in physical memory, found by
(file, page index). read() and write() copy between those frames and the caller's buffer;
mmap() puts the very same frames into page tables. So there is only ever one copy of a file
page in RAM, and a store through a shared mapping is seen at once by read() and by every
other mapping.

- An AddressSpace is the cache of one file: `pages` maps a page index to the physical
  address of the frame that holds bytes [index*4096, index*4096 + 4096) of the file.
- The cache keeps one kalloc reference on each of its frames. Each mapping of the page
  takes one more (get_page), so a frame's count is 1 + the number of PTEs that map it, and a
  count of 1 means "only cached": such a frame can be reclaimed at any time.
- Bytes past the end of the file read as zero; writeback never writes past it, so a store
  through a mapping past EOF never grows the file.
- Dirty pages (a shared mapping stored to them: the PTE's D bit) reach the host file on
  writeback(): at munmap, at exit and at the last put(). write() is write-through (see
  `write`), so a page is never dirty because of write().
- An AddressSpace holds its own duplicate of the host descriptor, so an unlinked file stays
  readable through its open files and mappings, and dirty pages can be written back after
  the guest has closed its descriptor.
- When the last user goes, the pages may stay cached (a second run of the same program or a
  second open of the same file finds them): they are "cache only" frames, `frames.cache`
  in the stats, and `shrink()` gives them back when memory runs out.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass, field

import numpy as np

from pagelab.hw.sv39 import PGSHIFT, PGSIZE
from pagelab.kernel.fs import FileSystem, Inode
from pagelab.kernel.mm.kalloc import Kalloc, OutOfFrames

# Host identity of a file: (st_dev, st_ino). The fs's small inode numbers are reused once
# a file is gone, so the cache finds files by the host's own identity.
HostId = tuple[int, int]


@dataclass(eq=False)
class AddressSpace:
    """The cached pages of one file, shared by every open File and every mapping of it."""

    key: Hashable  # fs inode number (Inode.ino), or ("bundled", name) for bundled ELFs
    size: int  # the file's size in bytes: the cache's view is the guest's view
    hostfd: int = -1  # private duplicate of a host descriptor; -1 when bytes-backed or idle
    writable: bool = False  # hostfd may be written (writeback needs it)
    data: bytes | None = None  # the contents, for an AddressSpace over in-memory bytes
    pages: dict[int, int] = field(default_factory=dict)  # page index -> frame address
    dirty: set[int] = field(default_factory=set)  # indexes a shared mapping stored to
    users: int = 0  # open Files and mappings (get/put)
    host: HostId | None = None  # the host file, for files
    # (st_size, st_mtime_ns) when the last user left: tells whether idle pages are stale.
    stamp: tuple[int, int] | None = None


class PageCache:
    """All AddressSpaces of one Machine."""

    def __init__(self, km: Kalloc, fs: FileSystem) -> None:
        self.km = km
        self.fs = fs
        self._files: dict[HostId, AddressSpace] = {}
        self._bytes: dict[Hashable, AddressSpace] = {}
        # Which file page each cached frame holds: the reverse of every `pages`, so that a
        # replacement policy that picks a frame can find the page to drop.
        self._owner: dict[int, tuple[AddressSpace, int]] = {}
        # Pages added so far: with len(_owner) it names the set of cached frames (only
        # removals happen between two adds), so cache_only_frames keeps its array.
        self._adds = 0
        self._frames_of: tuple[int, int] = (0, 0)
        self._frames = np.zeros(0, np.int64)
        # Called after the kernel writes new contents into a frame, which may hold code:
        # the mm layer sets it to invalidate Unicorn's translated code for that frame.
        self.frame_written: Callable[[int], None] = lambda pa: None

    # --- finding the AddressSpace of a file ------------------------------------------------

    def mapping_for(self, ip: Inode) -> AddressSpace:
        """The AddressSpace of an open regular file, taking one user reference (put()).
        Same host file => same object. Raises OSError if the host refuses."""
        st = os.fstat(ip.fd)
        host = (st.st_dev, st.st_ino)
        a = self._files.get(host)
        if a is not None and a.users == 0 and not a.dirty and a.stamp != (st.st_size, st.st_mtime_ns):
            # Changed on the host while nobody here had it open: the cached pages are stale.
            # (Never over a dirty page, one the host could not take: the cache is the truth.)
            self._forget(a)
            a = None
        if a is None:
            a = AddressSpace(key=ip.ino, size=st.st_size, host=host)
            self._files[host] = a
        if a.hostfd < 0 or (not a.writable and _can_write(ip.fd)):
            # Open a private descriptor, or trade a read-only one for a writable one so
            # that dirty pages can be written back.
            fd = os.dup(ip.fd)
            if a.hostfd >= 0:
                os.close(a.hostfd)
            else:
                self.fs.hold(host)  # the file's blocks stay in use while we hold it
            a.hostfd, a.writable = fd, _can_write(fd)
        a.users += 1
        return a

    def mapping_for_bytes(self, key: Hashable, data: bytes) -> AddressSpace:
        """Read-only AddressSpace over in-memory bytes (bundled programs that have no host
        file in the guest root). Takes one user reference."""
        a = self._bytes.get(key)
        if a is None or not (a.data is data or a.data == data):
            if a is not None and a.users == 0:
                self._drop_pages(a)
            a = AddressSpace(key=key, size=len(data), data=data)
            self._bytes[key] = a
        a.users += 1
        return a

    def get(self, a: AddressSpace) -> None:
        """Take another user reference (fork, dup, a new mapping)."""
        a.users += 1

    def put(self, a: AddressSpace) -> None:
        """Drop one user reference. The last one writes dirty pages back and closes the
        private descriptor. Pages of a file that still has a name stay cached; those of an
        unlinked file (or in-memory bytes nobody uses) are freed."""
        if a.users < 1:
            raise AssertionError("put of an AddressSpace with no users")
        a.users -= 1
        if a.users > 0:
            return
        if a.data is not None:
            if self._bytes.get(a.key) is not a:  # replaced by newer bytes: nobody finds it
                self._drop_pages(a)
            return
        self.writeback(a)
        try:
            st = os.fstat(a.hostfd)
            a.stamp = (st.st_size, st.st_mtime_ns) if st.st_nlink > 0 else None
        except OSError:
            a.stamp = None
        if a.host is not None:
            self.fs.release(a.host, a.hostfd)  # an unlinked file's last user gives its space back
        os.close(a.hostfd)
        a.hostfd, a.writable = -1, False
        if a.stamp is None:  # unlinked: nobody can ever open it again
            self._forget(a)

    def unlinked(self, ip: Inode) -> None:
        """ip's file lost a name. If that was its last and nobody here has it open, its
        idle cached pages can never be found again: free them."""
        with suppress(OSError):
            st = os.fstat(ip.fd)
            a = self._files.get((st.st_dev, st.st_ino))
            if a is not None and a.users == 0 and st.st_nlink == 0:
                self._forget(a)

    def size(self, a: AddressSpace) -> int:
        """The file's size in bytes now."""
        return a.size

    # --- pages -----------------------------------------------------------------------------

    def find_page(self, a: AddressSpace, index: int) -> tuple[int, bool]:
        """The frame caching page `index`, read from the host file on a miss. Returns
        (frame, major). Takes no reference for the caller: use it before anything else
        can allocate. Raises OutOfFrames, or OSError if the host read fails."""
        pa = a.pages.get(index)
        if pa is not None:
            return pa, False
        pa = self.km.kalloc()  # zeroed: whatever the file does not cover reads as zero
        off = index << PGSHIFT
        try:
            if off < a.size:
                self.km.ram.write(pa, self._host_read(a, off, min(PGSIZE, a.size - off)))
                self.frame_written(pa)
        except BaseException:
            self.km.kfree(pa)
            raise
        a.pages[index] = pa
        self._owner[pa] = (a, index)
        self._adds += 1
        return pa, True

    def get_page(self, a: AddressSpace, index: int) -> tuple[int, bool]:
        """Physical address of the frame caching bytes [index*4096, index*4096+4096) of the
        file; bytes past EOF read as zero. The cache keeps its own reference on the frame;
        this call takes ONE MORE for the caller's mapping, dropped with km.kfree(pa) at
        unmap. The bool is True when the host file had to be read (a major fault).
        Raises OutOfFrames (or OSError if the host read fails)."""
        pa = a.pages.get(index)  # the hit path: one dict lookup and one count
        if pa is not None:
            # km.incref without its check: the cache's own reference keeps the count >= 1.
            self.km.ref[(pa - self.km.ram.base) >> PGSHIFT] += 1
            return pa, False
        pa, major = self.find_page(a, index)
        self.km.incref(pa)
        return pa, major

    def set_page_dirty(self, a: AddressSpace, index: int) -> None:
        """A shared mapping's PTE had D set: the page must reach the host file."""
        if index in a.pages:
            a.dirty.add(index)

    def writeback(self, a: AddressSpace) -> None:
        """Write every dirty page to the host file, never past EOF. A page that cannot be
        written (no writable descriptor, host error) stays dirty."""
        if a.hostfd < 0 or not a.writable:
            return
        for index in sorted(a.dirty):
            off = index << PGSHIFT
            n = min(PGSIZE, a.size - off)
            if n > 0:
                try:
                    _pwrite_all(a.hostfd, self.km.ram.read(a.pages[index], n), off)
                except OSError:
                    continue
            a.dirty.discard(index)

    # --- read() and write() ----------------------------------------------------------------

    def read(self, a: AddressSpace, off: int, n: int) -> bytes:
        """Up to n bytes at off, stopping at EOF, from the cache frames (filled on a miss).
        Raises OSError if the host read fails; under memory pressure reads the host file
        directly (a page that is not cached cannot disagree with it)."""
        end = min(off + n, a.size)
        out = bytearray()
        while off < end:
            index, start = off >> PGSHIFT, off & (PGSIZE - 1)
            k = min(PGSIZE - start, end - off)
            try:
                pa, _ = self.find_page(a, index)
                out += self.km.ram.read(pa + start, k)
            except OutOfFrames:
                out += self._host_read(a, off, k)
            off += k
        return bytes(out)

    def write(self, a: AddressSpace, off: int, data: bytes) -> None:
        """The guest wrote data at off and it already reached the host file (write() is
        write-through, so tools on the host see it at once): copy it into the pages that
        are cached, and extend the size. Pages not cached are not read in for this (no
        write-allocate): the next read or fault reads them from the host, with the data."""
        pos = 0
        while pos < len(data):
            index, start = (off + pos) >> PGSHIFT, (off + pos) & (PGSIZE - 1)
            k = min(PGSIZE - start, len(data) - pos)
            pa = a.pages.get(index)
            if pa is not None:
                self.km.ram.write(pa + start, data[pos : pos + k])
                self.frame_written(pa)
            pos += k
        a.size = max(a.size, off + len(data))

    def truncate(self, a: AddressSpace, size: int) -> None:
        """The file was cut to `size` bytes (open with O_TRUNC). Cached pages wholly past
        the new end are freed if only cached, else zeroed in place (a mapping then sees the
        zeros a page past EOF reads as); the tail of the last page is zeroed."""
        a.size = size
        for index in sorted(a.pages):
            off = index << PGSHIFT
            if off + PGSIZE <= size:
                continue
            pa = a.pages[index]
            keep = max(0, size - off)
            if keep == 0 and self.km.refcount(pa) == 1:
                del a.pages[index]
                del self._owner[pa]
                a.dirty.discard(index)
                self.km.kfree(pa)
                continue
            self.km.ram.write(pa + keep, bytes(PGSIZE - keep))
            self.frame_written(pa)
            if keep == 0:
                a.dirty.discard(index)

    # --- memory accounting and reclaim ------------------------------------------------------

    def _all(self) -> list[AddressSpace]:
        return [*self._files.values(), *self._bytes.values()]

    def cached_frames(self) -> list[int]:
        """Every frame the cache holds a reference on (the invariant check counts them)."""
        return [pa for a in self._all() for pa in a.pages.values()]

    def frame_numbers(self) -> np.ndarray:
        """The frames the cache holds (numbers, as in Kalloc.ref), as an int64 array kept
        until a page comes or goes: counters samples and frame maps read it."""
        key = (len(self._owner), self._adds)
        if key != self._frames_of:
            pas = np.fromiter(self._owner, np.int64, len(self._owner))
            self._frames = (pas - self.km.ram.base) >> PGSHIFT
            self._frames_of = key
        return self._frames

    def cache_only_frames(self) -> int:
        """Frames held only by the cache, mapped by nobody (stats: frames.cache). Every
        counters sample asks for it (a recorded run takes one per quantum)."""
        return int(np.count_nonzero(self.km.ref[self.frame_numbers()] == 1))

    def shrink(self, n: int) -> int:
        """Free up to n cache-only frames: those of files nobody has open first, then
        unmapped pages of open files. Dirty pages are written back first. Returns how many
        frames were freed. kalloc calls this before it reports OutOfFrames."""
        freed = 0
        idle = sorted(self._all(), key=lambda a: a.users > 0)
        for a in idle:
            for index in list(a.pages):
                if freed >= n:
                    return freed
                if self.drop_page(a, index):
                    freed += 1
        return freed

    def page_of(self, pa: int) -> tuple[AddressSpace, int] | None:
        """The file page cached in frame pa, if the cache holds it."""
        return self._owner.get(pa)

    def drop_page(self, a: AddressSpace, index: int) -> bool:
        """Evict one page if only the cache holds it (writing it back first if dirty).
        Returns True if its frame was freed."""
        pa = a.pages.get(index)
        if pa is None or self.km.refcount(pa) != 1:
            return False
        if index in a.dirty:
            self.writeback(a)
            if index in a.dirty:
                return False  # could not be written: keep it
        del a.pages[index]
        del self._owner[pa]
        self.km.kfree(pa)
        return True

    # --- internals ---------------------------------------------------------------------------

    def _host_read(self, a: AddressSpace, off: int, n: int) -> bytes:
        if a.data is not None:
            return a.data[off : off + n]
        return os.pread(a.hostfd, n, off)

    def _drop_pages(self, a: AddressSpace) -> None:
        """Give back the cache's reference on every page (a mapping may still hold one)."""
        for pa in a.pages.values():
            del self._owner[pa]
            self.km.kfree(pa)
        a.pages.clear()
        a.dirty.clear()

    def _forget(self, a: AddressSpace) -> None:
        """a's file is gone or stale: free its pages and stop finding it."""
        self._drop_pages(a)
        if a.host is not None and self._files.get(a.host) is a:
            del self._files[a.host]


def _can_write(fd: int) -> bool:
    return (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)


def _pwrite_all(fd: int, data: bytes, off: int) -> None:
    mv = memoryview(data)
    while mv:
        k = os.pwrite(fd, mv, off)
        if k <= 0:
            raise OSError("short write")
        mv, off = mv[k:], off + k
