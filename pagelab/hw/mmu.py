"""The Sv39 page-table walker: what the hardware does on a TLB miss."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum

from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import (
    PGSHIFT,
    PTE_A,
    PTE_D,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    SCAUSE_INST_PAGE_FAULT,
    SCAUSE_LOAD_PAGE_FAULT,
    SCAUSE_STORE_PAGE_FAULT,
    pte2pa,
)

# Unicorn's UC_PROT_* values, repeated here so the walker can be tested without a CPU.
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4


class Access(IntEnum):
    """Access kinds, numbered as Unicorn's TLB-fill hook reports them."""

    READ = 16
    WRITE = 17
    FETCH = 18


# Keyed by plain int too: the fill hook hands over Unicorn's number, not an Access.
SCAUSE_FOR: dict[int, int] = {
    Access.READ: SCAUSE_LOAD_PAGE_FAULT,
    Access.WRITE: SCAUSE_STORE_PAGE_FAULT,
    Access.FETCH: SCAUSE_INST_PAGE_FAULT,
}


def walk(ram: PhysMem, root: int, va: int, access: int) -> tuple[int, int] | None:
    """Translate a user-mode access. Returns (pa of the page, UC prot bits) or None for a fault.

    Sets A on every successful walk and D on a store. Write permission is given to the
    TLB only on a store or when D is already set, so the first store to a clean page
    comes back here and D is set exactly when the page is first written.
    """
    if root == 0 or va >> 38 != 0:
        # Sv39 requires bits 63..39 to equal bit 38; user addresses keep bit 38 clear.
        return None
    # This runs on every TLB miss, so it indexes RAM's 64-bit words directly.
    words = ram.words
    base = ram.base
    a = root
    for level in (2, 1, 0):
        i = ((a - base) >> 3) + ((va >> (PGSHIFT + 9 * level)) & 0x1FF)
        if not 0 <= i < len(words):
            return None
        pte = words[i]
        if not pte & PTE_V or (pte & PTE_W and not pte & PTE_R):
            return None  # invalid, or the reserved W-without-R encoding
        if pte & (PTE_R | PTE_X):
            return _leaf(ram, i, pte, level, va, access)
        a = (pte >> 10) << 12
    return None  # a pointer PTE at level 0 is a fault


def _leaf(ram: PhysMem, i: int, pte: int, level: int, va: int, access: int) -> tuple[int, int] | None:
    if not pte & PTE_U:
        return None  # user code may not touch supervisor pages (e.g. the stack guard)
    if access == Access.READ and not pte & PTE_R:
        return None
    if access == Access.WRITE and not pte & PTE_W:
        return None
    if access == Access.FETCH and not pte & PTE_X:
        return None
    span = 1 << (PGSHIFT + 9 * level)
    base = pte2pa(pte)
    if base & (span - 1):
        return None  # misaligned superpage
    pa = base + (va & (span - 1) & ~0xFFF)
    if not ram.contains(pa, 1 << PGSHIFT):
        return None  # maps past the end of RAM: an access fault on real hardware
    new = pte | PTE_A
    if access == Access.WRITE:
        new |= PTE_D
    if new != pte:
        ram.words[i] = new
    prot = 0
    if pte & PTE_R:
        prot |= PROT_READ
    if pte & PTE_X:
        prot |= PROT_EXEC
    if pte & PTE_W and new & PTE_D:
        prot |= PROT_WRITE
    return pa, prot


def entries(ram: PhysMem, root: int) -> Iterator[tuple[int, int, int, int]]:
    """Every valid PTE of the tree under root, in preorder: (depth, index, va, pte), depth 0
    being the root page. Pointer PTEs are followed when they point into RAM and are not
    at the last level; whether they should exist at all is for the caller to judge."""

    def visit(table: int, depth: int, va_base: int) -> Iterator[tuple[int, int, int, int]]:
        words = ram.page_words(table)
        for i in range(512):
            pte = words[i]
            if not pte & PTE_V:
                continue
            va = va_base | (i << (PGSHIFT + 9 * (2 - depth)))
            yield depth, i, va, pte
            if not pte & (PTE_R | PTE_W | PTE_X) and depth < 2 and ram.contains(pte2pa(pte), 1 << PGSHIFT):
                yield from visit(pte2pa(pte), depth + 1, va)

    return visit(root, 0, 0)
