"""The faulting instruction as text, disassembled by capstone (RV64GC)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

SCAUSE_NAMES = {12: "instruction page fault", 13: "load page fault", 15: "store page fault"}


@cache
def _capstone() -> Any:
    """The disassembler, made at the first instruction shown: a run that shows none never
    loads capstone (start-up, docs/speed.md)."""
    import capstone

    return capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV64 | capstone.CS_MODE_RISCVC)


@lru_cache(maxsize=4096)
def disasm(insn: int | None) -> str:
    """'sd a5,0(a0)' for the bits of one instruction; '?' if unknown or undecodable.
    The pc does not matter for a load or store; branches would print relative offsets."""
    if insn is None:
        return "?"
    size = 2 if insn & 3 != 3 else 4
    for i in _capstone().disasm(insn.to_bytes(size, "little"), 0, 1):
        return f"{i.mnemonic} {i.op_str.replace(', ', ',')}".strip()
    return f".insn {insn:#x}"
