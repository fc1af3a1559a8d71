"""Deterministic instruction quanta at near full speed: a native UC_HOOK_BLOCK counter.

`emu_start(count=N)` makes Unicorn call a helper after *every* instruction (0.1x speed).
Instead, a block hook written in LLVM IR runs once per translated block:
- the block is about to run and `executed >= budget`: call uc_emu_stop. Emulation stops
  *before* the block, pc at its start, and the block is not counted (the hook fires again
  when it resumes);
- otherwise add the block's instruction count to `executed`.

Unicorn gives a block's size in bytes, and RVC instructions are 2 bytes, so the count comes
from decoding the block once: the low two bits of each 16-bit parcel say whether it starts a
4-byte (0b11) or a 2-byte instruction. Code is read with uc_vmem_read (a *virtual* address:
uc_mem_read would take a physical one under UC_TLB_VIRTUAL). Counts are cached per block
start address and size in a direct-mapped table inside the same numpy array. A table
entry's key carries a generation number, so forgetting every entry is one store: bump the
generation. The hart forgets on every TLB flush (a mapping may have changed: another
address space, munmap, exec) and every code flush (a frame's code was rewritten).

A quantum end costs a stop and a restart of the CPU (5-9 us). When the scheduler would
only pick the same process again, the kernel says so (`elide_below`, see
Machine._elide_below) and the hook starts the next quantum at that block boundary
instead: the same boundaries, the same counts, no stop.

The hook is two functions. `block_hook` runs before every block: compare, look up, add.
On a table miss it jumps to `block_decode` (its address is in the user data), so the hot
path saves and restores no registers: 9 x86-64 instructions on a hit, against 25 when
the decode loop was in the same function.

Why llvmlite rather than numba: the two functions are about 100 lines of IR, IR measured
faster (0.45-0.64 of raw Unicorn against 0.35-0.43 for a numba cfunc), and with the C
functions passed as pointers in the user-data array the code has no relocations: its
machine code (about 260 bytes) is cached as plain bytes and later copied into an
executable page, with no LLVM at all (hw/native.py). Cold start, nothing cached: about
0.3 s (importing llvmlite and compiling); from the cache: under 1 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from unicorn import UC_HOOK_BLOCK
from unicorn.unicorn_py3.unicorn import uclib

from pagelab.hw.native import add_hook, fn_address, native_function, near_code

# Layout of the user-data array (uint64 words).
EXECUTED = 0  # instructions counted since arm()
BUDGET = 1  # stop before the first block that starts at or past this count
EMU_STOP = 2  # &uc_emu_stop
VMEM_READ = 3  # &uc_vmem_read
GEN = 4  # current generation, shifted left by GEN_SHIFT
MASK = 5  # table slots - 1
DECODES = 6  # blocks decoded (table misses)
DECODE_FAILS = 7  # blocks whose code could not be read: counted as size/4 (not exact)
LAST_BLOCK = 8  # start address of the block that ran last
BEFORE_LAST = 9  # `executed` before that block
DECODE_FN = 10  # &block_decode: a miss in the table
# Quantum ends the scheduler would only pass through (see arm): the hook goes on.
ELIDE_BELOW = 11  # go on past a quantum end met before this count; 0 = always stop
QUANTUM = 12  # the length of the next quantum, when going on
ELIDED = 13  # quantum ends gone past since arm()
QUANTUM_START = 14  # `executed` at the last of them
SCRATCH = 15  # SCRATCH_WORDS words where a block's code is read
SCRATCH_WORDS = 1024  # 8 KiB: a Unicorn block is at most 512 instructions
TABLE = SCRATCH + SCRATCH_WORDS  # SLOTS pairs (key, count)
SLOTS = 1 << 14
# A key is (addr + 1) | size << SIZE_SHIFT | generation << GEN_SHIFT: user virtual
# addresses are below 2**39, a block is under 2**14 bytes, and 10 bits of generation wrap
# after 1023 forgets, when the table is cleared for real.
SIZE_SHIFT = 40
GEN_SHIFT = 54
UC_PROT_EXEC = 4

# A block's table key, (addr + 1) | size | generation, and the address of its slot's key
# word (%key.p, word %kidx): the same IR in block_hook and block_decode.
_KEY = f"""  %gen.p = getelementptr i64, ptr %ud, i64 {GEN}
  %gen = load i64, ptr %gen.p
  %addr1 = add i64 %addr, 1
  %size64 = zext i32 %size to i64
  %size.s = shl i64 %size64, {SIZE_SHIFT}
  %key.a = or i64 %addr1, %size.s
  %key = or i64 %key.a, %gen
  %mask.p = getelementptr i64, ptr %ud, i64 {MASK}
  %mask = load i64, ptr %mask.p
  %half = lshr i64 %addr, 1
  %slot = and i64 %half, %mask
  %slot2 = shl i64 %slot, 1
  %kidx = add i64 %slot2, {TABLE}
  %key.p = getelementptr i64, ptr %ud, i64 %kidx
