"""The Sv39 walker: PTE encoding, permissions, A/D bits, faults."""

from __future__ import annotations

import pytest

from pagelab.hw.mmu import PROT_EXEC, PROT_READ, PROT_WRITE, Access, walk
from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, pa2pte, pte2pa, px

BASE = 0x80000000


@pytest.fixture
def ram() -> PhysMem:
    return PhysMem(1 << 20)


def build(ram: PhysMem, va: int, pa: int, flags: int) -> int:
    """A three-level table at the start of RAM mapping va -> pa; returns the root."""
    root, mid, leaf = BASE, BASE + 0x1000, BASE + 0x2000
    ram.write64(root + 8 * px(2, va), pa2pte(mid) | PTE_V)
    ram.write64(mid + 8 * px(1, va), pa2pte(leaf) | PTE_V)
    ram.write64(leaf + 8 * px(0, va), pa2pte(pa) | flags)
    return root


def leaf_pte(ram: PhysMem, va: int) -> int:
    return ram.read64(BASE + 0x2000 + 8 * px(0, va))


def test_pte_encoding_round_trips() -> None:
    pa = 0x80123000
    assert pte2pa(pa2pte(pa) | PTE_V | PTE_R) == pa
    assert pa2pte(pa) & 0x3FF == 0


def test_translation_and_offset(ram: PhysMem) -> None:
    va, pa = 0x40_5000, BASE + 0x8000
    root = build(ram, va, pa, PTE_V | PTE_R | PTE_U)
    assert walk(ram, root, va + 0x123, Access.READ) == (pa, PROT_READ)


@pytest.mark.parametrize(
    ("flags", "access", "ok"),
    [
        (PTE_V | PTE_R | PTE_U, Access.READ, True),
        (PTE_V | PTE_R | PTE_U, Access.WRITE, False),
        (PTE_V | PTE_R | PTE_U, Access.FETCH, False),
        (PTE_V | PTE_R | PTE_X | PTE_U, Access.FETCH, True),
        (PTE_V | PTE_X | PTE_U, Access.READ, False),
        (PTE_V | PTE_R | PTE_W | PTE_U, Access.WRITE, True),
        (PTE_V | PTE_R | PTE_W, Access.READ, False),  # no U: the guard page
        (PTE_R | PTE_W | PTE_U, Access.READ, False),  # not valid
        (PTE_V | PTE_W | PTE_U, Access.WRITE, False),  # W without R is reserved
    ],
)
def test_permissions(ram: PhysMem, flags: int, access: Access, ok: bool) -> None:
    va = 0x1000
    root = build(ram, va, BASE + 0x8000, flags)
    assert (walk(ram, root, va, access) is not None) == ok


def test_access_sets_a_and_store_sets_d(ram: PhysMem) -> None:
    va = 0x7000
    root = build(ram, va, BASE + 0x8000, PTE_V | PTE_R | PTE_W | PTE_U)
    got = walk(ram, root, va, Access.READ)
    assert got is not None
    # A clean page is not given write permission, so the first store comes back here.
    assert got[1] == PROT_READ
    assert leaf_pte(ram, va) & PTE_A and not leaf_pte(ram, va) & PTE_D
    got = walk(ram, root, va, Access.WRITE)
    assert got is not None and got[1] == PROT_READ | PROT_WRITE
    assert leaf_pte(ram, va) & PTE_D
    # Once dirty, a read fill may grant write permission too.
    got = walk(ram, root, va, Access.READ)
    assert got is not None and got[1] & PROT_WRITE


def test_exec_permission_reported(ram: PhysMem) -> None:
    root = build(ram, 0, BASE + 0x8000, PTE_V | PTE_R | PTE_X | PTE_U)
    got = walk(ram, root, 0, Access.FETCH)
    assert got is not None and got[1] == PROT_READ | PROT_EXEC


def test_failed_walk_leaves_bits_alone(ram: PhysMem) -> None:
    va = 0x3000
    root = build(ram, va, BASE + 0x8000, PTE_V | PTE_R | PTE_U)
    assert walk(ram, root, va, Access.WRITE) is None
    assert not leaf_pte(ram, va) & (PTE_A | PTE_D)


def test_unmapped_and_noncanonical_addresses_fault(ram: PhysMem) -> None:
    root = build(ram, 0x1000, BASE + 0x8000, PTE_V | PTE_R | PTE_U)
    assert walk(ram, root, 0x2000, Access.READ) is None
    assert walk(ram, root, 1 << 38, Access.READ) is None
    assert walk(ram, root, 0xFFFF_FFFF_FFFF_F000, Access.READ) is None
    assert walk(ram, 0, 0x1000, Access.READ) is None


def test_leaf_outside_ram_faults(ram: PhysMem) -> None:
    root = build(ram, 0x1000, 0x1000_0000, PTE_V | PTE_R | PTE_U)
    assert walk(ram, root, 0x1000, Access.READ) is None


def test_pointer_pte_at_level_zero_faults(ram: PhysMem) -> None:
    root = build(ram, 0x1000, BASE + 0x8000, PTE_V)  # a "pointer" where a leaf must be
    assert walk(ram, root, 0x1000, Access.READ) is None
