"""The hart: a RISC-V CPU on Unicorn, with the MMU walker in its TLB-fill hook.

Page faults come from the fill hook, not from Unicorn's interrupt hook, because only the
fill hook knows the faulting address (stval) and the exact faulting PC (sepc).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, cast

from unicorn import (
    UC_ARCH_RISCV,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_HOOK_INTR,
    UC_MODE_RISCV64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_TLB_VIRTUAL,
    Uc,
)
from unicorn import riscv_const as rc
from unicorn.unicorn_py3.unicorn import uclib as unicorn_lib

from pagelab.hw import exc
from pagelab.hw.decode import access_address
from pagelab.hw.mmu import SCAUSE_FOR, Access, walk
from pagelab.hw.native import code_buffer, executable_mappings
from pagelab.hw.quanta import BUDGET, ELIDE_BELOW, ELIDED, EXECUTED, QUANTUM_START, BlockCounter
from pagelab.hw.ram import PhysMem
from pagelab.hw.tlbfill import ENABLED as FILL_ENABLED
from pagelab.hw.tlbfill import FALLBACK_CB, MISS, OUT_PADDR, OUT_PERMS, NativeTlbFill

SCAUSE_ILLEGAL_INSTRUCTION = exc.ILLEGAL_INSTRUCTION
SCAUSE_ECALL_U = 8

# mstatus.FS = dirty: lets the guest use the F and D extensions.
_MSTATUS_FS = 0x6000

SYSCALL_REGS = tuple(getattr(rc, f"UC_RISCV_REG_A{i}") for i in range(8))
REG = {f"x{i}": getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)}
XREG = [REG[f"x{i}"] for i in range(32)]
A0, A1, A2, A3, A4, A5, A7 = (getattr(rc, f"UC_RISCV_REG_A{i}") for i in (0, 1, 2, 3, 4, 5, 7))
SP = rc.UC_RISCV_REG_SP
PC = rc.UC_RISCV_REG_PC
FREG = [getattr(rc, f"UC_RISCV_REG_F{i}") for i in range(32)]
FCSR = rc.UC_RISCV_REG_FCSR


class Trap(NamedTuple):
    """A synchronous exception as the supervisor sees it.

    A page fault from the TLB-fill hook knows only the faulting page (`exact` False);
    Hart.stval() recovers the exact address from the instruction when someone needs it.
    A NamedTuple rather than a frozen dataclass: one is made for every page fault, and a
    tuple is made in half the time.
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
    elided: int = 0  # quantum ends the CPU went past (see Hart.run)
    quantum_start: int = 0  # `executed` at the last of them: where the current quantum began


FaultHandler = Callable[[Trap], bool]


# The C signature of the interrupt hook (unicorn.h: uc_cb_hookintr_t).
_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
# Called inside the interrupt hook on an ecall: None = not handled here (stop, Stop.ECALL);
# True = handled, the guest goes on in the same emu_start; False = handled, stop (HALT).
EcallHandler = Callable[[], bool | None]

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


def _batch(writes: list[tuple[int, int]]) -> tuple[Any, Any, Any]:
    """The three arrays of a uc_reg_write_batch call: register ids, values, and pointers
    to the values (which stay where they are, so the values can be changed in place)."""
    regs = (ctypes.c_int * len(writes))(*(r for r, _ in writes))
    vals = (ctypes.c_uint64 * len(writes))(*(v for _, v in writes))
    base = ctypes.addressof(vals)
    ptrs = (ctypes.c_void_p * len(writes))(*(base + 8 * i for i in range(len(writes))))
    return regs, vals, ptrs


@functools.cache
def _raw_lib() -> ctypes.CDLL:
    """The Unicorn library again (the same handle), with no argtypes on its functions."""
    return ctypes.CDLL(unicorn_lib._name)


