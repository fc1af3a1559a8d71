"""ELF parsing: every field of a guest-supplied file is checked."""

from __future__ import annotations

import struct

import pytest

from pagelab.kernel.elf import ElfError, parse
from pagelab.programs import bundled

LIMIT = 1 << 38


def echo() -> bytes:
    data = bundled("echo")
    assert data is not None
    return data


def test_bundled_program_parses() -> None:
    img = parse(echo(), LIMIT)
    assert img.segments and any(s.flags & 1 for s in img.segments)


@pytest.mark.parametrize("cut", [0, 10, 63, 64, 100])
def test_truncated(cut: int) -> None:
    with pytest.raises(ElfError):
        parse(echo()[:cut], LIMIT)


def patch(data: bytes, off: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


@pytest.mark.parametrize(
    ("off", "fmt", "value", "why"),
    [
        (0, "<B", 0x7E, "not an ELF"),
        (4, "<B", 1, "64-bit"),
        (18, "<H", 62, "RISC-V"),  # EM_X86_64
        (16, "<H", 3, "static"),  # ET_DYN
        (54, "<H", 40, "program headers"),  # phentsize
        (32, "<Q", 1 << 40, "program headers"),  # phoff far beyond the file
    ],
)
def test_bad_header_fields(off: int, fmt: str, value: int, why: str) -> None:
    with pytest.raises(ElfError, match=why):
        parse(patch(echo(), off, fmt, value), LIMIT)


def first_load(data: bytes) -> int:
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phnum = struct.unpack_from("<H", data, 56)[0]
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 1:
            return phoff + 56 * i
    raise AssertionError("no PT_LOAD")


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        (32, 0, "memsz < filesz"),  # p_filesz > p_memsz
        (16, (1 << 38) - 16, "beyond the user address space"),  # p_vaddr near the top
        (8, 1 << 40, "beyond the end of the file"),  # p_offset
    ],
)
def test_bad_segments(field: int, value: int, why: str) -> None:
    data = echo()
    ph = first_load(data)
    if field == 32:  # make filesz huge instead of shrinking memsz
        data = patch(data, ph + 32, "<Q", 1 << 20)
        data = patch(data, ph + 40, "<Q", 10)
    else:
        data = patch(data, ph + field, "<Q", value)
    with pytest.raises(ElfError, match=why):
        parse(data, LIMIT)
