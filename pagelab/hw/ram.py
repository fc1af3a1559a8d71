"""Physical RAM: one host buffer mapped into the hart at KERNBASE."""

from __future__ import annotations

import ctypes
import mmap
import struct

from pagelab.hw.sv39 import PGSIZE

KERNBASE = 0x80000000

_ZERO_PAGE = bytes(PGSIZE)
_U64 = struct.Struct("<Q")


class PhysMem:
    """Guest physical memory. The kernel reads and writes frames and PTEs here directly,
    as a real kernel does through its direct map."""

    def __init__(self, size: int, base: int = KERNBASE) -> None:
        if size <= 0 or size % PGSIZE:
            raise ValueError(f"memory size must be a positive multiple of {PGSIZE}")
        self.base = base
        self.size = size
        self.end = base + size
        # Anonymous memory, populated up front: RAM exists whether or not the guest uses
        # it, and paying the host's own page faults at boot keeps them out of the guest's
        # fault times.
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)
        self.buf = mmap.mmap(-1, size, flags=flags)
        self.mv = memoryview(self.buf)
        # A 64-bit view of the same bytes, for page tables (one PTE per element).
        self.words = self.mv.cast("Q")

    def host_address(self) -> int:
        return ctypes.addressof(ctypes.c_char.from_buffer(self.buf))

    def contains(self, pa: int, n: int = 1) -> bool:
        return self.base <= pa and pa + n <= self.end

    def read64(self, pa: int) -> int:
        return self.words[(pa - self.base) >> 3]

    def write64(self, pa: int, value: int) -> None:
        self.words[(pa - self.base) >> 3] = value

    def read(self, pa: int, n: int) -> bytes:
        off = pa - self.base
        return bytes(self.mv[off : off + n])

    def write(self, pa: int, data: bytes | bytearray | memoryview) -> None:
        off = pa - self.base
        self.mv[off : off + len(data)] = data

    def zero_page(self, pa: int) -> None:
        off = pa - self.base
        self.mv[off : off + PGSIZE] = _ZERO_PAGE

    def copy_page(self, dst: int, src: int) -> None:
        d = dst - self.base
        s = src - self.base
        self.mv[d : d + PGSIZE] = self.mv[s : s + PGSIZE]

    def page_words(self, pa: int) -> memoryview:
        """The 512 PTEs of a page-table page as one array, so a whole leaf page
        can be scanned or rewritten without 512 separate calls."""
        i = (pa - self.base) >> 3
        return self.words[i : i + 512]

    def close(self) -> None:
        self.words.release()
        self.mv.release()
        self.buf.close()
