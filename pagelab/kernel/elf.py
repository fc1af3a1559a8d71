"""The ELF64 format, as much of it as exec needs (xv6's elf.h). Every field is checked:
the file comes from the guest and may be anything."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_EXEC = 2
EM_RISCV = 243
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
MAX_LOADS = 64  # PT_LOAD segments accepted (real programs have 2 to 4)

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")


class ElfError(Exception):
    """Not a loadable RISC-V executable; the message says why."""


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD program header."""

    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class ElfImage:
    entry: int
    segments: tuple[Segment, ...]


def parse(data: bytes, limit: int) -> ElfImage:
    """Check the header and PT_LOAD segments; every segment must end below `limit`."""
    return parse_from(lambda off, n: data[off : off + n], len(data), limit)


def parse_from(read: Callable[[int, int], bytes], size: int, limit: int) -> ElfImage:
    """parse() for a file of `size` bytes read through read(offset, n): exec reads only
    the headers, the pages come later, at their faults."""
    ehdr = read(0, _EHDR.size)
    if len(ehdr) < _EHDR.size:
        raise ElfError("truncated ELF header")
    (ident, e_type, machine, _ver, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_rest) = _EHDR.unpack_from(
        ehdr
    )
    if ident[:4] != ELF_MAGIC:
        raise ElfError("not an ELF file")
    if ident[4] != ELFCLASS64 or ident[5] != ELFDATA2LSB:
        raise ElfError("not a 64-bit little-endian ELF")
    if machine != EM_RISCV:
        raise ElfError(f"not a RISC-V ELF (e_machine {machine})")
    if e_type != ET_EXEC:
        raise ElfError(f"not a static executable (e_type {e_type})")
    if phentsize != _PHDR.size or phnum == 0 or phoff + phnum * phentsize > size:
        raise ElfError("bad or truncated program headers")
    phdrs = read(phoff, phnum * phentsize)
    if len(phdrs) < phnum * phentsize:
        raise ElfError("bad or truncated program headers")
    segs = []
    for i in range(phnum):
        p_type, p_flags, off, vaddr, _paddr, filesz, memsz, _align = _PHDR.unpack_from(phdrs, i * _PHDR.size)
        if p_type != PT_LOAD or memsz == 0:
            continue
        if memsz < filesz:
            raise ElfError("segment memsz < filesz")
        if vaddr + memsz > limit:
            raise ElfError("segment beyond the user address space")
        if off + filesz > size:
            raise ElfError("segment data beyond the end of the file")
        segs.append(Segment(p_flags, off, vaddr, filesz, memsz))
    if not segs:
        raise ElfError("no loadable segments")
    if len(segs) > MAX_LOADS:
        raise ElfError(f"more than {MAX_LOADS} loadable segments")
    if not any(s.vaddr <= entry < s.vaddr + s.memsz and s.flags & PF_X for s in segs):
        raise ElfError("entry point outside executable segments")
    return ElfImage(entry, tuple(segs))
