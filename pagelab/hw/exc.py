"""Synchronous exceptions other than page faults: what Unicorn reports, as RISC-V scause.

Unicorn reports these three ways, and none of them may reach the kernel as a host error:
- the interrupt hook, with the RISC-V cause number (illegal instruction, misaligned AMO);
- emu_start raising UcError: `ebreak` and `c.ebreak` end emulation with
  UC_ERR_INSN_INVALID, pc at the instruction; memory errors would use the *_UNMAPPED,
  *_PROT and *_UNALIGNED codes;
- the TLB-fill hook, for page faults (hw/hart.py).
"""

from __future__ import annotations

from collections.abc import Callable

import unicorn as u

from pagelab.hw.decode import access_address

# scause values (the RISC-V privileged spec, table "Supervisor cause register").
INSN_MISALIGNED = 0
INSN_ACCESS_FAULT = 1
ILLEGAL_INSTRUCTION = 2
BREAKPOINT = 3
LOAD_MISALIGNED = 4
LOAD_ACCESS_FAULT = 5
STORE_MISALIGNED = 6  # store or AMO
STORE_ACCESS_FAULT = 7

EBREAK = 0x00100073
C_EBREAK = 0x9002

_FROM_UC_ERROR = {
    u.UC_ERR_FETCH_UNMAPPED: INSN_ACCESS_FAULT,
    u.UC_ERR_FETCH_PROT: INSN_ACCESS_FAULT,
    u.UC_ERR_FETCH_UNALIGNED: INSN_MISALIGNED,
    u.UC_ERR_READ_UNMAPPED: LOAD_ACCESS_FAULT,
    u.UC_ERR_READ_PROT: LOAD_ACCESS_FAULT,
    u.UC_ERR_READ_UNALIGNED: LOAD_MISALIGNED,
    u.UC_ERR_WRITE_UNMAPPED: STORE_ACCESS_FAULT,
    u.UC_ERR_WRITE_PROT: STORE_ACCESS_FAULT,
    u.UC_ERR_WRITE_UNALIGNED: STORE_MISALIGNED,
}

_OPCODE_AMO = 0x2F
_FUNCT5_LR = 0b00010


def is_ebreak(insn: int | None) -> bool:
    if insn is None:
        return False
    return (insn & 3 != 3 and insn & 0xFFFF == C_EBREAK) or insn & 0xFFFFFFFF == EBREAK


def scause_of_error(errno: int, insn: int | None) -> int:
    """The trap a UcError stands for. `insn` is the instruction at pc (None if unreadable).

    Anything unforeseen is an illegal instruction: the process dies, the machine goes on.
    """
    if errno == u.UC_ERR_INSN_INVALID:
        return BREAKPOINT if is_ebreak(insn) else ILLEGAL_INSTRUCTION
    return _FROM_UC_ERROR.get(errno, ILLEGAL_INSTRUCTION)


def memory_trap(scause: int, insn: int | None, reg: Callable[[int], int]) -> tuple[int, int]:
    """(scause, stval) of a misaligned or access-fault trap at an instruction.

    Unicorn reports a misaligned AMO as a load (cause 4) with no address. The spec says
    LR is a load (4) and SC and every other AMO a store/AMO (6); stval is the address,
    which the instruction itself gives (base register, plus offset for loads/stores).
    """
    if insn is None:
        return scause, 0
    if insn & 0x7F == _OPCODE_AMO and insn & 3 == 3 and scause in (LOAD_MISALIGNED, STORE_MISALIGNED):
        scause = LOAD_MISALIGNED if insn >> 27 == _FUNCT5_LR else STORE_MISALIGNED
    addr = access_address(insn, reg)
    return scause, 0 if addr is None else addr
