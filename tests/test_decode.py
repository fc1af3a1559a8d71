"""Recovering the exact faulting address from the instruction at sepc."""

from __future__ import annotations

import pytest

from pagelab.hw.decode import access_address

REGS = {2: 0x7000, 5: 0x5100, 8: 0x9000, 10: 0x2000}


def reg(n: int) -> int:
    return REGS.get(n, 0)


@pytest.mark.parametrize(
    ("insn", "addr"),
    [
        (0x0082B423, 0x5108),  # sd zero, 8(t0)
        (0xFF82B423, 0x5100 - 24),  # sd s8, -24(t0): a negative S-type offset
        (0x0082B283, 0x5108),  # ld t0, 8(t0)
        (0xFF02B283, 0x5100 - 16),  # ld t0, -16(t0)
        (0x0202B2AF, 0x5100),  # amoadd.w: address is rs1
        (0x00053027, 0x2000),  # fsd f0, 0(a0)
        (0x6404, 0x9008),  # c.ld s1, 8(s0)
        (0xC004, 0x9000),  # c.sw s1, 0(s0)
        (0x6522, 0x7008),  # c.ldsp a0, 8(sp)
        (0xE42A, 0x7008),  # c.sdsp a0, 8(sp)
        (0x0001, None),  # c.nop
        (0x00000013, None),  # addi (nop)
    ],
)
def test_access_address(insn: int, addr: int | None) -> None:
    assert access_address(insn, reg) == addr