class Hart:
    """One RISC-V hart in user mode. The kernel sets `root` (satp's page) and `on_fault`."""

    def __init__(self, ram: PhysMem) -> None:
        self.ram = ram
        mappings = executable_mappings()
        # Any: unicorn's bundled type hints lack the ctl_* methods used here.
        self.uc: Any = cast(Any, Uc(UC_ARCH_RISCV, UC_MODE_RISCV64))
        self.uc.mem_map_ptr(ram.base, ram.size, UC_PROT_ALL, ram.host_address())  # makes the code buffer
        self.uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        # No exit address: emulation stops only on emu_stop, the count, or an error.
        self.uc.ctl_exits_enabled(True)
        self.uc.ctl_set_exits([])
        self._root = 0
        self.on_fault: FaultHandler | None = None
        self.on_ecall: EcallHandler | None = None
        self._on_fill: Callable[[int], None] | None = None
        self._py_fills = 0
        self._pending: Trap | None = None
        self._stop = Stop.QUANTUM
        self._hook_error: BaseException | None = None
        # Decoded faulting instructions by pc, for stval(); cleared when code changes.
        self._insn_cache: dict[int, int] = {}
        # The native block counter first: blocks translated before it is registered
        # would never call it.
        self.code_buffer = code_buffer(mappings)  # where Unicorn puts translated code
        self.quanta = BlockCounter(self.uc, self.code_buffer)
        # One byte per frame: 1 if Unicorn may hold translated code from it, that is, if a
        # TLB entry with execute permission has mapped it since the last flush_code().
        self.code_frames = bytearray(ram.size >> 12)
        # True while the fault handler runs inside the TLB-fill hook, that is inside a
        # translated block (or the translation of one): translated code must not be
        # dropped then (see flush_code). A flush asked for meanwhile is deferred.
        self._in_fill: bool | int = False
        self._flush_pending: bool | int = False
        self.quantum_ends_passed = 0  # quantum ends the block hook went past (see run)
        self.code_flushes = 0  # translated code dropped: all of it, once per flush
        self.deferred_flushes = 0  # of those, asked for inside the fill hook
        # The two Python hooks are registered straight with the C library: the binding's
        # own wrappers (which build a Uc object and catch exceptions) cost as much as a
        # short system call. So each hook catches its own exceptions. The TLB-fill hook
        # sits behind a native one that serves the common walks (hw/tlbfill.py).
        self._hooks = (FALLBACK_CB(self._native_tlb_fill), _INTR_CB(self._native_intr))
        self.fill = NativeTlbFill(self.uc, ram, self.code_frames, self._hooks[0])
        self._fill_words = self.fill.words
        self._quanta_words = self.quanta.words
        h = ctypes.c_size_t()
        cbp = ctypes.cast(self._hooks[1], ctypes.c_void_p)
        if unicorn_lib.uc_hook_add(self.uc._uch, ctypes.byref(h), UC_HOOK_INTR, cbp, None, 1, 0) != 0:
            raise RuntimeError("uc_hook_add(UC_HOOK_INTR) failed")
        # The page-fault and system-call paths read registers all the time: call the C
        # library directly, through prototypes without argtypes. Every argument is passed
        # as a ready ctypes object, so no conversion runs per call: about 0.35 us a call,
        # against 0.6 us through the binding's prototypes and 1 us through reg_read.
        self._reg_value = ctypes.c_uint64()
        self._reg_out = ctypes.byref(self._reg_value)
        self._handle = ctypes.c_void_p(self.uc._uch.value)  # the engine's private handle
        lib = _raw_lib()
        self._uc_reg_read = lib.uc_reg_read
        self._uc_reg_write = lib.uc_reg_write
        self._uc_reg_read_batch = lib.uc_reg_read_batch
        self._wval = ctypes.c_uint64()
        self._wref = ctypes.byref(self._wval)
        self._uc_context_save = lib.uc_context_save
        self._uc_context_restore = lib.uc_context_restore
        self._uc_ctl = lib.uc_ctl
        self._uc_emu_start = lib.uc_emu_start
        self._uc_emu_stop = lib.uc_emu_stop
        self._start_pc = ctypes.c_uint64()
        self._start_ref = ctypes.byref(self._start_pc)
        self._zero64 = ctypes.c_uint64(0)
        self._zero_size = ctypes.c_size_t(0)
        # a0-a7 of the system call being served, read with one uc_reg_read_batch and kept
        # until a register may have changed (a write, a restore, the guest running).
        self._sys_regs = (ctypes.c_int * 8)(*SYSCALL_REGS)
        self._sys_vals = (ctypes.c_uint64 * 8)()
        base = ctypes.addressof(self._sys_vals)
        self._sys_ptrs = (ctypes.c_void_p * 8)(*(base + 8 * i for i in range(8)))
        self._args: list[int] | None = None
        self._uc_reg_write_batch = lib.uc_reg_write_batch
        self._fresh = _batch(
            [(XREG[i], 0) for i in range(1, 32)]
            + [(getattr(rc, f"UC_RISCV_REG_F{i}"), 0) for i in range(32)]
            + [(rc.UC_RISCV_REG_MSTATUS, _MSTATUS_FS), (rc.UC_RISCV_REG_PRIV, 0)]
            + [(PC, 0), (SP, 0), (A0, 0), (A1, 0)]
        )
        # uc_ctl's encoding: the control, its I/O direction in bits 30-31, no arguments.
        self._tlb_flush_ctl = UC_CTL_TLB_FLUSH | (UC_CTL_IO_WRITE << 30)

    def _read(self, regid: int) -> int:
        if self._uc_reg_read(self._handle, regid, self._reg_out) != 0:
            return int(self.uc.reg_read(regid))
        return self._reg_value.value

    def _write(self, regid: int, value: int) -> None:
        self._args = None
        self._wval.value = value & 0xFFFFFFFFFFFFFFFF
        if self._uc_reg_write(self._handle, regid, self._wref) != 0:
            self.uc.reg_write(regid, value & 0xFFFFFFFFFFFFFFFF)

    def syscall_args(self) -> list[int]:
        """a0..a7 (a7 is the call's number), as unsigned 64-bit values: one C call for
        all eight, kept until a register may change."""
        args = self._args
        if args is None:
            if self._uc_reg_read_batch(self._handle, self._sys_regs, self._sys_ptrs, 8) == 0:
                args = self._sys_vals[:]
            else:
                args = [self._read(r) for r in SYSCALL_REGS]
            self._args = args
        return args

    def _pc(self) -> int:
        return self._read(PC)

    # --- hooks -------------------------------------------------------------------

    def _native_tlb_fill(self, vaddr: int, access: int) -> bool:
        try:
            got = self._tlb_fill(vaddr, access)
        except BaseException as e:  # a kernel bug: re-raised from run()
            self._hook_error = e
            self._uc_emu_stop(self._handle)
            return False
        if got is None:
            return False
        # The native hook copies the answer into Unicorn's entry: cheaper than a ctypes
        # structure made over `entry` here.
        w = self._fill_words
        w[OUT_PADDR], w[OUT_PERMS] = got
        return True

    def _native_intr(self, _uc: int, intno: int, _ud: int) -> None:
        self._args = None  # the guest ran since the last look at its registers
        self._quanta_words[ELIDE_BELOW] = 0  # the kernel runs: no more quantum ends passed
        if intno == SCAUSE_ECALL_U and self.on_ecall is not None:
            # The system call runs right here, inside emu_start: a call that neither
            # blocks nor switches costs no stop and restart of the emulator. (The common
            # case, so it is tried before _intr and its own exception handler.)
            try:
                handled = self.on_ecall()
            except BaseException as e:  # a kernel bug: re-raised from run()
                self._hook_error = e
                handled = False
            if handled:
                return
            self._stop = Stop.ECALL if handled is None else Stop.HALT
            self._uc_emu_stop(self._handle)
            return
        try:
            self._intr(intno)
        except BaseException as e:  # a kernel bug: re-raised from run()
            self._hook_error = e
            self._uc_emu_stop(self._handle)

    @property
    def on_fill(self) -> Callable[[int], None] | None:
        """Called with the pa of every TLB fill (a replacement policy that wants every
        reference, LRU). While set, every fill takes the Python path."""
        return self._on_fill

    @on_fill.setter
    def on_fill(self, fn: Callable[[int], None] | None) -> None:
        self._on_fill = fn
        self.fill.enable(fn is None and self._stop != Stop.TRAP)

    @property
    def tlb_fills(self) -> int:
        """TLB fills so far, native and Python."""
        return self._py_fills + self.fill.fills

    def _trapped(self, trap: Trap) -> None:
        """An exception was raised: nothing more may run or fault in this emu_start, so
        every later fill must fail, which only the Python path knows to do."""
        self._pending = trap
        self._stop = Stop.TRAP
        self.fill.enable(False)

    def _tlb_fill(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """Translate vaddr for Unicorn's TLB: (paddr, UC_PROT_* perms), or None to fail."""
        self._py_fills += 1
        if self._stop == Stop.TRAP:
            # An exception was already raised (the CPU is on its way to a trap vector
            # that does not exist here): nothing more may run or fault.
            return None
        # The native hook walked first: if it met an invalid PTE, the walk fails anyway.
        got = None if self._fill_words[MISS] else walk(self.ram, self._root, vaddr, access)
        if got is None:
            # pc, read straight from the C library (this is every page fault's path).
            pc = self._reg_value.value if self._uc_reg_read(self._handle, PC, self._reg_out) == 0 else self._pc()
            if access == Access.FETCH and (vaddr ^ (pc - 4096)) & ~0xFFF & 0xFFFFFFFFFFFFFFFF == 0:
                # Unicorn translating an illegal instruction at the start of a block
                # probes the page before it. It is not a fetch the program made.
                self._trapped(Trap(SCAUSE_ILLEGAL_INSTRUCTION, 0, pc))
                return None
            # The walk failed: this is a page fault. Give the kernel a chance to fix the
            # page table, then walk again: "restart the instruction".
            trap = Trap(SCAUSE_FOR[access], vaddr, pc, False)
            handler = self.on_fault
            self._quanta_words[ELIDE_BELOW] = 0  # the kernel runs: no more quantum ends passed
            self._in_fill = access != Access.FETCH or 2  # 2: translating a block (see run)
            try:
                if handler is not None and handler(trap):
                    got = walk(self.ram, self._root, vaddr, access)
            except BaseException as e:  # a kernel bug: re-raised from run()
                self._hook_error = e
                self._uc_emu_stop(self._handle)
                return None
            finally:
                self._in_fill = False
            if got is None:
                self._trapped(trap)
                return None
        if got[1] & UC_PROT_EXEC:
            self.code_frames[(got[0] - self.ram.base) >> 12] = 1
        if self._on_fill is not None:
            self._on_fill(got[0])  # a replacement policy that wants every reference (LRU)
        return got

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

    def _insn_length(self, va: int) -> int | None:
        got = walk(self.ram, self._root, va, Access.FETCH)
        if got is None:
            return None
        return 4 if self.ram.read(got[0] + (va & 0xFFF), 1)[0] & 3 == 3 else 2

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

    def _intr(self, intno: int) -> None:
        """Any interrupt but an ecall that on_ecall serves (_native_intr does those)."""
        if intno == SCAUSE_ECALL_U:
            self._stop = Stop.ECALL
        else:
            # Unicorn leaves pc 4 past the faulting instruction whatever its length.
            self._trapped(Trap(intno, 0, self._pc() - 4))
        self._uc_emu_stop(self._handle)

    # --- running -------------------------------------------------------------------

    def run(self, count: int, elide_below: int = 0, quantum: int = 0) -> RunResult:
        """Run from the current pc until a trap, or until `count` instructions have run.

        The quantum ends at the first block boundary at or past `count` (the block hook
        stops there), so it may run a few instructions more: exactly as many each time.

        With `elide_below`, the caller says that a quantum end met before that many
        instructions would change nothing but the budget: the block hook then starts the
        next quantum (`quantum` instructions) at that boundary and goes on, with no stop.
        Only while no Python hook has run: the kernel may have changed anything there.
        """
        self._stop = Stop.QUANTUM
        self._pending = None
        self._args = None
        # This runs once per quantum: the fill hook's switch is set with a plain store, the
        # pc read straight into emu_start's argument.
        self._fill_words[FILL_ENABLED] = 0 if self._on_fill is not None else 1
        self.quanta.arm(count, elide_below, quantum)
        q = self._quanta_words
        if self._uc_reg_read(self._handle, PC, self._start_ref) != 0:
            self._start_pc.value = int(self.uc.reg_read(PC))
        z = self._zero64
        while True:
            # Straight to the C library: no exit address, no timeout, no count.
            err = self._uc_emu_start(self._handle, self._start_pc, z, z, self._zero_size)
            deferred = self._flush_pending
            if not deferred:
                break
            # The fault handler asked for a code flush inside the fill hook and stopped the
            # CPU: flush here, with no block running, then go on with the same quantum.
            # A load or store fill (deferred is True) stops at that instruction, which
            # has not run and is restarted, inside a block already counted whole: count
            # it up to there, as after a trap. A fetch fill (2) came from translating a
            # block, which stops before it runs and before it is counted.
            if deferred is True:
                self.quanta.trapped_at(self._pc(), self._insn_length)
            self.flush_code()
            if err or self._stop != Stop.QUANTUM or self._pending or self._hook_error or q[EXECUTED] >= q[BUDGET]:
                break
            self._start_pc.value = self._pc()
        if err != 0 and self._hook_error is None and self._pending is None:
            # No Unicorn error escapes the hart: whatever the guest did is a trap of its own.
            self._pending = self._error_trap(err)
            self._stop = Stop.TRAP
        if self._hook_error is not None:
            err, self._hook_error = self._hook_error, None
            raise err
        trap = self._pending
        if trap is not None:
            self.quanta.trapped_at(trap.sepc, self._insn_length)
        executed = q[EXECUTED]
        elided = q[ELIDED]
        self.quantum_ends_passed += elided
        start = q[QUANTUM_START] if elided else 0
        if trap is not None:
            if trap.scause in _MEMORY_CAUSES and trap.stval == 0:
                trap = self._memory_trap(trap)
            return RunResult(Stop.TRAP, executed, trap, elided, start)
        return RunResult(self._stop, executed, None, elided, start)

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

    @property
    def root(self) -> int:
        """The page-table root in use: satp's PPN, as a physical address."""
        return self._root

    @root.setter
    def root(self, pa: int) -> None:
        if pa != self._root:
            # Another address space: other code at those pcs.
            self._insn_cache.clear()
            self.quanta.forget()
        self._root = pa
        self.fill.set_root(pa)

    def switch_mm(self, pa: int) -> None:
        """Run in the address space whose root is pa: satp's write plus sfence.vma. With
        no ASIDs, another address space means a full TLB flush (block lengths go too)."""
        if pa != self._root:
            self._insn_cache.clear()
            self._root = pa
            self.fill.set_root(pa)
        self.flush_tlb()

    @property
    def exact_count(self) -> bool:
        """True while every block's instructions were counted from its decoded code."""
        return self.quanta.exact

    # --- state -----------------------------------------------------------------------

    def reg(self, r: int) -> int:
        return self._read(r)

    def set_reg(self, r: int, value: int) -> None:
        self._write(r, value)

    def user_regs(self) -> list[int]:
        """pc, then x1..x31: the order of Linux's user_regs_struct (a signal frame)."""
        return [self._read(PC)] + [self._read(r) for r in XREG[1:]]

    def set_user_regs(self, regs: list[int]) -> None:
        self._write(PC, regs[0])
        for r, v in zip(XREG[1:], regs[1:], strict=True):
            self._write(r, v)

    def fp_regs(self) -> tuple[list[int], int]:
        """f0..f31 (raw 64-bit) and fcsr."""
        return [self._read(r) for r in FREG], self._read(FCSR)

    def set_fp_regs(self, fregs: list[int], fcsr: int) -> None:
        for r, v in zip(FREG, fregs, strict=True):
            self._write(r, v)
        self._write(FCSR, fcsr)

    def fresh_context(self, pc: int, sp: int, a0: int, a1: int) -> None:
        """The registers of a new user image (exec): all zero but these. One
        uc_reg_write_batch call for all 68 writes, in order (the last four win)."""
        self._args = None
        regs, vals, ptrs = self._fresh
        n = len(regs)
        vals[n - 4], vals[n - 3], vals[n - 2], vals[n - 1] = pc, sp, a0, a1
        if self._uc_reg_write_batch(self._handle, regs, ptrs, n) != 0:
            for r, v in zip(regs, vals, strict=True):
                self.uc.reg_write(r, v)

    def save(self, into: Any = None) -> Any:
        """The registers, as a Unicorn context: saved into `into` if given (a context
        from an earlier save), which avoids allocating one, about 8 of the 9 us."""
        if into is None:
            return self.uc.context_save()
        if self._uc_context_save(self._handle, into.context) != 0:
            return self.uc.context_save()
        return into

    def restore(self, ctx: Any) -> None:
        self._args = None
        if self._uc_context_restore(self._handle, ctx.context) != 0:
            self.uc.context_restore(ctx)

    # --- the TLB and the translated-code cache ----------------------------------------

    def flush_tlb(self, remapped: bool = True) -> None:
        """sfence.vma: drop every cached translation.

        A mapping may have changed, so the block counter forgets its block lengths too
        (a generation bump: one store). A flush after clearing only A bits (idle page
        tracking: every mapping stays) passes remapped=False and keeps them, else every
        block would be decoded again after each sampling period."""
        if self._uc_ctl(self._handle, self._tlb_flush_ctl) != 0:
            self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        if remapped:
            self.quanta.forget()

    def flush_code(self) -> None:
        """Forget all translated code: needed when a frame that will run gets new bytes.
        The TLB goes too, so that every later fetch fills again and marks its frame.
        Also forgets the decoded block lengths and instructions that go with it.

        Inside the TLB-fill hook a translated block is running (or being translated), and
        dropping it under the CPU's feet frees the block the CPU returns into (the cause
        of a host segfault once, cfc9ad4): QEMU then chains the next block from the freed
        one. So there the flush is only recorded and the CPU asked to stop; run() flushes
        once emu_start has returned, before the guest goes on. No stale instruction runs
        in between: a stop asked for in a load or store fill abandons that instruction (pc
        stays on it; it runs again after the flush), and one asked for while a block is
        translated (a fetch fill) takes effect before that block runs, since QEMU checks
        the exit request at the start of every translated block, chained ones too. The
        interrupt hook (ecall) runs between blocks, from QEMU's exception path, which
        looks up the next block without chaining it from the last: a flush there is
        safe and is done at once."""
        if self._in_fill:
            if not self._flush_pending:
                self._flush_pending = self._in_fill
                self.deferred_flushes += 1
                self._uc_emu_stop(self._handle)
            return
        self._flush_pending = False
        self.code_flushes += 1
        self.uc.ctl_flush_tb()
        self._insn_cache.clear()
        self.quanta.forget()
        self.flush_tlb()
        self.code_frames[:] = bytes(len(self.code_frames))

    def flush_code_range(self, va: int, va_end: int) -> None:
        """Forget the translated code of guest-virtual [va, va_end) in the current address
        space (which must map it): cheaper than flush_code for a page or two. Inside the
        fill hook, a full flush is deferred instead (see flush_code)."""
        if self._in_fill:
            self.flush_code()
            return
        self.uc.ctl_remove_cache(va, va_end)
        self._insn_cache.clear()
        self.quanta.forget()

    def code_written(self, pa: int) -> None:
        """The kernel is writing new bytes into frame pa through the host buffer, which
        Unicorn does not see. If code was translated from that frame, drop it."""
        if self.code_frames[(pa - self.ram.base) >> 12]:
            self.flush_code()

    def close(self) -> None:
        """Free the engine now (its 1 GiB code buffer, its TLB), not whenever the cyclic
        collector gets to it: the next engine then reuses the buffer's address, and the
        block hook's page beside it. The hart must not be used after this."""
        self.uc.emu_stop()
        # The binding's own finalizer calls uc_close, once (never again at collection).
        release = getattr(self.uc, "_Uc__finalizer", None)
        if release is not None:
            release()