"""

_IR = f"""
define void @block_hook(ptr %uc, i64 %addr, i32 %size, ptr %ud) {{
entry:
  %executed = load i64, ptr %ud
  %budget.p = getelementptr i64, ptr %ud, i64 {BUDGET}
  %budget = load i64, ptr %budget.p
  %over = icmp uge i64 %executed, %budget
  br i1 %over, label %over.q, label %lookup

over.q:                                     ; quantum over: may the next one start here?
  %below.p = getelementptr i64, ptr %ud, i64 {ELIDE_BELOW}
  %below = load i64, ptr %below.p
  %goes.on = icmp ult i64 %executed, %below
  br i1 %goes.on, label %next.q, label %stop

next.q:                                     ; yes: a new budget, no stop, count the block
  %len.p = getelementptr i64, ptr %ud, i64 {QUANTUM}
  %len = load i64, ptr %len.p
  %next.budget = add i64 %executed, %len
  store i64 %next.budget, ptr %budget.p
  %start.p = getelementptr i64, ptr %ud, i64 {QUANTUM_START}
  store i64 %executed, ptr %start.p
  %elided.p = getelementptr i64, ptr %ud, i64 {ELIDED}
  %elided = load i64, ptr %elided.p
  %elided1 = add i64 %elided, 1
  store i64 %elided1, ptr %elided.p
  br label %lookup

stop:                                       ; no: stop before this block
  %stop.pp = getelementptr i64, ptr %ud, i64 {EMU_STOP}
  %stop.fn = load ptr, ptr %stop.pp
  %ignored = tail call i32 %stop.fn(ptr %uc)
  ret void

lookup:                                     ; key = (addr + 1) | size | generation
  %last.p = getelementptr i64, ptr %ud, i64 {LAST_BLOCK}
  store i64 %addr, ptr %last.p
  %before.p = getelementptr i64, ptr %ud, i64 {BEFORE_LAST}
  store i64 %executed, ptr %before.p
{_KEY}  %cached = load i64, ptr %key.p
  %hit = icmp eq i64 %cached, %key
  br i1 %hit, label %add.hit, label %miss

add.hit:
  %cidx = add i64 %kidx, 1
  %count.p = getelementptr i64, ptr %ud, i64 %cidx
  %n.hit = load i64, ptr %count.p
  %sum.hit = add i64 %executed, %n.hit
  store i64 %sum.hit, ptr %ud
  ret void

miss:                                       ; first time: block_decode, a function of its
  %dec.pp = getelementptr i64, ptr %ud, i64 {DECODE_FN}   ; own, so that this hot path
  %dec.fn = load ptr, ptr %dec.pp                         ; saves no registers
  tail call void %dec.fn(ptr %uc, i64 %addr, i32 %size, ptr %ud)
  ret void
}}

