"""The TLB-fill fast path: the common Sv39 walk in native code, the rest in Python.

Unicorn calls the TLB-fill hook on every TLB miss, and misses are frequent: after each
context switch (no ASIDs, so a full flush) every page a process touches misses once, and
after each harvest of the A bits (idle page tracking, kernel/mm/page_idle.py, or a policy
clearing them) every page used again misses once and needs A set again. Most of those
walks find a valid 4 KiB leaf that allows the access. This hook, about 160 lines of LLVM IR
compiled like the block hook (hw/native.py), does exactly that walk and fills the TLB entry:

- levels 2 and 1 must be pointer PTEs (V set; R, W, X clear; no bits above the PPN);
- the level-0 leaf must have V and U set, the permission for the access (R for a load,
  W for a store, X for a fetch), and not the reserved W-without-R;
- its frame must lie inside RAM.

Then it sets A in the leaf, and D on a store, as hw/mmu.py's walker does (the PTE is
written only if a bit was clear), and the entry gets the frame and the permissions that
the walker would give (read, exec, and write only when D is set). A leaf with X also
marks its frame in `Hart.code_frames`, as the Python path does. Anything else (a fault, a
superpage, a bad PTE, a fill after a trap, or a replacement policy that watches every
fill) goes to the Python hook unchanged.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from unicorn import UC_HOOK_TLB_FILL

from pagelab.hw.native import add_hook, fn_address, native_function
from pagelab.hw.ram import PhysMem

# Layout of the user-data array (uint64 words).
ENABLED = 0  # 0: every fill goes to Python
ROOT = 1  # word index in RAM of the root page table; >= NWORDS when there is none
WORDS = 2  # host address of RAM
NWORDS = 3  # RAM size in 64-bit words
RAM_BASE = 4  # guest-physical address of RAM
RAM_SIZE = 5  # bytes of RAM
FALLBACK = 6  # the Python hook: bool (uint64 va, int access)
FILLS = 7  # fills served here
CODE_FRAMES = 8  # host address of Hart.code_frames (one byte per frame)
MISS = 9  # set before calling Python: 1 if the walk met an invalid PTE (a page fault)
OUT_PADDR = 10  # what the Python hook fills the entry with when it returns True
OUT_PERMS = 11
UD_WORDS = 12
NO_ROOT = 1 << 62

_V, _R, _W, _X, _U, _A, _D = 1, 2, 4, 8, 16, 64, 128


# The hook's C signature (unicorn.h: uc_cb_tlbevent_t), and the Python hook's, which is
# given only what it uses: fewer arguments for ctypes to convert on every call.
TLB_FILL_CB = ctypes.CFUNCTYPE(
    ctypes.c_bool, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p
)
FALLBACK_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_uint64, ctypes.c_int)


class TlbEntry(ctypes.Structure):
    """Unicorn's uc_tlb_entry, which a fill hook fills in: the hook below stores paddr at
    offset 0 and perms (UC_PROT_*) at offset 8."""

    _fields_ = (("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32))


def _pointer_level(n: int) -> str:
    """The IR of Sv39 level n (2 or 1), whose PTE must point to the next table, then that
    table's word index in RAM. A Python template, not an IR function: the hook is cut out
    as one function, with no calls."""
    m = n - 1
    return f"""l{n}:                                         ; level {n}: must point to a level-{m} table
  %pte{n}.p = getelementptr i64, ptr %words, i64 %i{n}
  %pte{n} = load i64, ptr %pte{n}.p
  %v{n} = and i64 %pte{n}, {_V}
  %inv{n} = icmp eq i64 %v{n}, 0
  br i1 %inv{n}, label %miss, label %l{n}.check

l{n}.check:
  %flags{n} = and i64 %pte{n}, {_V | _R | _W | _X}
  %ptr{n} = icmp eq i64 %flags{n}, {_V}
  %high{n} = lshr i64 %pte{n}, 54
  %clean{n} = icmp eq i64 %high{n}, 0
  %ok{n} = and i1 %ptr{n}, %clean{n}
  br i1 %ok{n}, label %l{m}.index, label %slow

