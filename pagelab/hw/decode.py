"""Just enough of a RISC-V decoder to recover a faulting load or store's exact address.

Unicorn's TLB-fill hook reports only the page of a faulting access, but stval must be the
exact address. The instruction at sepc says it: base register plus offset (RV64 loads,
stores, float loads and stores, AMOs, and their compressed forms).
"""

from __future__ import annotations

from collections.abc import Callable


def _sext(value: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return (value & (sign - 1)) - (value & sign)


def _bits(x: int, hi: int, lo: int) -> int:
    return (x >> lo) & ((1 << (hi - lo + 1)) - 1)


def access_address(insn: int, reg: Callable[[int], int]) -> int | None:
    """The address a load/store/AMO instruction accesses, or None if it is not one.
    `insn` holds at least the instruction's bytes (little-endian); `reg(n)` reads xn."""
    if insn & 3 == 3:
        opcode = insn & 0x7F
        rs1 = _bits(insn, 19, 15)
        if opcode in (0x03, 0x07):  # LOAD, LOAD-FP: I-type
            off = _sext(_bits(insn, 31, 20), 12)
        elif opcode in (0x23, 0x27):  # STORE, STORE-FP: S-type
            off = _sext((_bits(insn, 31, 25) << 5) | _bits(insn, 11, 7), 12)
        elif opcode == 0x2F:  # AMO, LR, SC: the address is rs1
            off = 0
        else:
            return None
        return (reg(rs1) + off) & 0xFFFFFFFFFFFFFFFF
    c = insn & 0xFFFF
    quadrant, funct3 = c & 3, _bits(c, 15, 13)
    if quadrant == 0 and funct3 in (1, 2, 3, 5, 6, 7):
        rs1 = 8 + _bits(c, 9, 7)
        if funct3 in (2, 6):  # C.LW, C.SW
            off = (_bits(c, 12, 10) << 3) | (_bits(c, 6, 6) << 2) | (_bits(c, 5, 5) << 6)
        else:  # C.LD, C.SD, C.FLD, C.FSD
            off = (_bits(c, 12, 10) << 3) | (_bits(c, 6, 5) << 6)
        return (reg(rs1) + off) & 0xFFFFFFFFFFFFFFFF
    if quadrant == 2 and funct3 in (1, 2, 3, 5, 6, 7):
        if funct3 == 2:  # C.LWSP
            off = (_bits(c, 12, 12) << 5) | (_bits(c, 6, 4) << 2) | (_bits(c, 3, 2) << 6)
        elif funct3 in (1, 3):  # C.LDSP, C.FLDSP
            off = (_bits(c, 12, 12) << 5) | (_bits(c, 6, 5) << 3) | (_bits(c, 4, 2) << 6)
        elif funct3 == 6:  # C.SWSP
            off = (_bits(c, 12, 9) << 2) | (_bits(c, 8, 7) << 6)
        else:  # C.SDSP, C.FSDSP
            off = (_bits(c, 12, 10) << 3) | (_bits(c, 9, 7) << 6)
        return (reg(2) + off) & 0xFFFFFFFFFFFFFFFF
    return None