define void @block_decode(ptr %uc, i64 %addr, i32 %size, ptr %ud) {{
entry:                                      ; the same key and slot as block_hook's
  %executed = load i64, ptr %ud
{_KEY}  %cidx = add i64 %kidx, 1
  %count.p = getelementptr i64, ptr %ud, i64 %cidx
  %dec.p = getelementptr i64, ptr %ud, i64 {DECODES}
  %dec = load i64, ptr %dec.p
  %dec1 = add i64 %dec, 1
  store i64 %dec1, ptr %dec.p
  %buf = getelementptr i64, ptr %ud, i64 {SCRATCH}
  %fits = icmp ule i64 %size64, {SCRATCH_WORDS * 8}
  br i1 %fits, label %read, label %fail

read:
  %read.pp = getelementptr i64, ptr %ud, i64 {VMEM_READ}
  %read.fn = load ptr, ptr %read.pp
  %err = call i32 %read.fn(ptr %uc, i64 %addr, i32 {UC_PROT_EXEC}, ptr %buf, i64 %size64)
  %ok = icmp eq i32 %err, 0
  br i1 %ok, label %loop, label %fail

fail:                                       ; unreadable: assume 4-byte instructions
  %fails.p = getelementptr i64, ptr %ud, i64 {DECODE_FAILS}
  %fails = load i64, ptr %fails.p
  %fails1 = add i64 %fails, 1
  store i64 %fails1, ptr %fails.p
  %guess = lshr i64 %size64, 2
  br label %done

loop:                                       ; one 16-bit parcel starts each instruction
  %off = phi i64 [ 0, %read ], [ %next, %step ]
  %n = phi i64 [ 0, %read ], [ %n1, %step ]
  %more = icmp ult i64 %off, %size64
  br i1 %more, label %step, label %done

step:
  %parcel.p = getelementptr i8, ptr %buf, i64 %off
  %parcel = load i8, ptr %parcel.p
  %low = and i8 %parcel, 3
  %wide = icmp eq i8 %low, 3
  %len = select i1 %wide, i64 4, i64 2
  %next = add i64 %off, %len
  %n1 = add i64 %n, 1
  br label %loop

done:
  %count = phi i64 [ %n, %loop ], [ %guess, %fail ]
  store i64 %key, ptr %key.p
  store i64 %count, ptr %count.p
  %sum = add i64 %executed, %count
  store i64 %sum, ptr %ud
  ret void
}}
"""


class BlockCounter:
    """The native instruction counter of one Unicorn engine."""

    def __init__(self, uc: Any, code_buffer: tuple[int, int] | None = None) -> None:
        self.ud = np.zeros(TABLE + 2 * SLOTS, dtype=np.uint64)
        self.ud[EMU_STOP] = fn_address(uclib.uc_emu_stop)
        self.ud[VMEM_READ] = fn_address(uclib.uc_vmem_read)
        self.ud[MASK] = SLOTS - 1
        self._gen = 1
        self.ud[GEN] = self._gen << GEN_SHIFT
        # The same words as Python ints, for the per-quantum reads and writes: indexing a
        # memoryview costs a fraction of indexing the numpy array.
        self.words = self.ud.data.cast("B").cast("Q")
        self.ud[DECODE_FN] = native_function(_IR, "block_decode", "blockdecode")
        # Every block calls the hook: put it beside the engine's code buffer, where a
        # direct call reaches it (hw/native.py).
        self.hook_address = near_code(_IR, "block_hook", "blockhook", code_buffer)
        self.hook = add_hook(uc, UC_HOOK_BLOCK, self.hook_address, self.ud)

    def arm(self, budget: int, elide_below: int = 0, quantum: int = 0) -> None:
        """Start a quantum of `budget` instructions. With `elide_below`, a quantum that
        ends before that many instructions does not stop: the next one, of `quantum`
        instructions, starts at the same block boundary, just as if the CPU had stopped
        there and been started again."""
        w = self.words
        w[EXECUTED] = 0
        w[BUDGET] = budget
        w[ELIDE_BELOW] = elide_below if quantum > 0 else 0
        w[QUANTUM] = quantum
        w[ELIDED] = 0
        w[QUANTUM_START] = 0

    @property
    def executed(self) -> int:
        return self.words[EXECUTED]

    def trapped_at(self, pc: int, length_at: Callable[[int], int | None]) -> None:
        """A trap at pc ended the last block early: count only up to pc, not the whole
        block, so that `executed` stays exact. `length_at(va)` is the length (2 or 4) of
        the instruction at va, or None if it cannot be read."""
        ud = self.ud
        va, n = int(ud[LAST_BLOCK]), int(ud[BEFORE_LAST])
        if not va <= pc < va + SCRATCH_WORDS * 8:
            return  # the trap is not inside the last block: leave the count
        while va < pc:
            length = length_at(va)
            if length is None:
                return
            va += length
            n += 1
        if va == pc:
            ud[EXECUTED] = n

    @property
    def exact(self) -> bool:
        """False once any block had to be guessed (its code could not be read)."""
        return int(self.ud[DECODE_FAILS]) == 0

    @property
    def decodes(self) -> int:
        return int(self.ud[DECODES])

    def forget(self) -> None:
        """Drop every cached block length: other code may now sit at those addresses."""
        self._gen += 1
        if self._gen >= 1 << (64 - GEN_SHIFT):  # wrapped: clear for real
            self.ud[TABLE:] = 0
            self._gen = 1
        self.words[GEN] = self._gen << GEN_SHIFT