l{m}.index:                                   ; the level-{m} table's word index in RAM
  %ppn{n} = lshr i64 %pte{n}, 10
  %pa{n} = shl i64 %ppn{n}, 12
  %off{n} = sub i64 %pa{n}, %base
  %t{m} = lshr i64 %off{n}, 3
  %vpn{m} = lshr i64 %va, {12 + 9 * m}
  %i{m}.o = and i64 %vpn{m}, 511
  %i{m} = add i64 %t{m}, %i{m}.o
  %in{m} = icmp ult i64 %i{m}, %nwords
  br i1 %in{m}, label %l{m}, label %slow

"""


_IR = f"""
define zeroext i1 @tlb_fill(ptr %uc, i64 %va, i32 %access, ptr %slot, ptr %ud) {{
entry:
  %miss.p = getelementptr i64, ptr %ud, i64 {MISS}
  store i64 0, ptr %miss.p
  %enabled = load i64, ptr %ud
  %hi = lshr i64 %va, 38
  %user = icmp eq i64 %hi, 0
  %on = icmp ne i64 %enabled, 0
  %go = and i1 %on, %user
  br i1 %go, label %setup, label %slow

setup:
  %root.p = getelementptr i64, ptr %ud, i64 {ROOT}
  %root = load i64, ptr %root.p
  %words.p = getelementptr i64, ptr %ud, i64 {WORDS}
  %words = load ptr, ptr %words.p
  %nwords.p = getelementptr i64, ptr %ud, i64 {NWORDS}
  %nwords = load i64, ptr %nwords.p
  %base.p = getelementptr i64, ptr %ud, i64 {RAM_BASE}
  %base = load i64, ptr %base.p
  %vpn2 = lshr i64 %va, 30
  %i2.o = and i64 %vpn2, 511
  %i2 = add i64 %root, %i2.o
  %in2 = icmp ult i64 %i2, %nwords
  br i1 %in2, label %l2, label %slow

{_pointer_level(2)}{_pointer_level(1)}l0:                                         ; the leaf: V, U, A and the access's bits
  %pte0.p = getelementptr i64, ptr %words, i64 %i0
  %pte0 = load i64, ptr %pte0.p
  %v0 = and i64 %pte0, {_V}
  %inv0 = icmp eq i64 %v0, 0
  br i1 %inv0, label %miss, label %l0.check

l0.check:
  %high0 = lshr i64 %pte0, 54
  %clean0 = icmp eq i64 %high0, 0
  %rw = and i64 %pte0, {_R | _W}
  %w.only = icmp eq i64 %rw, {_W}
  %r.ok = xor i1 %w.only, true
  %is.read = icmp eq i32 %access, 16
  %is.write = icmp eq i32 %access, 17
  %is.fetch = icmp eq i32 %access, 18
  %need.r = select i1 %is.read, i64 {_V | _U | _R}, i64 0
  %need.w = select i1 %is.write, i64 {_V | _U | _W}, i64 %need.r
  %need = select i1 %is.fetch, i64 {_V | _U | _X}, i64 %need.w
  %known = icmp ne i64 %need, 0
  %have = and i64 %pte0, %need
  %allowed = icmp eq i64 %have, %need
  %c1 = and i1 %clean0, %r.ok
  %c2 = and i1 %known, %allowed
  %c3 = and i1 %c1, %c2
  br i1 %c3, label %frame, label %slow

frame:                                      ; the frame must lie inside RAM
  %ppn0 = lshr i64 %pte0, 10
  %pa = shl i64 %ppn0, 12
  %off = sub i64 %pa, %base
  %size.p = getelementptr i64, ptr %ud, i64 {RAM_SIZE}
  %size = load i64, ptr %size.p
  %inram = icmp ult i64 %off, %size
  br i1 %inram, label %young, label %slow

young:                                      ; set A, and D on a store, as the walker does
  %set = select i1 %is.write, i64 {_A | _D}, i64 {_A}
  %new = or i64 %pte0, %set
  %same = icmp eq i64 %new, %pte0
  br i1 %same, label %fill, label %update

update:
  store i64 %new, ptr %pte0.p
  br label %fill

fill:                                       ; perms: R -> 1, X -> 4, W and D -> 2
  %sh1 = lshr i64 %new, 1
  %rx = and i64 %sh1, 5
  %sh6 = lshr i64 %new, 6
  %wd = and i64 %sh1, %sh6
  %w = and i64 %wd, 2
  %prot64 = or i64 %rx, %w
  %prot = trunc i64 %prot64 to i32
  store i64 %pa, ptr %slot
  %perms.p = getelementptr i8, ptr %slot, i64 8
  store i32 %prot, ptr %perms.p
  %fills.p = getelementptr i64, ptr %ud, i64 {FILLS}
  %fills = load i64, ptr %fills.p
  %fills1 = add i64 %fills, 1
  store i64 %fills1, ptr %fills.p
  %x = and i64 %pte0, {_X}
  %is.x = icmp ne i64 %x, 0
  br i1 %is.x, label %mark, label %done

mark:                                       ; Unicorn may now translate code from it
  %codes.p = getelementptr i64, ptr %ud, i64 {CODE_FRAMES}
  %codes = load ptr, ptr %codes.p
  %pfn = lshr i64 %off, 12
  %mark.p = getelementptr i8, ptr %codes, i64 %pfn
  store i8 1, ptr %mark.p
  br label %done

done:
  ret i1 true

miss:                                       ; a page fault: Python need not walk again
  store i64 1, ptr %miss.p
  br label %slow

slow:                                       ; everything else: the Python hook, which
  %fb.p = getelementptr i64, ptr %ud, i64 {FALLBACK}   ; leaves its answer in OUT_*
  %fb = load ptr, ptr %fb.p
  %r = call zeroext i1 %fb(i64 %va, i32 %access)
  br i1 %r, label %copy, label %fail

copy:
  %out.pa.p = getelementptr i64, ptr %ud, i64 {OUT_PADDR}
  %out.pa = load i64, ptr %out.pa.p
  %out.perms.p = getelementptr i64, ptr %ud, i64 {OUT_PERMS}
  %out.perms64 = load i64, ptr %out.perms.p
  %out.perms = trunc i64 %out.perms64 to i32
  store i64 %out.pa, ptr %slot
  %slot.perms.p = getelementptr i8, ptr %slot, i64 8
  store i32 %out.perms, ptr %slot.perms.p
  ret i1 true

fail:
  ret i1 false
}}
"""


class NativeTlbFill:
    """The native fill hook of one engine, in front of a Python hook `fallback` (a
    FALLBACK_CB, kept alive by the caller). The Python hook answers a fill by storing
    the frame and permissions in OUT_PADDR and OUT_PERMS and returning True."""

    def __init__(self, uc: Any, ram: PhysMem, code_frames: bytearray, fallback: Any) -> None:
        self.ud = np.zeros(UD_WORDS, dtype=np.uint64)
        self.words = self.ud.data.cast("B").cast("Q")
        w = self.words
        w[WORDS] = ram.host_address()
        w[NWORDS] = ram.size >> 3
        w[RAM_BASE] = ram.base
        w[RAM_SIZE] = ram.size
        w[FALLBACK] = fn_address(fallback)
        # A bytearray's buffer does not move while it is exported, and this export lives
        # as long as the hook: code_frames can be rewritten in place, never resized.
        self._codes = (ctypes.c_char * len(code_frames)).from_buffer(code_frames)
        w[CODE_FRAMES] = ctypes.addressof(self._codes)
        w[ROOT] = NO_ROOT
        self._base = ram.base
        self.hook = add_hook(uc, UC_HOOK_TLB_FILL, native_function(_IR, "tlb_fill", "tlbfill"), self.ud)

    def set_root(self, root: int) -> None:
        self.words[ROOT] = (root - self._base) >> 3 if root >= self._base else NO_ROOT

    def enable(self, on: bool) -> None:
        self.words[ENABLED] = int(on)

    @property
    def fills(self) -> int:
        return self.words[FILLS]
