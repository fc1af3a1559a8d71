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
ET_DYN = 3  # position-independent: static-pie when it has no PT_INTERP
EM_RISCV = 243
EI_OSABI = 7
ELFOSABI_GNU = 3
PT_LOAD = 1
PT_INTERP = 3
PT_PHDR = 6
PT_TLS = 7
PF_X, PF_W, PF_R = 1, 2, 4
# Where a position-independent static program (static-pie, ET_DYN) is loaded: a fixed
# base, as Linux with address-space randomisation off, low enough that its heap grows up
# below the mmap area (mm/mmap.py).
DYN_BASE = 0x40000000
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
    # What a Linux loader needs besides the loads (binfmt_elf): where the program headers
    # are (AT_PHDR, AT_PHENT, AT_PHNUM), and the marks that tell a Linux binary apart.
    phoff: int = 0
    phnum: int = 0
    phdr: int | None = None  # PT_PHDR's vaddr, if the file has one
    tls: bool = False  # has PT_TLS
    osabi: int = 0  # e_ident[EI_OSABI]
    interp: bytes | None = None  # PT_INTERP's path: a dynamically linked program
    bias: int = 0  # added to every address: the load base of a static-pie (ET_DYN)

    def phdr_addr(self) -> int:
        """The program headers' address in memory: PT_PHDR's, else (glibc-static has no
        PT_PHDR) the first load's vaddr - its offset + e_phoff, as Linux computes it."""
        if self.phdr is not None:
            return self.phdr
        first = self.segments[0]
        return first.vaddr - first.offset + self.phoff


def parse(data: bytes, limit: int, dyn_base: int = 0) -> ElfImage:
    """Check the header and PT_LOAD segments; every segment must end below `limit`.
    With `dyn_base`, a position-independent (ET_DYN) file is accepted and loaded there."""
    return parse_from(lambda off, n: data[off : off + n], len(data), limit, dyn_base)


def parse_from(read: Callable[[int, int], bytes], size: int, limit: int, dyn_base: int = 0) -> ElfImage:
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
    if e_type != ET_EXEC and not (e_type == ET_DYN and dyn_base):
        raise ElfError(f"not a static executable (e_type {e_type})")
    bias = dyn_base if e_type == ET_DYN else 0
    if phentsize != _PHDR.size or phnum == 0 or phoff + phnum * phentsize > size:
        raise ElfError("bad or truncated program headers")
    phdrs = read(phoff, phnum * phentsize)
    if len(phdrs) < phnum * phentsize:
        raise ElfError("bad or truncated program headers")
    segs = []
    phdr: int | None = None
    tls = False
    interp: bytes | None = None
    for i in range(phnum):
        p_type, p_flags, off, vaddr, _paddr, filesz, memsz, _align = _PHDR.unpack_from(phdrs, i * _PHDR.size)
        vaddr += bias
        if p_type == PT_PHDR:
            phdr = vaddr
        elif p_type == PT_TLS:
            tls = True  # lld may put it outside every load: only a mark here
        elif p_type == PT_INTERP:
            interp = read(off, min(filesz, 256)).split(b"\0")[0] if off + filesz <= size else b"?"
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
    if interp is not None:
        # Checked before the entry point: a dynamic program's entry may be anything.
        return ElfImage(entry + bias, tuple(segs), phoff, phnum, phdr, tls, ident[EI_OSABI], interp, bias)
    entry += bias
    if not any(s.vaddr <= entry < s.vaddr + s.memsz and s.flags & PF_X for s in segs):
        raise ElfError("entry point outside executable segments")
    return ElfImage(entry, tuple(segs), phoff, phnum, phdr, tls, ident[EI_OSABI], interp, bias)
