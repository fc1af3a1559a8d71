"""The hart: a RISC-V CPU on Unicorn, with the MMU walker in its TLB-fill hook.

Page faults come from the fill hook, not from Unicorn's interrupt hook, because only the
fill hook knows the faulting address (stval) and the exact faulting PC (sepc).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from unicorn import (
    UC_ARCH_RISCV,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_HOOK_INTR,
    UC_HOOK_TLB_FILL,
    UC_MODE_RISCV64,
    UC_PROT_ALL,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import riscv_const as rc
from unicorn.unicorn_py3.unicorn import uclib as unicorn_lib

from pagelab.hw import exc
from pagelab.hw.decode import access_address
from pagelab.hw.mmu import SCAUSE_FOR, Access, walk
from pagelab.hw.ram import PhysMem

SCAUSE_ILLEGAL_INSTRUCTION = exc.ILLEGAL_INSTRUCTION
SCAUSE_ECALL_U = 8

# mstatus.FS = dirty: lets the guest use the F and D extensions.
_MSTATUS_FS = 0x6000

REG = {f"x{i}": getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)}
XREG = [REG[f"x{i}"] for i in range(32)]
A0, A1, A2, A3, A4, A5, A7 = (getattr(rc, f"UC_RISCV_REG_A{i}") for i in (0, 1, 2, 3, 4, 5, 7))
SP = rc.UC_RISCV_REG_SP
PC = rc.UC_RISCV_REG_PC


@dataclass(frozen=True)
class Trap:
    """A synchronous exception as the supervisor sees it.

    A page fault from the TLB-fill hook knows only the faulting page (`exact` False);
    Hart.stval() recovers the exact address from the instruction when someone needs it.
    """

    scause: int
    stval: int
    sepc: int
    exact: bool = True


class Stop(Enum):
    QUANTUM = "quantum"  # ran the whole instruction budget
    ECALL = "ecall"  # pc is already past the ecall
    TRAP = "trap"  # an exception the fault handler did not resolve
    HALT = "halt"  # someone called stop() from a hook


@dataclass
class RunResult:
    stop: Stop
    executed: int
    trap: Trap | None = None


FaultHandler = Callable[[Trap], bool]

_MEMORY_CAUSES = frozenset(
    (
        exc.INSN_MISALIGNED,
        exc.INSN_ACCESS_FAULT,
        exc.LOAD_MISALIGNED,
        exc.LOAD_ACCESS_FAULT,
        exc.STORE_MISALIGNED,
        exc.STORE_ACCESS_FAULT,
    )
)


class Hart:
    """One RISC-V hart in user mode. The kernel sets `root` (satp's page) and `on_fault`."""

    def __init__(self, ram: PhysMem) -> None:
        self.ram = ram
        # Any: unicorn's bundled type hints lack the ctl_* methods used here.
        self.uc: Any = cast(Any, Uc(UC_ARCH_RISCV, UC_MODE_RISCV64))
        self.uc.mem_map_ptr(ram.base, ram.size, UC_PROT_ALL, ram.host_address())
        self.uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        # No exit address: emulation stops only on emu_stop, the count, or an error.
        self.uc.ctl_exits_enabled(True)
        self.uc.ctl_set_exits([])
        self._root = 0
        self.on_fault: FaultHandler | None = None
        self.tlb_fills = 0
        self._pending: Trap | None = None
        self._stop = Stop.QUANTUM
        self._hook_error: BaseException | None = None
        self._identity = False
        # Decoded faulting instructions by pc, for stval(); cleared when code changes.
        self._insn_cache: dict[int, int] = {}
        self.uc.hook_add(UC_HOOK_TLB_FILL, self._tlb_fill)
        self.uc.hook_add(UC_HOOK_INTR, self._intr)
        self._counter: ctypes.c_uint64 | None = None
        self._calibrate_counter()
        # The page-fault path reads registers on every fault: call the C library
        # directly, which costs half of what the binding's reg_read does.
        self._reg_value = ctypes.c_uint64()
        self._reg_out = ctypes.byref(self._reg_value)
        self._handle = self.uc._uch  # the engine's private handle
        self._uc_reg_read = unicorn_lib.uc_reg_read

    def _read(self, regid: int) -> int:
        if self._uc_reg_read(self._handle, regid, self._reg_out) != 0:
            return int(self.uc.reg_read(regid))
        return self._reg_value.value

    def _pc(self) -> int:
        return self._read(PC)

    # --- hooks -------------------------------------------------------------------

    def _tlb_fill(self, uc: Uc, vaddr: int, access: int, entry: object, _ud: object) -> bool:
        self.tlb_fills += 1
        if self._stop == Stop.TRAP:
            # An exception was already raised (the CPU is on its way to a trap vector
            # that does not exist here): nothing more may run or fault.
            return False
        if self._identity:
            entry.paddr = vaddr  # type: ignore[attr-defined]
            entry.perms = UC_PROT_ALL  # type: ignore[attr-defined]
            return True
        got = walk(self.ram, self._root, vaddr, access)
        if got is None:
            pc = self._pc()
            if access == Access.FETCH and (vaddr ^ (pc - 4096)) & ~0xFFF & 0xFFFFFFFFFFFFFFFF == 0:
                # Unicorn translating an illegal instruction at the start of a block
                # probes the page before it. It is not a fetch the program made.
                self._pending = Trap(SCAUSE_ILLEGAL_INSTRUCTION, 0, pc)
                self._stop = Stop.TRAP
                return False
            # The walk failed: this is a page fault. Give the kernel a chance to fix the
            # page table, then walk again: "restart the instruction".
            trap = Trap(SCAUSE_FOR[access], vaddr, pc, exact=False)
            handler = self.on_fault
            try:
                if handler is not None and handler(trap):
                    got = walk(self.ram, self._root, vaddr, access)
            except BaseException as e:  # a kernel bug: re-raised from run()
                self._hook_error = e
                uc.emu_stop()
                return False
            if got is None:
                self._pending = trap
                self._stop = Stop.TRAP
                return False
        entry.paddr, entry.perms = got  # type: ignore[attr-defined]
        return True

    def stval(self, trap: Trap) -> int:
        """The exact faulting address of a page fault taken at the current pc.

        Unicorn reports only the page; the load or store at sepc says the address.
        """
        page = trap.stval
        if trap.exact:
            return page
        if trap.scause == SCAUSE_FOR[Access.FETCH]:
            return trap.sepc if trap.sepc >> 12 == page >> 12 else page
        insn = self._insn_cache.get(trap.sepc)
        if insn is None:
            insn = self.fetch_insn(trap.sepc)
            if insn is None:
                return page
            self._insn_cache[trap.sepc] = insn
        addr = access_address(insn, lambda n: self._read(XREG[n]) if n else 0)
        # An access that straddles two pages faults on the second: report its start.
        return addr if addr is not None and addr >> 12 == page >> 12 else page

    def fetch_insn(self, pc: int) -> int | None:
        """Up to 4 instruction bytes at pc, read through the page table."""
        out = 0
        for i, va in enumerate((pc, pc + 2)):
            got = walk(self.ram, self._root, va, Access.FETCH)
            if got is None:
                return out if i else None
            out |= int.from_bytes(self.ram.read(got[0] + (va & 0xFFF), 2), "little") << (16 * i)
            if i == 0 and out & 3 != 3:
                return out  # a compressed instruction: 2 bytes
        return out

    def _intr(self, uc: Uc, intno: int, _ud: object) -> None:
        if intno == SCAUSE_ECALL_U:
            self._stop = Stop.ECALL
        else:
            # Unicorn leaves pc 4 past the faulting instruction whatever its length.
            self._stop = Stop.TRAP
            self._pending = Trap(intno, 0, uc.reg_read(PC) - 4)
        uc.emu_stop()

    # --- running -------------------------------------------------------------------

    def run(self, count: int) -> RunResult:
        """Run from the current pc for at most `count` instructions."""
        self._stop = Stop.QUANTUM
        self._pending = None
        pc = self.uc.reg_read(PC)
        try:
            self.uc.emu_start(pc, 0, count=count)
        except UcError as e:
            if self._hook_error is None and self._pending is None:
                # No UcError escapes the hart: whatever the guest did is a trap of its own.
                self._pending = self._error_trap(e.errno)
                self._stop = Stop.TRAP
        if self._hook_error is not None:
            err, self._hook_error = self._hook_error, None
            raise err
        executed = self._executed(count)
        trap = self._pending
        if trap is not None:
            if trap.scause in _MEMORY_CAUSES and trap.stval == 0:
                trap = self._memory_trap(trap)
            return RunResult(Stop.TRAP, executed, trap)
        return RunResult(self._stop, executed)

    def _error_trap(self, errno: int) -> Trap:
        """The trap behind a UcError: emulation stopped with pc at the instruction."""
        pc = self._pc()
        scause = exc.scause_of_error(errno, self.fetch_insn(pc))
        # As QEMU does: a breakpoint's stval is its own address.
        return Trap(scause, pc if scause == exc.BREAKPOINT else 0, pc)

    def _memory_trap(self, trap: Trap) -> Trap:
        """Fill in a misaligned or access-fault trap's true cause and stval from the
        instruction at sepc (Unicorn gives neither)."""
        if trap.scause in (exc.INSN_MISALIGNED, exc.INSN_ACCESS_FAULT):
            return Trap(trap.scause, trap.sepc, trap.sepc)
        reg = lambda n: self._read(XREG[n]) if n else 0  # noqa: E731
        scause, stval = exc.memory_trap(trap.scause, self.fetch_insn(trap.sepc), reg)
        return Trap(scause, stval, trap.sepc)

    def stop(self) -> None:
        """Stop emulation from inside a hook (the kernel's fault handler)."""
        self._stop = Stop.HALT
        self.uc.emu_stop()

    def _executed(self, count: int) -> int:
        if self._stop == Stop.QUANTUM and self._pending is None:
            return count
        if self._counter is not None:
            return min(int(self._counter.value), count)
        return 0

    def _calibrate_counter(self) -> None:
        """Find Unicorn's private count of executed instructions.

        Unicorn counts instructions to honour emu_start(count=N) but has no API to read
        the count when emulation stops early (at an ecall). We run a loop with a known
        instruction count twice, find the word in Unicorn's state that holds it, and read
        it from then on. If the search fails, early stops are charged 0 instructions.
        """
        code_pa = self.ram.end - 4096
        # addi t0,t0,1 ; bne t0,t1,-4 ; ecall
        self.ram.write(code_pa, bytes.fromhex("93821200e39e62fe73000000"))
        self._identity = True
        self.uc.reg_write(rc.UC_RISCV_REG_MSTATUS, _MSTATUS_FS)
        self.uc.reg_write(rc.UC_RISCV_REG_PRIV, 0)
        found: int | None = None
        handle = self.uc._uch.value  # Unicorn's private engine pointer
        try:
            for trips, budget in ((1000, 99991), (37, 77773)):
                self.uc.reg_write(rc.UC_RISCV_REG_T0, 0)
                self.uc.reg_write(rc.UC_RISCV_REG_T1, trips)
                self.uc.reg_write(PC, code_pa)
                res = self.run(budget)
                want = 2 * trips + 1
                if res.stop != Stop.ECALL or not handle:
                    return
                words = (ctypes.c_uint64 * 1024).from_address(handle)
                if found is None:
                    hits = [i for i in range(1, 1024) if words[i] == budget and words[i - 1] == want]
                    if len(hits) != 1:
                        return
                    found = hits[0] - 1
                elif words[found] != want:
                    found = None
                    return
        finally:
            self._identity = False
            self.ram.write(code_pa, bytes(12))
            self.flush_tlb()
            self.uc.ctl_flush_tb()
            if found is not None:
                self._counter = ctypes.c_uint64.from_address(handle + 8 * found)

    @property
    def root(self) -> int:
        """The page-table root in use: satp's PPN, as a physical address."""
        return self._root

    @root.setter
    def root(self, pa: int) -> None:
        if pa != self._root:
            self._insn_cache.clear()  # another address space: other code at those pcs
        self._root = pa

    @property
    def exact_count(self) -> bool:
        return self._counter is not None

    # --- state -----------------------------------------------------------------------

    def reg(self, r: int) -> int:
        return int(self.uc.reg_read(r))

    def set_reg(self, r: int, value: int) -> None:
        self.uc.reg_write(r, value & 0xFFFFFFFFFFFFFFFF)

    def fresh_context(self, pc: int, sp: int, a0: int, a1: int) -> object:
        """A context for a new user image: all registers zero but these."""
        for i in range(1, 32):
            self.uc.reg_write(REG[f"x{i}"], 0)
        for i in range(32):
            self.uc.reg_write(getattr(rc, f"UC_RISCV_REG_F{i}"), 0)
        self.uc.reg_write(rc.UC_RISCV_REG_MSTATUS, _MSTATUS_FS)
        self.uc.reg_write(rc.UC_RISCV_REG_PRIV, 0)
        self.uc.reg_write(PC, pc)
        self.uc.reg_write(SP, sp)
        self.uc.reg_write(A0, a0)
        self.uc.reg_write(A1, a1)
        return self.uc.context_save()

    def save(self) -> object:
        return self.uc.context_save()

    def restore(self, ctx: object) -> None:
        self.uc.context_restore(ctx)

    # --- the TLB and the translated-code cache ----------------------------------------

    def flush_tlb(self) -> None:
        """sfence.vma: drop every cached translation."""
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def flush_code(self) -> None:
        """Forget all translated code: needed when a frame that will run gets new bytes."""
        self.uc.ctl_flush_tb()
        self._insn_cache.clear()

    def close(self) -> None:
        self.uc.emu_stop()
